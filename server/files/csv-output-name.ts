/**
 * Output file names for `save_csv` on disk: `<jobId>-<final name>`, the final name being the one
 * the card shows and the download carries (src/lib/workflow/output-name.ts).
 */
import { finalOutputName } from '../../src/lib/workflow/output-name';
import type { OutputFormat } from '../../src/lib/workflow/source-file';

/** The job id as it prefixes a file name. */
function jobPrefix(jobId: string): string {
	return `${jobId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 64) || 'job'}-`;
}

/** `<jobId>-<final name>`: one job's output never overwrites another's. */
export function outputFileName(jobId: string, filename?: string | null, format: OutputFormat = 'csv'): string {
	return jobPrefix(jobId) + finalOutputName({ filename, format });
}

/** The final name inside a file name `outputFileName` made for this job; null when it is not one. */
export function finalNameOf(jobId: string, fileName: string): string | null {
	const prefix = jobPrefix(jobId);
	return fileName.startsWith(prefix) && fileName.length > prefix.length ? fileName.slice(prefix.length) : null;
}
