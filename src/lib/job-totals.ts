/**
 * Whole-job figures for the progress panel, from the per-block progress the live feed carries:
 * totals of calls, cache hits, cost and errors, how far along the job is, and its bottleneck's
 * speed and ETA (blocks stream, so several run at once: the slowest decides).
 */
import type { LiveBlockProgress } from '$lib/workflow/protocol';

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
}

/** Share of a block's work done (0–1), null when its total is unknown. */
export function blockFraction(b: LiveBlockProgress): number | null {
	if (b.status === 'completed') return 1;
	if (b.status === 'pending') return 0;
	if (b.total === null || b.total <= 0) return b.total === 0 ? 1 : null;
	const done = b.block_type === 'filter' ? b.rows_in : b.rows_out;
	return Math.max(0, Math.min(1, done / b.total));
}

export function jobTotals(blocks: readonly LiveBlockProgress[]): JobTotals {
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
	for (const b of blocks) {
		calls += b.calls;
		cached += b.cached;
		costCents += b.cost_cents;
		errors += b.errors;
		if (b.status === 'running') {
			running++;
			waiting += b.waiting;
			if (b.rows_per_s > 0) rowsPerSecond = Math.min(rowsPerSecond, b.rows_per_s);
			if (b.eta_s !== null) etaSeconds = Math.max(etaSeconds ?? 0, b.eta_s);
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
		rowsOut: blocks.at(-1)?.rows_out ?? 0
	};
}
