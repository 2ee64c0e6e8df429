/**
 * Whole-job figures for the progress panel, from the per-block progress the live feed carries:
 * totals of calls, cache hits, cost and errors, how far along the job is, and its bottleneck's
 * speed and ETA (blocks stream, so several run at once: the slowest decides).
 */
import type { LiveBlockProgress } from '$lib/workflow/protocol';
import { BLOCKS, rowsAnswered, rowsDone } from '$lib/workflow/blocks';

export interface JobTotals {
	calls: number;
	cached: number;
	costCents: number;
	errors: number;
	/** Requests held back by the rate limiter right now. */
	waiting: number;
	/** 0–100, or null when nothing can be said yet. */
	percent: number | null;
	/** Rows per second of the slowest running block (0 when none runs). */
	rowsPerSecond: number;
	/** Seconds until the slowest running block is done (null when unknown). */
	etaSeconds: number | null;
	/** Rows out of the last block (the job's output so far). */
	rowsOut: number;
	/**
	 * API requests (submits, polls, bulk requests) per row the API blocks have finished — the
	 * figure of merit under a per-key limit; null before any row is done.
	 */
	requestsPerRow: number | null;
	/** Requests/min the API key allows, as learnt from the API's headers (null: not known). */
	rateLimitPerMin: number | null;
}

/**
 * Fills in the totals the engine cannot know yet: once a block has finished, the next block will
 * get exactly its output rows (blocks stream in order). Read CSV reports its own total.
 */
export function withKnownTotals(blocks: readonly LiveBlockProgress[]): LiveBlockProgress[] {
	let upstream: number | null = null;
	return blocks.map((b) => {
		const filled = b.total === null && upstream !== null ? { ...b, total: upstream } : b;
		upstream = b.status === 'completed' ? b.rows_out : null;
		return filled;
	});
}

export { rowsDone };

/** Share of a block's work done (0–1), null when its total is unknown. */
export function blockFraction(b: LiveBlockProgress): number | null {
	if (b.status === 'completed') return 1;
	if (b.status === 'pending') return 0;
	if (b.total === null || b.total <= 0) return b.total === 0 ? 1 : null;
	return Math.max(0, Math.min(1, rowsDone(b) / b.total));
}

/**
 * Rows finished per second since the block started. Rows *entering* an API block arrive at once
 * and wait for answers, so speed and ETA are measured on rows done, not rows in.
 */
export function blockSpeed(b: LiveBlockProgress): number {
	const seconds = b.duration_ms / 1000;
	return seconds > 0 ? rowsDone(b) / seconds : 0;
}

/** Seconds until the block is done at its speed so far (null when unknown). */
export function blockEta(b: LiveBlockProgress): number | null {
	if (b.status === 'completed') return 0;
	const speed = blockSpeed(b);
	if (b.total === null || speed <= 0) return null;
	return Math.max(0, (b.total - rowsDone(b)) / speed);
}

export function jobTotals(reported: readonly LiveBlockProgress[]): JobTotals {
	const blocks = withKnownTotals(reported);
	let calls = 0;
	let cached = 0;
	let costCents = 0;
	let errors = 0;
	let waiting = 0;
	let fractionSum = 0;
	let unknown = false;
	let rowsPerSecond = Infinity;
	let etaSeconds: number | null = null;
	let running = 0;
	let apiCalls = 0;
	let apiRows = 0;
	let rateLimitPerMin: number | null = null;
	for (const b of blocks) {
		if (BLOCKS[b.block_type].usesApi) {
			apiCalls += b.calls;
			apiRows += rowsAnswered(b);
			if (b.rate_limit_per_min != null) rateLimitPerMin = b.rate_limit_per_min;
		}
		calls += b.calls;
		cached += b.cached;
		costCents += b.cost_cents;
		errors += b.errors;
		if (b.status === 'running') {
			running++;
			waiting += b.waiting;
			const speed = blockSpeed(b);
			if (speed > 0) rowsPerSecond = Math.min(rowsPerSecond, speed);
			const eta = blockEta(b);
			if (eta !== null) etaSeconds = Math.max(etaSeconds ?? 0, eta);
		}
		const f = blockFraction(b);
		if (f === null) unknown = true;
		else fractionSum += f;
	}
	const percent = blocks.length === 0 ? null : unknown && fractionSum === 0 ? null : (fractionSum / blocks.length) * 100;
	return {
		calls,
		cached,
		costCents: Math.round(costCents * 100) / 100,
		errors,
		waiting,
		percent,
		rowsPerSecond: running === 0 || rowsPerSecond === Infinity ? 0 : rowsPerSecond,
		etaSeconds: running === 0 ? null : etaSeconds,
		rowsOut: blocks.at(-1)?.rows_out ?? 0,
		requestsPerRow: apiRows > 0 ? apiCalls / apiRows : null,
		rateLimitPerMin
	};
}
