/**
 * Streaming `.xlsx` reading for `read_csv`, through exceljs's `WorkbookReader` (a zip + SAX reader:
 * rows come out one by one, so a 50 MB workbook never sits in memory; a sheet stored before the
 * workbook's shared strings is spilled to a temporary file by exceljs, not to memory).
 *
 * The same rules as a CSV (`csv-source.ts`): the first non-blank row is the header (names made
 * unique and reported), blank rows are skipped, short rows padded, extra non-empty cells give the
 * row an `_error`. Cells become the text Excel shows: numbers as written (`42`, `0.5`), dates as
 * ISO `2024-05-01` (with `T13:30:00` when they have a time), booleans `TRUE`/`FALSE`, formulas
 * their last computed result, rich text and hyperlinks their text, errors their code (`#N/A`).
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { ERROR_COLUMN, type Row } from '../../src/lib/workflow/schema';
import { DEFAULT_BATCH_SIZE } from '../engine/types';
import { FileError } from './file-error';
import { renamedColumns, uniqueColumnNames } from './csv-source';

export interface OpenXlsxOptions {
	/** Sheet to read, by name; unset = the first visible sheet. */
	sheet?: string;
	signal?: AbortSignal;
	batchSize?: number;
	rowLimit?: number;
	onRowError?: (index: number, message: string) => void;
	label?: string;
}

export interface XlsxSource {
	columns: string[];
	batches: AsyncGenerator<Row[], void, undefined>;
	renamed: { from: string; to: string }[];
	/** The sheet read, and every sheet of the workbook in order. */
	sheet: string;
	sheets: string[];
}

/** True for a path that names an Excel workbook (decided by name: a pipe cannot be peeked twice). */
export function isXlsxPath(path: string): boolean {
	return /\.xlsx$/i.test(path);
}

interface SheetInfo {
	name: string;
	state?: string;
}

/**
 * Opens a workbook: resolves once the chosen sheet's header row is read. Throws a `FileError`
 * for a file that is not a workbook, a missing sheet, or a sheet with no rows.
 */
export async function openXlsx(file: string, options: OpenXlsxOptions = {}): Promise<XlsxSource> {
	const { signal, onRowError } = options;
	const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
	const rowLimit = options.rowLimit ?? Infinity;
	const label = options.label ?? basename(file);
	signal?.throwIfAborted();

	// Loaded on first use: CSV-only runs never pay for exceljs (zip, XML) at start or in memory.
	const { default: ExcelJS } = await import('exceljs');
	const input = createReadStream(file);
	const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
		worksheets: 'emit',
		sharedStrings: 'cache',
		// Styles say which numbers are dates; hyperlinks only matter for their text (kept anyway).
		styles: 'cache',
		hyperlinks: 'ignore',
		entries: 'ignore'
	});
	let sheets: string[] = [];
	let chosen: string | null = null;

	// exceljs pipes the file into its unzipper without passing on a read error (a missing file, a
	// folder, a disk error): it would surface as an unhandled 'error' event, or never. Every wait
	// on the reader also listens for it — with a listener removed once the wait ends, not a
	// `Promise.race` against one long-lived promise, which would keep every row ever read alive.
	let readError: Error | null = null;
	input.on('error', (err) => (readError ??= err));
	const next = <T>(it: AsyncIterator<T>) =>
		new Promise<IteratorResult<T>>((resolve, reject) => {
			if (readError) return reject(readError);
			const onError = (err: Error) => reject(err);
			input.once('error', onError);
			it.next().then(
				(result) => {
					input.off('error', onError);
					resolve(result);
				},
				(err: unknown) => {
					input.off('error', onError);
					reject(err);
				}
			);
		});

	/** The chosen sheet's non-blank rows, as arrays of cell text (0-based). */
	async function* sheetRows(): AsyncGenerator<string[], void, undefined> {
		const worksheets = reader[Symbol.asyncIterator]();
		try {
			for (let w = await next(worksheets); !w.done; w = await next(worksheets)) {
				const worksheet = w.value;
				const model = (reader as unknown as { model?: { sheets?: SheetInfo[] } }).model;
				const all = model?.sheets ?? [];
				sheets = all.map((s) => s.name);
				chosen ??=
					options.sheet?.trim() || (all.find((s) => s.state !== 'hidden' && s.state !== 'veryHidden') ?? all[0])?.name || null;
				if ((worksheet as unknown as { name?: string }).name !== chosen) {
					// Read through, not skipped: a sheet exceljs spilled to a temporary file is deleted as
					// soon as we move on, while the read stream it opened for it may still be opening —
					// an unhandled ENOENT that would end the process. Reading it first closes that race.
					const skipped = worksheet[Symbol.asyncIterator]();
					for (let r = await next(skipped); !r.done; r = await next(skipped)) signal?.throwIfAborted();
					continue;
				}
				const rows = worksheet[Symbol.asyncIterator]();
				try {
					for (let r = await next(rows); !r.done; r = await next(rows)) {
						signal?.throwIfAborted();
						const values = r.value.values as unknown[];
						const cells: string[] = [];
						let any = false;
						for (let i = 1; i < values.length; i++) {
							const text = cellText(values[i]);
							cells.push(text);
							if (text !== '') any = true;
						}
						if (any) yield cells;
					}
				} finally {
					await rows.return?.(undefined).catch(() => {});
				}
				return;
			}
			if (chosen !== null && options.sheet?.trim()) {
				throw new FileError(
					`The workbook ${label} has no sheet named ${JSON.stringify(chosen)} (its sheets: ${sheets.join(', ') || 'none'})`,
					'invalid_file'
				);
			}
			throw new FileError(`The workbook ${label} is empty`, 'empty_file');
		} catch (err) {
			throw describeXlsxFailure(err, label, signal);
		} finally {
			input.destroy();
			void worksheets.return?.(undefined).catch(() => {});
		}
	}

	const rows = sheetRows();
	const first = await rows.next();
	if (first.done) {
		throw new FileError(`The sheet ${JSON.stringify(chosen ?? '')} of ${label} is empty`, 'empty_file');
	}
	const header = first.value;
	const columns = uniqueColumnNames(header);
	const width = columns.length;

	function toRow(cells: string[], index: number): Row {
		const row: Row = {};
		const n = cells.length;
		for (let i = 0; i < width; i++) row[columns[i]] = i < n ? cells[i] : '';
		let extra = 0;
		for (let i = width; i < n; i++) if (cells[i] !== '') extra++;
		if (extra > 0) {
			const message = `Row ${index + 2} has ${n} cells but the header has ${width}: the extra cells were dropped`;
			row[ERROR_COLUMN] = message;
			onRowError?.(index, message);
		}
		return row;
	}

	async function* batches(): AsyncGenerator<Row[], void, undefined> {
		let emitted = 0;
		try {
			let batch: Row[] = [];
			while (emitted < rowLimit) {
				const next = await rows.next();
				if (next.done) break;
				batch.push(toRow(next.value, emitted++));
				if (batch.length === batchSize) {
					yield batch;
					batch = [];
				}
			}
			if (batch.length > 0) yield batch;
		} finally {
			await rows.return();
		}
	}

	return { columns, batches: batches(), renamed: renamedColumns(header, columns), sheet: chosen ?? '', sheets };
}

