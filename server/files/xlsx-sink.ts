/**
 * An `.xlsx` output written row by row through exceljs's streaming `WorkbookWriter` (rows are
 * committed to the zip as they come: a million-row output never sits in memory), into a temporary
 * file renamed once complete, like the CSV sink.
 *
 * Cells keep their type: text stays text (so `00123` and `=1+1` are shown as typed, never run as
 * a formula: no neutralising needed), numbers and booleans become Excel numbers and booleans.
 * What a workbook cannot hold: more than 1,048,576 rows (the job fails saying so, before Excel
 * would cut the file) and control characters other than tab and line breaks (dropped by exceljs:
 * XML 1.0 forbids them).
 */
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import type { Cell } from '../../src/lib/workflow/schema';
import { FileError } from './file-error';
import type { CsvSink, CsvSinkOptions } from './csv-sink';

/** Excel's row limit, the header included. */
export const XLSX_MAX_ROWS = 1_048_576;

/** Opens an xlsx sink with one sheet, `Results`; the header row is written at once. */
export async function createXlsxSink(options: Omit<CsvSinkOptions, 'neutraliseFormulas' | 'bom'>): Promise<CsvSink> {
	const { path, columns, signal } = options;
	// Loaded on first use: CSV-only runs never pay for exceljs (zip, XML) at start or in memory.
	const { default: ExcelJS } = await import('exceljs');
	const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`);
	const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: temp, useSharedStrings: false, useStyles: false });
	const file = (workbook as unknown as { stream: WriteStream }).stream;
	let broken: unknown = null;
	file.on('error', (err) => (broken ??= err));
	const sheet = workbook.addWorksheet('Results');
	const width = columns.length;
	let rowsWritten = 0;
	let state: 'open' | 'committed' | 'discarded' = 'open';

	const toValue = (value: Cell | undefined): string | number | boolean | null => {
		if (value === null || value === undefined) return null;
		if (typeof value === 'number') return Number.isFinite(value) ? value : null;
		return value;
	};

	sheet.addRow(columns).commit();
	rowsWritten++;

	const sink: CsvSink = {
		async write(rows) {
			if (state !== 'open') throw new Error('The xlsx output is already closed');
			if (broken) throw broken;
			if (rowsWritten + rows.length > XLSX_MAX_ROWS) {
				throw new FileError(
					`An Excel sheet holds at most ${XLSX_MAX_ROWS.toLocaleString('en-US')} rows (header included): save this output as CSV`,
					'too_many_rows'
				);
			}
			for (const row of rows) {
				const values = new Array<string | number | boolean | null>(width);
				for (let i = 0; i < width; i++) values[i] = toValue(row[columns[i]]);
				sheet.addRow(values).commit();
			}
			rowsWritten += rows.length;
			// Let the zip compress what was committed; wait for the disk when it falls behind.
			if (file.writableNeedDrain) await once(file, 'drain', { signal });
			else await new Promise((resolve) => setImmediate(resolve));
		},
		async commit() {
			if (state !== 'open') throw new Error('The xlsx output is already closed');
			try {
				sheet.commit();
				await workbook.commit();
				if (broken) throw broken;
				await rename(temp, path);
				state = 'committed';
			} catch (err) {
				await sink.discard();
				throw err;
			}
		},
		async discard() {
			if (state !== 'open') return;
			state = 'discarded';
			(workbook as unknown as { zip?: { abort?: () => void } }).zip?.abort?.();
			file.destroy();
			await rm(temp, { force: true });
		}
	};
	return sink;
}
