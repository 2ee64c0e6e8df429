/**
 * A CSV file's dialect — its text encoding and field delimiter — decided from its first bytes only
 * (the first chunk the reader gets, at most 64 KiB of it), so a 50 MB file is never read twice to
 * find out how to read it, and a pipe works too.
 *
 * Encoding, in order: a byte order mark (UTF-8, UTF-16 LE/BE: what Excel's "Unicode text" writes);
 * UTF-16 without a BOM when every other byte of ASCII text is 0; UTF-8 when the first bytes are
 * valid UTF-8 (pure ASCII included); otherwise Windows-1252, the superset of Latin-1 that Excel
 * writes in Western locales (every byte decodes, so reading never fails on it).
 *
 * Delimiter: each of `,` `;` tab `|` splits the first rows (quotes respected); the one that gives
 * the header at least two fields and the most rows with the header's field count wins, then the
 * most fields, then the order above. A file where none splits the header is one column (`,`).
 */
import type { CsvDelimiter, CsvEncoding } from '../../src/lib/workflow/source-file';

/** Bytes read to decide; also an upper bound on what detection costs for any file. */
export const SNIFF_BYTES = 64 * 1024;
/** Rows looked at for the delimiter. */
const SNIFF_ROWS = 50;
const DELIMITER_ORDER: readonly CsvDelimiter[] = [',', ';', '\t', '|'];

export interface DetectedEncoding {
	encoding: CsvEncoding;
	/** Bytes of the byte order mark at the start of the file (0 when none). */
	bomBytes: number;
	/** True when the file's bytes decided it (false when the caller named the encoding). */
	detected: boolean;
	/** Something a person should know (decoded as Windows-1252 because the file is not UTF-8). */
	note?: string;
}

/**
 * Decides the encoding from the file's first bytes. `requested` other than `auto` is used as is
 * (only a matching BOM is skipped).
 *
 * @example detectEncoding(Buffer.from([0xff, 0xfe, 0x61, 0])) // { encoding: 'utf-16le', bomBytes: 2, detected: true }
 */
export function detectEncoding(head: Uint8Array, requested: CsvEncoding | 'auto' = 'auto'): DetectedEncoding {
	const bom = bomOf(head);
	if (requested !== 'auto') {
		return { encoding: requested, bomBytes: bom?.encoding === requested ? bom.bytes : 0, detected: false };
	}
	if (bom) return { encoding: bom.encoding, bomBytes: bom.bytes, detected: true };
	const utf16 = bomlessUtf16(head);
	if (utf16) return { encoding: utf16, bomBytes: 0, detected: true };
	if (isUtf8Prefix(head)) return { encoding: 'utf-8', bomBytes: 0, detected: true };
	return {
		encoding: 'windows-1252',
		bomBytes: 0,
		detected: true,
		note: 'This file is not UTF-8: it was read as Windows-1252 (Western European). If accents look wrong, choose its encoding.'
	};
}

function bomOf(head: Uint8Array): { encoding: CsvEncoding; bytes: number } | null {
	if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bytes: 3 };
	if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bytes: 2 };
	if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bytes: 2 };
	return null;
}

/** ASCII text in UTF-16 has a 0 in every other byte; a binary file has zeros everywhere. */
function bomlessUtf16(head: Uint8Array): CsvEncoding | null {
	const n = Math.min(head.length, 4096) & ~1;
	if (n < 8) return null;
	let evenZeros = 0;
	let oddZeros = 0;
	for (let i = 0; i < n; i += 2) {
		if (head[i] === 0) evenZeros++;
		if (head[i + 1] === 0) oddZeros++;
	}
	const pairs = n / 2;
	if (oddZeros > pairs * 0.9 && evenZeros === 0) return 'utf-16le';
	if (evenZeros > pairs * 0.9 && oddZeros === 0) return 'utf-16be';
	return null;
}

/** Valid UTF-8 up to the end of `head` (a character cut by the end of the sample is fine). */
function isUtf8Prefix(head: Uint8Array): boolean {
	try {
		new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
		return true;
	} catch {
		return false;
	}
}

export interface DetectedDelimiter {
	delimiter: CsvDelimiter;
	detected: boolean;
}

/**
 * Picks the delimiter of a CSV from its first rows (decoded text, possibly cut mid-row: the last,
 * unfinished row is ignored unless it is the only one).
 *
 * @example detectDelimiter('name;company\nAda;Engines\n') // { delimiter: ';', detected: true }
 */
export function detectDelimiter(text: string): DetectedDelimiter {
	let best: { delimiter: CsvDelimiter; consistent: number; width: number } | null = null;
	for (const delimiter of DELIMITER_ORDER) {
		const counts = fieldCounts(text, delimiter);
		const width = counts[0] ?? 0;
		if (width < 2) continue;
		const consistent = counts.filter((c) => c === width).length / counts.length;
		if (!best || consistent > best.consistent || (consistent === best.consistent && width > best.width)) {
			best = { delimiter, consistent, width };
		}
	}
	return { delimiter: best?.delimiter ?? ',', detected: true };
}

/** Fields per row of the first rows, quotes respected, blank lines skipped (as the reader does). */
function fieldCounts(text: string, delimiter: string): number[] {
	const counts: number[] = [];
	let fields = 1;
	let inQuotes = false;
	let atFieldStart = true;
	let rowHasText = false;
	for (let i = 0; i < text.length && counts.length < SNIFF_ROWS; i++) {
		const ch = text[i];
		if (inQuotes) {
			if (ch === '"') {
				if (text[i + 1] === '"') i++;
				else inQuotes = false;
			}
			continue;
		}
		if (ch === '"' && atFieldStart) {
			inQuotes = true;
			rowHasText = true;
			atFieldStart = false;
		} else if (ch === delimiter) {
			fields++;
			rowHasText = true;
			atFieldStart = true;
		} else if (ch === '\n' || ch === '\r') {
			if (ch === '\r' && text[i + 1] === '\n') i++;
			if (rowHasText) counts.push(fields);
			fields = 1;
			rowHasText = false;
			atFieldStart = true;
		} else {
			rowHasText = true;
			atFieldStart = false;
		}
	}
	// The unfinished last row counts only when it is all there is (a one-line file, no newline).
	if (rowHasText && counts.length === 0) counts.push(fields);
	return counts;
}

export interface CsvDialect {
	encoding: DetectedEncoding;
	delimiter: DetectedDelimiter;
}

export interface SniffCsvOptions {
	delimiter?: CsvDelimiter | 'auto';
	encoding?: CsvEncoding | 'auto';
}

/**
 * The dialect of a CSV file from its first bytes (only the first `SNIFF_BYTES` are looked at):
 * what was asked for, the rest detected.
 */
export function detectDialect(first: Uint8Array, options: SniffCsvOptions = {}): CsvDialect {
	const head = first.subarray(0, SNIFF_BYTES);
	const encoding = detectEncoding(head, options.encoding ?? 'auto');
	const requested = options.delimiter ?? 'auto';
	if (requested !== 'auto') return { encoding, delimiter: { delimiter: requested, detected: false } };
	const text = new TextDecoder(encoding.encoding).decode(head.subarray(encoding.bomBytes), { stream: true });
	return { encoding, delimiter: detectDelimiter(text) };
}