/** Counts the data rows of the chosen sheet (the header and blank rows excluded), streaming. */
export async function countXlsxRows(file: string, options: Pick<OpenXlsxOptions, 'sheet' | 'signal' | 'label'> = {}): Promise<number> {
	const source = await openXlsx(file, { ...options, batchSize: 4096 });
	let count = 0;
	for await (const batch of source.batches) count += batch.length;
	return count;
}

/** The text Excel shows for a cell value as exceljs gives it. */
function cellText(value: unknown): string {
	if (value === null || value === undefined) return '';
	if (typeof value === 'string') return value;
	if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
	if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
	if (value instanceof Date) return isoDate(value);
	if (typeof value === 'object') {
		const v = value as { richText?: { text?: string }[]; text?: unknown; result?: unknown; error?: unknown };
		if (Array.isArray(v.richText)) return v.richText.map((r) => r.text ?? '').join('');
		if ('result' in v) return cellText(v.result);
		if ('text' in v) return cellText(v.text);
		if (typeof v.error === 'string') return v.error;
	}
	return '';
}

/** Excel dates carry no zone: exceljs gives them as UTC. `2024-05-01`, or `2024-05-01T13:30:00`. */
function isoDate(date: Date): string {
	if (Number.isNaN(date.getTime())) return '';
	const iso = date.toISOString();
	return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 19);
}

function describeXlsxFailure(err: unknown, label: string, signal?: AbortSignal): unknown {
	if (signal?.aborted && err === signal.reason) return err;
	if (err instanceof FileError) return err;
	const code = (err as { code?: unknown } | null)?.code;
	if (code === 'ENOENT') return new FileError(`File not found: ${label}`, 'file_not_found');
	if (code === 'EISDIR') return new FileError(`${label} is a folder, not a file`, 'invalid_path');
	if (code === 'EACCES') return new FileError(`${label} cannot be read (permission denied)`, 'file_unreadable');
	const why = err instanceof Error ? err.message : String(err);
	if (/signature|zip|end of central directory/i.test(why)) {
		return new FileError(`${label} is not an Excel workbook (.xlsx): save it again from Excel, or as CSV UTF-8`, 'invalid_file');
	}
	return new FileError(`The Excel file ${label} could not be read (${why}): save it again from Excel, or as CSV UTF-8`, 'invalid_file');
}
