/**
 * Keeps CPU-heavy row work from holding the event loop: blocks report the work they do (in the
 * same units as the expression budget, about one per character processed) and, at a row boundary,
 * `yieldIfDue()` gives the loop a turn (`setImmediate`) once a slice's worth has been done since the
 * last turn. HTTP requests, health probes and WebSocket frames are then answered between slices.
 *
 * The tally is one per process, not per block or per job: a batch goes through every block of a
 * pipeline in microtasks, which never let I/O in, so 99 filters each doing just under a slice would
 * otherwise add up to one long stall. Whoever crosses the line yields, and the tally starts again.
 * Counting work, not time, keeps runs reproducible: the same job yields at the same rows.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Row } from '../../src/lib/workflow/schema';

/** Work between two turns of the event loop: ~2–5 ms of string processing. */
export const WORK_PER_SLICE = 500_000;

let sinceLastTurn = 0;

/** Records `units` of work done on the event loop. */
export function spendWork(units: number): void {
	sinceLastTurn += units;
}

/** True when a slice's worth of work was done since the loop last had a turn (from here). */
export function turnIsDue(): boolean {
	return sinceLastTurn >= WORK_PER_SLICE;
}

/** Lets the event loop run (timers, I/O, other jobs) if a slice's worth of work was done. */
export async function yieldIfDue(): Promise<void> {
	if (sinceLastTurn < WORK_PER_SLICE) return;
	sinceLastTurn = 0;
	await nextTurn();
}

/** The work of handling a row's values once (serialising, writing): its characters, plus one a cell. */
export function rowWork(row: Row): number {
	let units = 0;
	for (const key in row) {
		const cell = row[key];
		units += typeof cell === 'string' ? cell.length + 1 : 1;
	}
	return units;
}

/**
 * Splits a batch into runs of rows of at most `maxWork` units each (a row larger than that is a run
 * of its own), so a writer can give the loop a turn between runs instead of after the whole batch.
 */
export function* rowsByWork(rows: Row[], maxWork = WORK_PER_SLICE): Generator<{ rows: Row[]; work: number }> {
	let start = 0;
	let work = 0;
	for (const [i, row] of rows.entries()) {
		const units = rowWork(row);
		if (i > start && work + units > maxWork) {
			yield { rows: rows.slice(start, i), work };
			start = i;
			work = 0;
		}
		work += units;
	}
	if (start < rows.length) yield { rows: start === 0 ? rows : rows.slice(start), work };
}

/** Work of compiling a filter expression: lexing and parsing cost ~25× a plain string scan. */
export function compileWork(text: string): number {
	return text.length * 25;
}
