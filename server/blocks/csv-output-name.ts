/**
 * Output file names for `save_csv`. The name comes from people (a workflow's params), and ends up
 * as a file on the server and a download name, so only a small, safe alphabet survives.
 */

const MAX_NAME = 100;
const EXTENSION = '.csv';

/**
 * Sanitises a requested output name: keeps `[A-Za-z0-9._-]` (runs of anything else become one
 * `_`), strips leading and trailing dots/underscores (no hidden files, no `..`), falls back to
 * `output`, caps the result at 100 characters and always ends it in `.csv`.
 *
 * @example sanitiseOutputName('My leads (final).CSV') // 'My_leads_final.csv'
 * @example sanitiseOutputName('../../etc/passwd')     // 'etc_passwd.csv'
 */
export function sanitiseOutputName(filename?: string | null): string {
	let base = (filename ?? '').trim();
	if (base.toLowerCase().endsWith(EXTENSION)) base = base.slice(0, -EXTENSION.length);
	base = base
		.replace(/[^A-Za-z0-9._-]+/g, '_')
		.replace(/^[._]+|[._]+$/g, '')
		.slice(0, MAX_NAME - EXTENSION.length)
		.replace(/[._]+$/, '');
	if (base === '') base = 'output';
	return base + EXTENSION;
}

/** `<jobId>-<sanitised name>`: one job's output never overwrites another's. */
export function outputFileName(jobId: string, filename?: string | null): string {
	const job = jobId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 64) || 'job';
	return `${job}-${sanitiseOutputName(filename)}`;
}
