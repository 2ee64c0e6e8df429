/**
 * Streaming CSV reading: the header first, then rows in batches, never the whole file in memory.
 * `read_csv` and the upload route share it, so a file reads the same everywhere.
 *
 * How odd files read (decided once, here):
 * - the delimiter (`,` `;` tab `|`) and the encoding (UTF-8 with or without BOM, UTF-16 LE/BE,
 *   Windows-1252) are detected from the first 64 KiB unless the caller names them (`csv-dialect.ts`);
 * - a BOM is dropped; CRLF, LF, CR (even mixed in one file) and quoted fields holding delimiters,
 *   quotes and newlines work; a cell's text is kept byte for byte (CR LF inside quotes, leading and
 *   trailing spaces, any length), so read → save_csv gives the same cells back;
 * - invalid UTF-8 bytes past the first 64 KiB become U+FFFD (the replacement character) instead of
 *   failing the file: one stray Latin-1 byte should not cost a 100,000-row run;
 * - blank lines are skipped; a stray quote inside an unquoted field is kept as a character;
 * - ragged rows: a short row is padded with empty cells, and trailing empty cells beyond the
 *   header are dropped (spreadsheets export those). A row with extra *non-empty* cells keeps its
 *   first cells, gets `_error` naming it, and is reported through `onRowError`: the file still
 *   runs, and the person sees exactly which rows to look at. Rows are numbered as a spreadsheet
 *   shows them (the header is row 1; a quoted multi-line field stays one row; blank lines are
 *   skipped and not counted) — csv-parse only gives exact line numbers at a per-row cost;
 * - header names are trimmed and made unique: a blank name (or `__proto__`) becomes
 *   `column_<n>`, a repeated one `name_2`, `name_3`…; the renames are reported (`renamed`);
 * - an empty file (nothing but a BOM, blank lines or nothing at all) is a `FileError`; a file
 *   with only a header has its columns and zero rows;
 * - an unclosed quote at the end of the file is a `FileError` naming the line.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { parse, type CsvError, type Options, type Parser } from 'csv-parse';
import { ERROR_COLUMN, type Row } from '../../src/lib/workflow/schema';
import type { CsvDelimiter, CsvEncoding } from '../../src/lib/workflow/source-file';
import { DEFAULT_BATCH_SIZE } from '../engine/types';
import { FileError } from './file-error';
import { detectDialect, type CsvDialect } from './csv-dialect';

/** How to read a file: each unset or `auto` is detected from its first bytes. */
export interface CsvDialectOptions {
	delimiter?: CsvDelimiter | 'auto';
	encoding?: CsvEncoding | 'auto';
}

