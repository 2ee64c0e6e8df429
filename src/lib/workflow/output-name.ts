/**
 * The name of Save CSV's file: the one the card shows, the one the server writes (after the job id)
 * and the one the download is given. One function computes it, so the three always agree.
 */
import type { OutputFormat } from './source-file';

/**
 * The longest `filename` accepted, in characters and in UTF-8 bytes: with the job id before it and
 * the extension after, the file on the server stays under the usual 255-byte limit.
 */
export const MAX_OUTPUT_NAME = 200;
/** The name used when none is given. */
export const DEFAULT_OUTPUT_NAME = 'results';

// Characters no file name may hold on the systems people download to (Windows is the strictest).
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[/\\?*:|"<>\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_ALL = /[/\\?*:|"<>\u0000-\u001f\u007f]+/g;

/**
 * Why `filename` cannot be a file name, with the rule, or null when it can (blank = the default).
 * @example outputNameProblem('basic leads/out?') // 'A file name cannot contain / … (found "/")'
 */
export function outputNameProblem(filename: string): string | null {
	const name = filename.trim();
	if (utf8Length(name) > MAX_OUTPUT_NAME) {
		return `A file name has at most ${MAX_OUTPUT_NAME} characters, fewer with accented or other non-ASCII letters (this one has ${[...name].length})`;
	}
	const bad = FORBIDDEN.exec(name);
	if (bad) {
		const shown = bad[0] < ' ' || bad[0] === '\u007f' ? 'a control character' : `"${bad[0]}"`;
		return `A file name cannot contain / \\ ? * : | " < > or control characters (found ${shown})`;
	}
	if (name.startsWith('.')) return 'A file name cannot start with a dot (it would be a hidden file)';
	return null;
}

/**
 * The final name of the file, extension included: the name as given (trimmed; `results` when
 * blank), a `.csv`/`.xlsx` it ends in replaced by the format's own, trailing dots dropped. A name
 * that breaks the rules (refused by the checks, so only reachable without them) is made safe:
 * forbidden characters become `_`, leading dots go, and it is cut to fit.
 * @example finalOutputName({ filename: 'basic-enriched' }) // 'basic-enriched.csv'
 * @example finalOutputName({ filename: 'leads.csv', format: 'xlsx' }) // 'leads.xlsx'
 */
export function finalOutputName(options: { filename?: unknown; format?: OutputFormat | unknown }): string {
	const format: OutputFormat = options.format === 'xlsx' ? 'xlsx' : 'csv';
	const extension = `.${format}`;
	let base = typeof options.filename === 'string' ? options.filename.trim() : '';
	const known = /\.(csv|xlsx)$/i.exec(base);
	const ext = known?.[1]?.toLowerCase();
	if (known && ext && (ext === format || format === 'xlsx')) base = base.slice(0, -known[0].length);
	base = base.replace(FORBIDDEN_ALL, '_').replace(/^[.\s]+/, '');
	base = fitBytes(base, MAX_OUTPUT_NAME).replace(/[.\s]+$/, '');
	return (base || DEFAULT_OUTPUT_NAME) + extension;
}

const encoder = new TextEncoder();
function utf8Length(text: string): number {
	return encoder.encode(text).length;
}

/** `text` cut (between characters) to at most `max` UTF-8 bytes. */
function fitBytes(text: string, max: number): string {
	if (utf8Length(text) <= max) return text;
	let out = '';
	let bytes = 0;
	for (const char of text) {
		bytes += utf8Length(char);
		if (bytes > max) break;
		out += char;
	}
	return out;
}
