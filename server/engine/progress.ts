/**
 * Per-block progress: counters the block and the runner update as rows flow, turned into the
 * `BlockProgress` snapshots that events, the REST API and the UI show (rows/s, ETA, preview).
 */
import type { BlockType, Cell, Row } from '../../src/lib/workflow/schema';
import { BLOCKS } from '../../src/lib/workflow/blocks';
import { RowTimings } from './eta-model';
import type { BlockCounters, BlockProgress } from './types';

export const PREVIEW_ROWS = 20;
/**
 * Longest text a preview cell keeps (then `…`). Previews ride in every progress event, stored block
 * snapshot and live frame: 20 rows of 2 MB cells would make each of them 40 MB to serialise, for a
 * glance at the rows. The rows themselves are never clipped.
 */
export const PREVIEW_CELL_CHARS = 1_000;
/** Sliding window of the shown rows/s. */
const RATE_WINDOW_MS = 10_000;
/** Shortest span of answers the ETA's rate is measured over (s). */
const ETA_MIN_SPAN_S = 0.5;
/** An ETA is shown once this many rows are done, or `ETA_MIN_MS` have passed with some done. */
const ETA_MIN_ANSWERS = 20;
const ETA_MIN_MS = 5_000;
/**
 * The latency model is refitted once this long has passed, or sooner once the answers grew by
 * `MODEL_AFTER_GROWTH` since the last fit (early in a run each answer changes the fit the most:
 * an estimate from half the answers, counted down, ran a third short at 20%); in between its
 * estimate counts down.
 */
const MODEL_EVERY_MS = 1_000;
const MODEL_AFTER_GROWTH = 1.25;

export function createCounters(): BlockCounters {
	return {
		rowsIn: 0,
		rowsOut: 0,
		errors: 0,
		skipped: 0,
		calls: 0,
		requests: 0,
		answered: 0,
		inFlight: 0,
		cached: 0,
		costCents: 0,
		waiting: 0,
		total: null
	};
}

export class BlockTracker {
	readonly counters = createCounters();
	/** API blocks' row start and end times, from which the ETA is modelled (eta-model.ts). */
	readonly timings = new RowTimings();
	status: BlockProgress['status'] = 'pending';
	columns: string[] = [];
	readonly preview: Row[] = [];
	startedAt: number | null = null;
	finishedAt: number | null = null;
	/** (time, rowsIn) samples for a moving rows/s. */
	#samples: [number, number][] = [];
	#lastSignature = '';
	/** Rows/s the ETA is computed from (null: no rate seen yet), see `#rate`. */
	#etaRate: number | null = null;
	/** The first sample with a row done: the ETA's rate is not diluted by the wait for the first answer. */
	#firstDone: [number, number] | null = null;
	/** The last ETA shown, and when. */
	#lastEta: [number, number] | null = null;
	/** The latency model's last estimate (s), when it was made, and the rows answered then. */
	#lastModel: [number, number, number] | null = null;

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
		const signature = `${this.status}|${c.rowsIn}|${c.rowsOut}|${c.answered}|${c.inFlight}|${c.errors}|${c.calls}|${c.requests}|${c.cached}|${c.waiting}|${c.total}|${this.rateLimit()}`;
		if (signature === this.#lastSignature) return false;
		this.#lastSignature = signature;
		return true;
	}

