/**
 * Synthetic lead CSVs for the load suites: leads `first … first + count − 1` of
 * `tests/helpers/leads-csv.ts` (every lead distinct, so the cache never merges two suites' rows and
 * a row's name tells which lead — and so which job and which offset — it is).
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { LEAD_COLUMNS, leadRow } from '../helpers/leads-csv';

const quote = (cell: string) => (/[",\n\r]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);

/** The CSV text (header included) of `count` leads from `first`. */
export function leadsCsv(count: number, first = 0): string {
	const lines = [LEAD_COLUMNS.join(',')];
	for (let i = first; i < first + count; i++) lines.push(leadRow(i).map(quote).join(','));
	return `${lines.join('\n')}\n`;
}

/** Writes the same CSV to `path`, streamed. */
export async function writeLeadsFile(path: string, count: number, first = 0): Promise<void> {
	await mkdir(dirname(path), { recursive: true });
	const out = createWriteStream(path);
	out.write(`${LEAD_COLUMNS.join(',')}\n`);
	for (let i = first; i < first + count; i++) {
		if (!out.write(`${leadRow(i).map(quote).join(',')}\n`)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
}

/** The name of lead `i` (its `name` column). */
export const leadName = (i: number): string => leadRow(i)[0];
