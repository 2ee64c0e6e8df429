/**
 * One entry point for reading a `read_csv` source, whatever its format: a `.xlsx` path reads
 * through `xlsx-source.ts`, anything else as CSV through `csv-source.ts`. The block, the upload
 * route, the source route and the run check all read through here, so a file reads the same
 * everywhere, and each says what it found (`SourceDialect`: delimiter, encoding, sheet, renamed
 * header names) for the Read CSV card.
 */
import type { Row } from '../../src/lib/workflow/schema';
import type { CsvDelimiter, CsvEncoding, SourceDialect } from '../../src/lib/workflow/source-file';
import type { CsvDialect } from './csv-dialect';
import { countCsvRows, openCsv } from './csv-source';
import { countXlsxRows, isXlsxPath, openXlsx } from './xlsx-source';

/** How to read a source: `read_csv`'s params beyond the path (unset or `auto` = detected). */
export interface SourceReadOptions {
	delimiter?: CsvDelimiter | 'auto';
	encoding?: CsvEncoding | 'auto';
	sheet?: string;
	/** The file's format when its name does not say (an upload still under its temporary name). */
	format?: 'csv' | 'xlsx';
}

export interface OpenSourceOptions extends SourceReadOptions {
	signal?: AbortSignal;
	batchSize?: number;
	rowLimit?: number;
	onRowError?: (index: number, message: string) => void;
	label?: string;
}

export interface SourceTable {
	columns: string[];
	/** Batches of rows (never empty). Closing the iterator early closes the file. */
	batches: AsyncGenerator<Row[], void, undefined>;
	dialect: SourceDialect;
}

/** True when the options ask for anything other than detection (the stored upload description then does not apply). */
export function hasReadOverrides(options: SourceReadOptions): boolean {
	return (
		(options.delimiter !== undefined && options.delimiter !== 'auto') ||
		(options.encoding !== undefined && options.encoding !== 'auto') ||
		Boolean(options.sheet?.trim())
	);
}

/** Opens a source file (CSV or xlsx): resolves once the header is read. Throws a `FileError` for an unreadable file. */
export async function openSource(file: string, options: OpenSourceOptions = {}): Promise<SourceTable> {
	if (formatOf(file, options) === 'xlsx') {
		const source = await openXlsx(file, options);
		return {
			columns: source.columns,
			batches: source.batches,
			dialect: { format: 'xlsx', sheet: source.sheet, sheets: source.sheets, renamed_columns: source.renamed }
		};
	}
	const source = await openCsv(file, options);
	return { columns: source.columns, batches: source.batches, dialect: csvDialectOf(source.dialect, source.renamed) };
}

/** The wire description of how a CSV was read. */
export function csvDialectOf(dialect: CsvDialect, renamed: { from: string; to: string }[]): SourceDialect {
	const out: SourceDialect = {
		format: 'csv',
		delimiter: dialect.delimiter.delimiter,
		delimiter_detected: dialect.delimiter.detected,
		encoding: dialect.encoding.encoding,
		encoding_detected: dialect.encoding.detected,
		renamed_columns: renamed
	};
	if (dialect.encoding.note) out.encoding_note = dialect.encoding.note;
	return out;
}

export interface ReadSourceHeaderOptions extends SourceReadOptions {
	/** How many rows to return as a preview (default 10). */
	previewRows?: number;
	signal?: AbortSignal;
	label?: string;
}

/** A source's columns, first rows and dialect, and closes it: for previews and run checks. */
export async function readSourceHeader(
	file: string,
	options: ReadSourceHeaderOptions = {}
): Promise<{ columns: string[]; preview: Row[]; dialect: SourceDialect }> {
	const limit = options.previewRows ?? 10;
	const source = await openSource(file, { ...options, rowLimit: Math.max(1, limit), batchSize: 256 });
	const preview: Row[] = [];
	if (limit > 0) for await (const batch of source.batches) preview.push(...batch);
	else await source.batches.return();
	return { columns: source.columns, preview, dialect: source.dialect };
}

/** Counts a source's data rows in one streaming pass, by the same rules as `openSource`. */
export async function countSourceRows(
	file: string,
	options: SourceReadOptions & { signal?: AbortSignal; label?: string } = {}
): Promise<number> {
	return formatOf(file, options) === 'xlsx' ? countXlsxRows(file, options) : countCsvRows(file, options);
}

function formatOf(file: string, options: SourceReadOptions): 'csv' | 'xlsx' {
	return options.format ?? (isXlsxPath(file) ? 'xlsx' : 'csv');
}