	/**
	 * Rows this block has finished. An API block's rows enter at once and then wait for answers,
	 * which complete out of order: a row is done when its answer is back, not when the ordered
	 * output lets it leave. Elsewhere a row is done when it has entered.
	 */
	#done(): number {
		return BLOCKS[this.blockType].usesApi ? this.counters.answered : this.counters.rowsIn;
	}

	snapshot(now = Date.now()): BlockProgress {
		const c = this.counters;
		const done = this.#done();
		const rate = this.#rate(now, done);
		const remaining = c.total !== null ? Math.max(0, c.total - done) : null;
		const finished = this.finishedAt !== null;
		return {
			block_id: this.blockId,
			block_type: this.blockType,
			status: this.status,
			rows_in: c.rowsIn,
			rows_out: c.rowsOut,
			answered: done,
			in_flight: c.inFlight,
			errors: c.errors,
			skipped: c.skipped,
			calls: c.calls,
			requests: c.requests,
			cached: c.cached,
			cost_cents: Math.round(c.costCents * 100) / 100,
			waiting: c.waiting,
			total: c.total,
			rate_limit_per_min: this.rateLimit(),
			rows_per_s: Math.round(rate * 10) / 10,
			eta_s: finished ? 0 : this.#eta(now, done, remaining),
			duration_ms: this.startedAt === null ? 0 : (this.finishedAt ?? now) - this.startedAt,
			preview: this.preview,
			columns: this.columns
		};
	}

	/** Done rows/s: over the last `RATE_WINDOW_MS` while running, the whole run's average once finished. */
	#rate(now: number, done: number): number {
		if (this.finishedAt !== null && this.startedAt !== null) {
			const seconds = (this.finishedAt - this.startedAt) / 1000;
			return seconds > 0 ? done / seconds : 0;
		}
		const latest: [number, number] = [now, done];
		this.#samples.push(latest);
		// The list always holds `latest`, so `?? latest` never applies: it only tells the types.
		while (this.#samples.length > 2 && now - (this.#samples[0] ?? latest)[0] > RATE_WINDOW_MS) this.#samples.shift();
		const [t0, r0] = this.#samples[0] ?? latest;
		const seconds = (now - t0) / 1000;
		const windowRate = seconds > 0.2 ? (done - r0) / seconds : 0;
		// For the ETA: the same window, but starting no earlier than the first answer. With slow calls the
		// first answers come a whole latency after the start; counting that wait as "no progress" made
		// the rate half what it is and the ETA twice too long (issue 12: ETA at 20% within ±50%).
		if (this.#firstDone === null && done > 0) this.#firstDone = [now, done];
		const first = this.#firstDone;
		if (first !== null) {
			const [b0, d0] = t0 >= first[0] ? [t0, r0] : first;
			const span = (now - b0) / 1000;
			if (span >= ETA_MIN_SPAN_S && done > d0) this.#etaRate = (done - d0) / span;
		}
		return windowRate;
	}

	/**
	 * Seconds left, or null while unknown: until `ETA_MIN_ANSWERS` rows are done or `ETA_MIN_MS` have
	 * passed with some done, a rate says little. Then it changes at most ×2 per second from where the
	 * last estimate, counted down, would be — it never jumps by orders of magnitude.
	 */
	#eta(now: number, done: number, remaining: number | null): number | null {
		if (remaining === null || this.startedAt === null) return null;
		if (remaining === 0) return 0;
		const elapsed = now - this.startedAt;
		const meaningful = done >= ETA_MIN_ANSWERS || (done > 0 && elapsed >= ETA_MIN_MS);
		const rate = this.#etaRate;
		if (!meaningful || rate === null || rate <= 0) return this.#lastEta?.[1] ?? null;
		let eta = this.#modelled(now, remaining) ?? remaining / rate;
		if (this.#lastEta) {
			const [at, previous] = this.#lastEta;
			const dt = Math.max(0, now - at);
			const projected = Math.max(1, previous - dt / 1000);
			const factor = 2 ** (dt / 1000);
			eta = Math.min(projected * factor, Math.max(projected / factor, eta));
		}
		const rounded = Math.ceil(eta);
		this.#lastEta = [now, rounded];
		return rounded;
	}

	/**
	 * An API block's time left from its rows' latencies (see eta-model.ts), never less than the
	 * key's rate limit allows for the requests still to make; null when too few rows were timed.
	 */
	#modelled(now: number, remaining: number): number | null {
		if (!BLOCKS[this.blockType].usesApi) return null;
		const last = this.#lastModel;
		const answered = this.counters.answered;
		if (last && now - last[1] < MODEL_EVERY_MS && answered < last[2] * MODEL_AFTER_GROWTH) {
			return Math.max(0, last[0] - (now - last[1]) / 1000);
		}
		const queued = Math.max(0, remaining - this.counters.inFlight);
		const modelled = this.timings.estimateRemaining(queued, now);
		if (modelled === null) return null;
		const c = this.counters;
		const limit = this.rateLimit();
		// Requests per row so far, over every row that has started (each spent its submit at least),
		// for the rows not started yet; the rows in flight are in the simulation.
		const started = c.answered + c.inFlight;
		const requestsPerRow = started > 0 ? Math.max(1, c.requests / started) : 1;
		const atLimit = limit !== null && limit > 0 ? (queued * requestsPerRow * 60) / limit : 0;
		const eta = Math.max(modelled, atLimit);
		this.#lastModel = [eta, now, answered];
		return eta;
	}
}

/** A copy of a row for a preview, every text cut to `PREVIEW_CELL_CHARS` (the row is not changed). */
export function clipPreviewRow(row: Row): Row {
	// fromEntries defines own keys (a `__proto__` column stays a column) and leaves out the engine's symbol tags.
	return Object.fromEntries(Object.entries(row).map(([column, cell]) => [column, clipCell(cell)]));
}

function clipCell(cell: Cell): Cell {
	return typeof cell === 'string' && cell.length > PREVIEW_CELL_CHARS ? `${cell.slice(0, PREVIEW_CELL_CHARS)}…` : cell;
}
