/**
 * Output file names for `save_csv`. The name comes from people (a workflow's params), and ends up
 * as a file on the server and a download name, so only a small, safe alphabet survives.
 */
import type { OutputFormat } from '../../src/lib/workflow/source-file';

const MAX_NAME = 100;

/**
 * Sanitises a requested output name: keeps `[A-Za-z0-9._-]` (runs of anything else become one
 * `_`), strips leading and trailing dots/underscores (no hidden files, no `..`), falls back to
 * `output`, caps the result at 100 characters and always ends it in the format's extension
 * (`.csv`, or `.xlsx`; a `.csv` asked for an xlsx output is replaced).
 *
 * @example sanitiseOutputName('My leads (final).CSV') // 'My_leads_final.csv'
 * @example sanitiseOutputName('../../etc/passwd')     // 'etc_passwd.csv'
 * @example sanitiseOutputName('leads.csv', 'xlsx')     // 'leads.xlsx'
 */
export function sanitiseOutputName(filename?: string | null, format: OutputFormat = 'csv'): string {
	const EXTENSION = `.${format}`;
	let base = (filename ?? '').trim();
	const known = /\.(csv|xlsx)$/i.exec(base);
	if (known && (known[1].toLowerCase() === format || format === 'xlsx')) base = base.slice(0, -known[0].length);
	base = base
		.replace(/[^A-Za-z0-9._-]+/g, '_')
		.replace(/^[._]+|[._]+$/g, '')
		.slice(0, MAX_NAME - EXTENSION.length)
		.replace(/[._]+$/, '');
	if (base === '') base = 'output';
	return base + EXTENSION;
}

/** `<jobId>-<sanitised name>`: one job's output never overwrites another's. */
export function outputFileName(jobId: string, filename?: string | null, format: OutputFormat = 'csv'): string {
	const job = jobId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 64) || 'job';
	return `${job}-${sanitiseOutputName(filename, format)}`;
}
