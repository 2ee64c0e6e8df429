/**
 * Row events (issue 12): which input row each block is working on, answered or failed, with the
 * cells it wrote — what the live grid fills in as answers arrive.
 *
 * A row is known by its index in the input file. The source block tags every row it reads with
 * that index under a symbol key (`ROW_INDEX`): object spread copies symbol keys, JSON and
 * `Object.keys` ignore them, so the tag rides through every block (`{ ...row, email }`) without
 * reaching a CSV, the store or the wire. A row expanded into several (Find people) keeps its
 * company's index on each.
 *
 * `RowCellBuffer` collects the changes and hands them out as one `row_cells` event per tick; a
 * row whose call starts and ends within a tick sends only its answer (the latest state wins).
 */
import { ERROR_COLUMN, type Cell, type Row } from '../../src/lib/workflow/schema';
import type { CellState, RowCell } from '../../src/lib/workflow/protocol';
import type { CallMeter } from '../enrichment/types';

/** The input-file index of a row (see the file comment). */
export const ROW_INDEX: unique symbol = Symbol('leadflow.row');

type Tagged = Row & { [ROW_INDEX]?: number };

/** The row's input index, or null for a row no source tagged (tests building rows by hand). */
export function rowIndexOf(row: Row): number | null {
	const index = (row as Tagged)[ROW_INDEX];
	return typeof index === 'number' ? index : null;
}

/** Tags `row` with its input index (once: a tag already set is kept). */
export function tagRow(row: Row, index: number): void {
	const tagged = row as Tagged;
	if (tagged[ROW_INDEX] === undefined) tagged[ROW_INDEX] = index;
}

/** Removes the tag (final rows leave the engine as plain rows). */
export function untagRow(row: Row): void {
	const tagged = row as Tagged;
	if (tagged[ROW_INDEX] !== undefined) delete tagged[ROW_INDEX];
}

/** What a block reports per row (through `BlockRunContext.cells`). */
export interface RowCellSink {
	/** The row's call started. */
	started(input: Row): void;
	/** The row settled: `outputs` are the rows it became; `meter` the row's own accounting (cached when no call was paid). */
	settled(input: Row, outputs: Row[], meter?: RowMeter): void;
	/** A filter left the row out. */
	dropped(input: Row): void;
}

/**
 * A per-row view of a block's meter: every change goes to the block's counters as before, and the
 * row keeps its own calls and cache hits, so its cell can say "from the cache".
 */
export class RowMeter implements CallMeter {
	ownCalls = 0;
	ownCached = 0;
	#runningAt: number | undefined;
	/** `onRunning`: hears each time the row's async task is seen running (the ETA's latency model). */
	constructor(
		readonly base: CallMeter,
		readonly onRunning?: (at: number | undefined) => void
	) {}
	/** The row's own, not the block's: when its task was last seen running (see CallMeter). */
	get runningAt(): number | undefined {
		return this.#runningAt;
	}
	set runningAt(value: number | undefined) {
		this.#runningAt = value;
		this.onRunning?.(value);
	}
	get calls() {
		return this.base.calls;
	}
	set calls(value: number) {
		this.ownCalls += value - this.base.calls;
		this.base.calls = value;
	}
	get cached() {
		return this.base.cached;
	}
	set cached(value: number) {
		this.ownCached += value - this.base.cached;
		this.base.cached = value;
	}
	get requests() {
		return this.base.requests;
	}
	set requests(value: number) {
		this.base.requests = value;
	}
	get costCents() {
		return this.base.costCents;
	}
	set costCents(value: number) {
		this.base.costCents = value;
	}
	get waiting() {
		return this.base.waiting;
	}
	set waiting(value: number) {
		this.base.waiting = value;
	}
	/** Answered without a paid call: every lookup the row needed came from the cache. */
	get fromCache(): boolean {
		return this.ownCached > 0 && this.ownCalls === 0;
	}
}

/** Most cells one `row_cells` event carries; more wait for the next tick (memory stays bounded by the rows in flight). */
export const MAX_CELLS_PER_EVENT = 5_000;

/** The cell a block's answer makes: its new values, or the reason it failed. */
export function settledCell(blockId: string, row: number, input: Row, outputs: Row[], meter?: RowMeter): RowCell {
	const first = outputs[0];
	const cell: RowCell = { row, block_id: blockId, state: 'done' };
	if (outputs.length !== 1) cell.rows = outputs.length;
	if (first === undefined) return cell;
	const before = input[ERROR_COLUMN];
	const after = first[ERROR_COLUMN];
	if (after && after !== before) {
		cell.state = 'error';
		const reason = String(after);
		cell.error = before && reason.startsWith(`${before} | `) ? reason.slice(String(before).length + 3) : reason;
		return cell;
	}
	const values: Record<string, Cell> = {};
	for (const [key, value] of Object.entries(first)) {
		if (key === ERROR_COLUMN) continue;
		if (!(key in input) || input[key] !== value) values[key] = value;
	}
	cell.values = values;
	if (meter?.fromCache) cell.cached = true;
	return cell;
}

/** Collects cell changes of a run; `take()` hands them out, latest state per (row, block). */
export class RowCellBuffer {
	#pending = new Map<string, RowCell>();

	get size(): number {
		return this.#pending.size;
	}

	sinkFor(blockId: string): RowCellSink {
		/**
		 * Rows whose cell in this block failed. After Enrich Company's Find people, one input row is
		 * several people, all under the row's number: a later person's success must not hide an
		 * earlier one's error from "only errors" and "retry failed rows". Only failed rows are kept.
		 */
		const failed = new Set<number>();
		const put = (input: Row, make: (row: number) => RowCell) => {
			const row = rowIndexOf(input);
			if (row === null || failed.has(row)) return;
			const cell = make(row);
			if (cell.state === 'error') failed.add(row);
			const key = `${row}:${blockId}`;
			// Re-inserted so a settled cell goes out after a still-pending start of the same row.
			this.#pending.delete(key);
			this.#pending.set(key, cell);
		};
		return {
			started: (input) => put(input, (row) => ({ row, block_id: blockId, state: 'running' satisfies CellState })),
			settled: (input, outputs, meter) => put(input, (row) => settledCell(blockId, row, input, outputs, meter)),
			dropped: (input) => put(input, (row) => ({ row, block_id: blockId, state: 'dropped' }))
		};
	}

	/** Up to `MAX_CELLS_PER_EVENT` pending cells, oldest first (removed from the buffer). */
	take(): RowCell[] {
		const out: RowCell[] = [];
		for (const [key, cell] of this.#pending) {
			if (out.length >= MAX_CELLS_PER_EVENT) break;
			out.push(cell);
			this.#pending.delete(key);
		}
		return out;
	}
}
