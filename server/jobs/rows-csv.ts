/**
 * A job's final rows as a CSV stream, read from the store a page at a time: the download of a job
 * without a save_csv block (or whose output file is gone) never loads every row at once. Cells are
 * written exactly as save_csv writes them (booleans as true/false, formulas neutralised).
 */
import { stringify } from 'csv-stringify/sync';
import type { Cell, Row } from '../../src/lib/workflow/schema';
import { neutraliseFormula } from '../files/csv-formula';
import type { JobStore } from '../store/job-store';

const PAGE = 1_000;

function toText(value: Cell | undefined): string {
	if (value === null || value === undefined) return '';
	if (typeof value === 'string') return neutraliseFormula(value) as string;
	if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
	if (typeof value === 'boolean') return value ? 'true' : 'false';
	return JSON.stringify(value);
}

/** Columns of stored rows when the job did not record them (it never finished): first row's keys. */
export async function columnsOf(store: JobStore, jobId: string, known: string[] | null): Promise<string[]> {
	if (known && known.length > 0) return known;
	const [first] = await store.readRows(jobId, 0, 1);
	return first ? Object.keys(first) : [];
}

/**
 * Streams rows `0…rowCount` of a job as CSV text (header first).
 * @example new Response(rowsCsvStream(store, job.id, columns, job.rowCount))
 */
export function rowsCsvStream(store: JobStore, jobId: string, columns: string[], rowCount: number): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	let offset = 0;
	let headerSent = false;
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			if (!headerSent) {
				headerSent = true;
				controller.enqueue(encoder.encode(stringify([columns.map((c) => toText(c))])));
				if (rowCount === 0) controller.close();
				return;
			}
			const rows: Row[] = await store.readRows(jobId, offset, Math.min(PAGE, rowCount - offset));
			offset += rows.length;
			if (rows.length > 0) {
				controller.enqueue(encoder.encode(stringify(rows.map((row) => columns.map((c) => toText(row[c]))))));
			}
			if (rows.length === 0 || offset >= rowCount) controller.close();
		}
	});
}