export interface OpenCsvOptions extends CsvDialectOptions {
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
	/** The encoding and delimiter the file was read with (detected or as asked). */
	dialect: CsvDialect;
	/** Header names changed to make them usable (blank, repeated, `__proto__`). */
	renamed: { from: string; to: string }[];
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
 * The file's bytes as UTF-8 for csv-parse, and a parser for its dialect. The dialect is decided
 * from the first chunk read (a regular file gives 256 KiB at once; a pipe what it has), and that
 * chunk then goes on to the parser: the file is read once. UTF-8 files go to the parser untouched
 * (the hot path: no extra copy); other encodings pass a streaming decoder first.
 */
async function openParser(
	file: string,
	options: CsvDialectOptions,
	signal?: AbortSignal
): Promise<{ parser: Parser; dialect: CsvDialect; destroy: () => void }> {
	const raw = createReadStream(file, { highWaterMark: READ_CHUNK });
	const onAbort = () => raw.destroy();
	signal?.addEventListener('abort', onAbort, { once: true });
	let first: Buffer | null;
	try {
		first = await firstChunk(raw);
	} catch (err) {
		raw.destroy();
		throw err;
	} finally {
		signal?.removeEventListener('abort', onAbort);
	}
	if (signal?.aborted) {
		raw.destroy();
		signal.throwIfAborted();
	}
	const dialect = detectDialect(first ?? Buffer.alloc(0), options);
	// No `on_record` hook: csv-parse builds a fresh info object for every record it calls it with,
	// which cost ~15% of a large read. Records come out as arrays and become rows below.
	const parser: Parser = parse({
		...PARSE_RULES,
		record_delimiter: [...PARSE_RULES.record_delimiter],
		delimiter: dialect.delimiter.delimiter
	});
	const { encoding, bomBytes } = dialect.encoding;
	const input: Readable = encoding === 'utf-8' ? raw : raw.pipe(decodeToUtf8(encoding));
	if (input !== raw) raw.on('error', (err: Error) => input.destroy(err));
	input.on('error', (err: Error) => parser.destroy(err));
	if (first) {
		if (input === raw) parser.write(first);
		else (input as Transform).write(first.subarray(bomBytes));
	}
	input.pipe(parser);
	const destroy = () => {
		input.unpipe(parser);
		raw.destroy();
		input.destroy();
		parser.destroy();
	};
	return { parser, dialect, destroy };
}

/** The first chunk of a stream (null when it ends, or is destroyed, before giving one). */
function firstChunk(stream: Readable): Promise<Buffer | null> {
	return new Promise((resolve, reject) => {
		const settle = (fn: () => void) => {
			stream.off('readable', onReadable).off('end', onEnd).off('close', onEnd).off('error', onError);
			fn();
		};
		const onReadable = () => {
			const chunk = stream.read() as Buffer | null;
			if (chunk !== null) settle(() => resolve(chunk));
		};
		const onEnd = () => settle(() => resolve(null));
		const onError = (err: Error) => settle(() => reject(err));
		stream.on('readable', onReadable).on('end', onEnd).on('close', onEnd).on('error', onError);
	});
}

/** A transform from `encoding` to UTF-8 bytes; bytes that cannot be decoded become U+FFFD. */
function decodeToUtf8(encoding: CsvEncoding): Transform {
	const decoder = new TextDecoder(encoding, { fatal: false });
	return new Transform({
		transform(chunk: Buffer, _enc, done) {
			done(null, Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8'));
		},
		flush(done) {
			done(null, Buffer.from(decoder.decode(), 'utf8'));
		}
	});
}

/**
 * Opens a CSV file: resolves once the header is read, with its columns, the dialect it was read
 * with and a generator of row batches. Throws a `FileError` for an empty or unreadable file.
 */
export async function openCsv(file: string, options: OpenCsvOptions = {}): Promise<CsvSource> {
	const { signal, onRowError } = options;
	const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
	const rowLimit = options.rowLimit ?? Infinity;
	const label = options.label ?? basename(file);
	signal?.throwIfAborted();
	const { parser, dialect, destroy } = await openParser(file, options, signal).catch((err: unknown) => {
		throw describeFailure(err, label);
	});

	let columns: string[] = [];
	let renamed: CsvSource['renamed'];
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
		destroy();
		wakeUp();
	};
	signal?.addEventListener('abort', onAbort, { once: true });
	const waitForData = () => new Promise<void>((resolve) => (wake = resolve));
	let closed = false;
	const close = () => {
		if (closed) return;
		closed = true;
		signal?.removeEventListener('abort', onAbort);
		destroy();
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
			renamed = renamedColumns(header, columns);
			width = columns.length;
			break;
		}
		if (ended) {
			close();
			throw new FileError(`The CSV file ${label} is empty`, 'empty_file');
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

	return { columns, batches: batches(), dialect, renamed };
}

/** The header names `uniqueColumnNames` changed beyond trimming, in order. */
export function renamedColumns(header: string[], columns: string[]): { from: string; to: string }[] {
	const renamed: { from: string; to: string }[] = [];
	for (let i = 0; i < columns.length; i++) {
		if (header[i].trim() !== columns[i]) renamed.push({ from: header[i], to: columns[i] });
	}
	return renamed;
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

export interface ReadCsvHeaderOptions extends CsvDialectOptions {
	/** How many rows to return as a preview (default 10). */
	previewRows?: number;
	signal?: AbortSignal;
}

/**
 * Reads a CSV file's columns and its first rows, and closes it: for the upload route's preview.
 * Throws a `FileError` for an empty file.
 */
export async function readCsvHeader(
	file: string,
	options: ReadCsvHeaderOptions = {}
): Promise<{ columns: string[]; preview: Row[]; dialect: CsvDialect; renamed: CsvSource['renamed'] }> {
	const limit = options.previewRows ?? 10;
	const source = await openCsv(file, {
		signal: options.signal,
		rowLimit: Math.max(1, limit),
		batchSize: 256,
		delimiter: options.delimiter,
		encoding: options.encoding
	});
	const preview: Row[] = [];
	if (limit > 0) for await (const batch of source.batches) preview.push(...batch);
	else await source.batches.return();
	return { columns: source.columns, preview, dialect: source.dialect, renamed: source.renamed };
}

/**
 * Counts a CSV file's data rows (the header excluded) in one streaming pass, by the same rules as
 * `openCsv` (blank lines skipped, quoted newlines inside one row). Throws a `FileError` for an
 * empty file.
 */
export async function countCsvRows(
	file: string,
	options: CsvDialectOptions & { signal?: AbortSignal; label?: string } = {}
): Promise<number> {
	const { signal } = options;
	signal?.throwIfAborted();
	const label = options.label ?? basename(file);
	const { parser, destroy } = await openParser(file, options, signal).catch((err: unknown) => {
		throw describeFailure(err, label);
	});
	try {
		await new Promise<void>((resolve, reject) => {
			const onAbort = () => reject(signal!.reason);
			signal?.addEventListener('abort', onAbort, { once: true });
			parser.on('error', reject);
			parser.on('end', () => {
				signal?.removeEventListener('abort', onAbort);
				resolve();
			});
			parser.resume();
		});
	} catch (err) {
		throw describeFailure(err, label);
	} finally {
		destroy();
	}
	const records = parser.info.records;
	if (records === 0) throw new FileError(`The CSV file ${label} is empty`, 'empty_file');
	return records - 1;
}

/** Turns a parse or file error into a message a person can act on; an abort stays an abort. */
function describeFailure(err: unknown, label: string): unknown {
	if (err instanceof FileError) return err;
	const code = (err as { code?: unknown } | null)?.code;
	if (typeof code === 'string' && code.startsWith('CSV_')) {
		return new FileError(`The CSV file ${label} could not be read: ${(err as CsvError).message}`, 'invalid_csv');
	}
	if (code === 'ENOENT') return new FileError(`File not found: ${label}`, 'file_not_found');
	if (code === 'EISDIR') return new FileError(`${label} is a folder, not a CSV file`, 'invalid_path');
	if (code === 'EACCES') return new FileError(`${label} cannot be read (permission denied)`, 'file_unreadable');
	return err;
}
