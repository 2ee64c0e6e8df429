/**
 * `save_csv`: writes the rows that reach it to `<outputDir>/<jobId>-<name>.csv` (or `.xlsx` with
 * `format: 'xlsx'`; by default in `<dataDir>/outputs`) and passes them on unchanged, so it may sit
 * anywhere in a workflow (save an intermediate result, then keep enriching). The file appears
 * under its final name only when every row is written.
 *
 * CSV output is UTF-8 (with a BOM when `bom` is set, for Excel), LF between rows, quotes only where
 * needed; every cell's text is written byte for byte, except formula neutralising
 * (server/files/csv-formula.ts). A `FileError` from the writers fails the job as a `JobFailure`.
 */
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { Row } from '../../src/lib/workflow/schema';
import type { BlockRunner, RowStream } from '../engine/types';
import { rowsByWork, spendWork, yieldIfDue } from '../engine/work-slices';
import { outputFileName } from '../files/csv-output-name';
import { createCsvSink } from '../files/csv-sink';
import { createXlsxSink } from '../files/xlsx-sink';
import { rowsFailingAsJob } from './file-failure';

/**
 * Streams rows through csv-stringify (back-pressure honoured, formula-looking cells neutralised)
 * into a temporary file, renames it when the input ends, then reports the file through
 * `ctx.setOutputPath`: relative to the data directory (`outputs/<file>.csv`) when it lies inside
 * it, so a stored job survives the data directory moving; absolute otherwise (CLI `--out`).
 * Columns are the incoming columns, in order. A cancelled or failed run leaves no file behind.
 */
export const runSaveCsv: BlockRunner<'save_csv'> = async ({ params, columns, rows, ctx }) => {
	const format = params.format ?? 'csv';
	const file = join(ctx.outputDir, outputFileName(ctx.jobId, params.filename, format));

	async function* passThrough(): RowStream {
		await mkdir(ctx.outputDir, { recursive: true });
		const sink =
			format === 'xlsx'
				? await createXlsxSink({ path: file, columns, signal: ctx.signal })
				: createCsvSink({ path: file, columns, signal: ctx.signal, bom: params.bom === true });
		try {
			for await (const batch of rows) {
				ctx.signal.throwIfAborted();
				// Quoting and formula checks read every character: a batch of 2 MB cells is written a
				// slice at a time, with a turn of the event loop in between.
				for (const run of rowsByWork(batch)) {
					await sink.write(run.rows);
					spendWork(run.work);
					await yieldIfDue();
				}
				yield batch satisfies Row[];
			}
			ctx.signal.throwIfAborted();
			await sink.commit();
			ctx.setOutputPath(reportedPath(ctx.dataDir, file));
		} finally {
			await sink.discard();
		}
	}

	return { columns, rows: rowsFailingAsJob(passThrough()) };
};

function reportedPath(dataDir: string, file: string): string {
	const rel = relative(dataDir, file);
	if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return file;
	return rel.split(sep).join('/');
}
