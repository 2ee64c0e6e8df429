/**
 * Streaming CSV reading: the header first, then rows in batches, never the whole file in memory.
 * `read_csv` and the upload route share it, so a file reads the same everywhere.
 *
 * How odd files read (decided once, here):
 * - a UTF-8 BOM is dropped; CRLF, LF, CR (even mixed in one file) and quoted fields holding commas, quotes and newlines work;
 * - invalid UTF-8 bytes become U+FFFD (the replacement character) instead of failing the file:
 *   one stray Latin-1 byte should not cost a 100,000-row run;
 * - blank lines are skipped; a stray quote inside an unquoted field is kept as a character;
 * - ragged rows: a short row is padded with empty cells, and trailing empty cells beyond the
 *   header are dropped (spreadsheets export those). A row with extra *non-empty* cells keeps its
 *   first cells, gets `_error` naming it, and is reported through `onRowError`: the file still
 *   runs, and the person sees exactly which rows to look at. Rows are numbered as a spreadsheet
 *   shows them (the header is row 1; a quoted multi-line field stays one row; blank lines are
 *   skipped and not counted) — csv-parse only gives exact line numbers at a per-row cost;
 * - header names are trimmed and made unique: a blank name (or `__proto__`) becomes
 *   `column_<n>`, a repeated one `name_2`, `name_3`…;
 * - an empty file (nothing but a BOM, blank lines or nothing at all) is a `JobFailure`; a file
 *   with only a header has its columns and zero rows;
 * - an unclosed quote at the end of the file is a `JobFailure` naming the line.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { parse, type CsvError, type Options, type Parser } from 'csv-parse';
import { ERROR_COLUMN, type Row } from '../../src/lib/workflow/schema';
import { DEFAULT_BATCH_SIZE, JobFailure } from '../engine/types';

export interface OpenCsvOptions {
	signal?: AbortSignal;
	/** Largest batch yielded (default 256). */
	batchSize?: number;
	/** Stop after this many rows, and stop reading the file. */
	rowLimit?: number;
	/** Called for a row with more non-empty cells than the header (`index` counts data rows from 0). */
	onRowError?: (index: number, message: string) => void;
	/** How messages name the file (default: its base name). */
	label?: string;
}

export interface CsvSource {
	columns: string[];
	/** Batches of rows (never empty). Closing the iterator early closes the file. */
	batches: AsyncGenerator<Row[], void, undefined>;
}

const READ_CHUNK = 256 * 1024;

/** The reading rules in the header comment, as csv-parse options (any mix of CRLF, LF, CR). */
const PARSE_RULES = {
	bom: true,
	relax_column_count: true,
	relax_quotes: true,
	skip_empty_lines: true,
	record_delimiter: ['\r\n', '\n', '\r']
} as const satisfies Options;

/**
 * Opens a CSV file: resolves once the header is read, with its columns and a generator of row
 * batches. Throws a `JobFailure` for an empty or unreadable file.
 */
export async function openCsv(file: string, options: OpenCsvOptions = {}): Promise<CsvSource> {
	const { signal, onRowError } = options;
	const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
	const rowLimit = options.rowLimit ?? Infinity;
	const label = options.label ?? basename(file);
	signal?.throwIfAborted();

	// No `on_record` hook: csv-parse builds a fresh info object for every record it calls it with,
	// which cost ~15% of a large read. Records come out as arrays and become rows below.
	const parser: Parser = parse({ ...PARSE_RULES, record_delimiter: [...PARSE_RULES.record_delimiter] });
	const input = createReadStream(file, { highWaterMark: READ_CHUNK });
	input.on('error', (err) => parser.destroy(err));
	input.pipe(parser);

	let columns: string[] = [];
	let width = 0;
	function toRow(record: string[], index: number): Row {
		const row: Row = {};
		const n = record.length;
		for (let i = 0; i < width; i++) row[columns[i]] = i < n ? record[i] : '';
		if (n > width) {
			let extra = 0;
			for (let i = width; i < n; i++) if (record[i] !== '') extra++;
			if (extra > 0) {
				const message = `Row ${index + 2} has ${n} fields but the header has ${width}: the extra fields were dropped`;
				row[ERROR_COLUMN] = message;
				onRowError?.(index, message);
			}
		}
		return row;
	}

	let failure: unknown = null;
	let ended = false;
	let wake: (() => void) | null = null;
	const wakeUp = () => {
		const w = wake;
		wake = null;
		w?.();
	};
	parser.on('readable', wakeUp);
	parser.on('end', () => {
		ended = true;
		wakeUp();
	});
	parser.on('error', (err) => {
		failure ??= err;
		wakeUp();
	});
	const onAbort = () => {
		failure ??= signal!.reason;
		input.destroy();
		wakeUp();
	};
	signal?.addEventListener('abort', onAbort, { once: true });
	const waitForData = () => new Promise<void>((resolve) => (wake = resolve));
	let closed = false;
	const close = () => {
		if (closed) return;
		closed = true;
		signal?.removeEventListener('abort', onAbort);
		input.unpipe(parser);
		input.destroy();
		parser.destroy();
	};
	const fail = (): never => {
		close();
		throw describeFailure(failure, label);
	};

	// The header: the first record.
	for (;;) {
		if (failure) fail();
		const header = parser.read() as string[] | null;
		if (header !== null) {
			columns = uniqueColumnNames(header);
			width = columns.length;
			break;
		}
		if (ended) {
			close();
			throw new JobFailure(`The CSV file ${label} is empty`, 'empty_file');
		}
		await waitForData();
	}

	async function* batches(): AsyncGenerator<Row[], void, undefined> {
		let emitted = 0;
		try {
			let batch: Row[] = [];
			for (;;) {
				if (failure) fail();
				let record: string[] | null = null;
				while (batch.length < batchSize && emitted < rowLimit && (record = parser.read() as string[] | null) !== null) {
					batch.push(toRow(record, emitted++));
				}
				const finished = emitted >= rowLimit || (ended && record === null);
				if (batch.length === batchSize || (finished && batch.length > 0)) {
					const out = batch;
					batch = [];
					yield out;
					if (!finished) continue;
				}
				if (finished) return;
				await waitForData();
			}
		} finally {
			close();
		}
	}

	return { columns, batches: batches() };
}

