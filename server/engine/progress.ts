/**
 * Per-block progress: counters the block and the runner update as rows flow, turned into the
 * `BlockProgress` snapshots that events, the REST API and the UI show (rows/s, ETA, preview).
 */
import type { BlockType, Cell, Row } from '../../src/lib/workflow/schema';
import { BLOCKS } from '../../src/lib/workflow/blocks';
import type { BlockCounters, BlockProgress } from './types';

export const PREVIEW_ROWS = 20;
/**
 * Longest text a preview cell keeps (then `…`). Previews ride in every progress event, stored block
 * snapshot and live frame: 20 rows of 2 MB cells would make each of them 40 MB to serialise, for a
 * glance at the rows. The rows themselves are never clipped.
 */
export const PREVIEW_CELL_CHARS = 1_000;
const RATE_WINDOW_MS = 5_000;

export function createCounters(): BlockCounters {
	return { rowsIn: 0, rowsOut: 0, errors: 0, skipped: 0, calls: 0, cached: 0, costCents: 0, waiting: 0, total: null };
}

export class BlockTracker {
	readonly counters = createCounters();
	status: BlockProgress['status'] = 'pending';
	columns: string[] = [];
	readonly preview: Row[] = [];
	startedAt: number | null = null;
	finishedAt: number | null = null;
	/** (time, rowsIn) samples for a moving rows/s. */
	#samples: [number, number][] = [];
	#lastSignature = '';

	constructor(
		readonly blockId: string,
		readonly blockType: BlockType,
		/** The key's rate limit in force now, for API blocks (it changes as the API's headers are read). */
		readonly rateLimit: () => number | null = () => null
	) {}

	start(now = Date.now()): void {
		if (this.startedAt !== null) return;
		this.startedAt = now;
		this.status = 'running';
	}

	finish(status: BlockProgress['status'], now = Date.now()): void {
		this.status = status;
		this.finishedAt = now;
	}

	addPreview(rows: Row[]): void {
		for (const row of rows) {
			if (this.preview.length >= PREVIEW_ROWS) return;
			this.preview.push(clipPreviewRow(row));
		}
	}

	/** True when something a watcher would see changed since the last call. */
	changed(): boolean {
		const c = this.counters;
		const signature = `${this.status}|${c.rowsIn}|${c.rowsOut}|${c.errors}|${c.calls}|${c.cached}|${c.waiting}|${c.total}|${this.rateLimit()}`;
		if (signature === this.#lastSignature) return false;
		this.#lastSignature = signature;
		return true;
	}

	/**
	 * Rows this block has finished. Rows enter an API block at once and then wait for answers, so
	 * there a row is done when it leaves (both are 1:1); elsewhere, when it has entered.
	 */
	#done(): number {
		const definition = BLOCKS[this.blockType];
		const oneToOneApi = definition.usesApi && definition.rowCount === 'same';
		return oneToOneApi ? this.counters.rowsOut : this.counters.rowsIn;
	}

	snapshot(now = Date.now()): BlockProgress {
		const c = this.counters;
		const rate = this.#rate(now);
		const remaining = c.total !== null ? Math.max(0, c.total - this.#done()) : null;
		const finished = this.finishedAt !== null;
		return {
			block_id: this.blockId,
			block_type: this.blockType,
			status: this.status,
			rows_in: c.rowsIn,
			rows_out: c.rowsOut,
			errors: c.errors,
			skipped: c.skipped,
			calls: c.calls,
			cached: c.cached,
			cost_cents: Math.round(c.costCents * 100) / 100,
			waiting: c.waiting,
			total: c.total,
			rate_limit_per_min: this.rateLimit(),
			rows_per_s: Math.round(rate * 10) / 10,
			eta_s: finished ? 0 : remaining !== null && rate > 0 ? Math.ceil(remaining / rate) : null,
			duration_ms: this.startedAt === null ? 0 : (this.finishedAt ?? now) - this.startedAt,
			preview: this.preview,
			columns: this.columns
		};
	}

	#rate(now: number): number {
		const rowsIn = this.#done();
		const latest: [number, number] = [now, rowsIn];
		this.#samples.push(latest);
		// The list always holds `latest`, so `?? latest` never applies: it only tells the types.
		while (this.#samples.length > 2 && now - (this.#samples[0] ?? latest)[0] > RATE_WINDOW_MS) this.#samples.shift();
		if (this.finishedAt !== null && this.startedAt !== null) {
			const seconds = (this.finishedAt - this.startedAt) / 1000;
			return seconds > 0 ? rowsIn / seconds : 0;
		}
		const [t0, r0] = this.#samples[0] ?? latest;
		const seconds = (now - t0) / 1000;
		return seconds > 0.2 ? (rowsIn - r0) / seconds : 0;
	}
}

/** A copy of a row for a preview, every text cut to `PREVIEW_CELL_CHARS` (the row is not changed). */
export function clipPreviewRow(row: Row): Row {
	// Spread, then overwrite own keys: assigning onto `{}` would turn a `__proto__` key into a prototype.
	const copy: Row = { ...row };
	for (const [column, cell] of Object.entries(copy)) copy[column] = clipCell(cell);
	return copy;
}

function clipCell(cell: Cell): Cell {
	return typeof cell === 'string' && cell.length > PREVIEW_CELL_CHARS ? `${cell.slice(0, PREVIEW_CELL_CHARS)}…` : cell;
}