/**
 * Makes header names usable as column keys: trimmed, blank → `column_<position>`, repeats →
 * `name_2`, `name_3`… (skipping names the header already uses). `__proto__` is renamed like a
 * blank name: as a key of a plain object it would set the prototype instead of holding a value.
 */
export function uniqueColumnNames(header: string[]): string[] {
	const names = header.map((h, i) => {
		const name = h.trim();
		return name === '' || name === '__proto__' ? `column_${i + 1}` : name;
	});
	const reserved = new Set(names);
	const seen = new Set<string>();
	return names.map((name) => {
		if (!seen.has(name)) {
			seen.add(name);
			return name;
		}
		let n = 2;
		while (reserved.has(`${name}_${n}`)) n++;
		const unique = `${name}_${n}`;
		reserved.add(unique);
		seen.add(unique);
		return unique;
	});
}

export interface ReadCsvHeaderOptions {
	/** How many rows to return as a preview (default 10). */
	previewRows?: number;
	signal?: AbortSignal;
}

/**
 * Reads a CSV file's columns and its first rows, and closes it: for the upload route's preview.
 * Throws a `JobFailure` for an empty file.
 */
export async function readCsvHeader(
	file: string,
	options: ReadCsvHeaderOptions = {}
): Promise<{ columns: string[]; preview: Row[] }> {
	const limit = options.previewRows ?? 10;
	const source = await openCsv(file, { signal: options.signal, rowLimit: Math.max(1, limit), batchSize: 256 });
	const preview: Row[] = [];
	if (limit > 0) for await (const batch of source.batches) preview.push(...batch);
	else await source.batches.return();
	return { columns: source.columns, preview };
}

/**
 * Counts a CSV file's data rows (the header excluded) in one streaming pass, by the same rules as
 * `openCsv` (blank lines skipped, quoted newlines inside one row). Throws a `JobFailure` for an
 * empty file.
 */
export async function countCsvRows(
	file: string,
	options: { signal?: AbortSignal; label?: string } = {}
): Promise<number> {
	const { signal } = options;
	signal?.throwIfAborted();
	const parser = parse({ ...PARSE_RULES, record_delimiter: [...PARSE_RULES.record_delimiter] });
	const input = createReadStream(file, { highWaterMark: READ_CHUNK });
	const label = options.label ?? basename(file);
	try {
		await new Promise<void>((resolve, reject) => {
			const onAbort = () => reject(signal!.reason);
			signal?.addEventListener('abort', onAbort, { once: true });
			input.on('error', reject);
			parser.on('error', reject);
			parser.on('end', () => {
				signal?.removeEventListener('abort', onAbort);
				resolve();
			});
			input.pipe(parser).resume();
		});
	} catch (err) {
		throw describeFailure(err, label);
	} finally {
		input.destroy();
		parser.destroy();
	}
	const records = parser.info.records;
	if (records === 0) throw new JobFailure(`The CSV file ${label} is empty`, 'empty_file');
	return records - 1;
}

/** Turns a parse or file error into a message a person can act on; an abort stays an abort. */
function describeFailure(err: unknown, label: string): unknown {
	if (err instanceof JobFailure) return err;
	const code = (err as { code?: unknown } | null)?.code;
	if (typeof code === 'string' && code.startsWith('CSV_')) {
		return new JobFailure(`The CSV file ${label} could not be read: ${(err as CsvError).message}`, 'invalid_csv');
	}
	if (code === 'ENOENT') return new JobFailure(`File not found: ${label}`, 'file_not_found');
	if (code === 'EISDIR') return new JobFailure(`${label} is a folder, not a CSV file`, 'invalid_path');
	if (code === 'EACCES') return new JobFailure(`${label} cannot be read (permission denied)`, 'file_unreadable');
	return err;
}
