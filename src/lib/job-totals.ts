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
	/** Once nothing runs: the slowest API block's (else the last block's) average rows/s over its run. */
	averageRowsPerSecond: number;
	/** The longest block's running time so far, in seconds (blocks stream, so about the job's). */
	elapsedSeconds: number;
	/** Rows the API blocks have answered (in any order) and have in flight now. */
	answered: number;
	inFlight: number;
	/** HTTP requests the API blocks sent (submits, polls, retries); `calls` counts answers paid for. */
	requests: number;
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

/**
 * Rows a block has finished. An API block reports `answered` (answers back, in any order): its
 * output waits for the slowest earlier row, so rows out would sit at 0 and then jump. An older
 * server (null) falls back to rows out.
 */
export function blockDone(b: LiveBlockProgress): number {
	return BLOCKS[b.block_type].usesApi && b.answered != null ? b.answered : rowsDone(b);
}

/** Average rows/s over the block's whole run so far. */
function averageSpeed(b: LiveBlockProgress): number {
	const seconds = b.duration_ms / 1000;
	return seconds > 0 ? blockDone(b) / seconds : 0;
}

/** True when the server measures speed and ETA itself (it reports `answered`). */
const measuredByServer = (b: LiveBlockProgress) => b.answered != null;

/** Share of a block's work done (0–1), null when its total is unknown. */
export function blockFraction(b: LiveBlockProgress): number | null {
	if (b.status === 'completed') return 1;
	if (b.status === 'pending') return 0;
	if (b.total === null || b.total <= 0) return b.total === 0 ? 1 : null;
	return Math.max(0, Math.min(1, blockDone(b) / b.total));
}

/**
 * Rows finished per second. Rows *entering* an API block arrive at once and wait for answers, so
 * speed and ETA are measured on rows done, not rows in. While running, the server's figure (answers
 * over its last seconds); once finished, the average over the run.
 */
export function blockSpeed(b: LiveBlockProgress): number {
	if (b.status === 'running' && measuredByServer(b)) return b.rows_per_s;
	return averageSpeed(b);
}

/** Seconds until the block is done (null while unknown: the server's smoothed ETA when it reports one). */
export function blockEta(b: LiveBlockProgress): number | null {
	if (b.status === 'completed') return 0;
	if (measuredByServer(b)) return b.eta_s;
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
	let answered = 0;
	let inFlight = 0;
	let requests = 0;
	let apiAverage = Infinity;
	let elapsedMs = 0;
	let apiSpeed = Infinity;
	let etaUnknown = false;
	for (const b of blocks) {
		elapsedMs = Math.max(elapsedMs, b.duration_ms);
		if (BLOCKS[b.block_type].usesApi) {
			// Requests (polls included) when the server counts them apart; an older server's `calls` were requests.
			apiCalls += b.requests ?? b.calls;
			apiRows += b.answered ?? rowsAnswered(b);
			answered += b.answered ?? rowsDone(b);
			inFlight += b.in_flight ?? 0;
			requests += b.requests ?? b.calls;
			if (b.duration_ms > 0) apiAverage = Math.min(apiAverage, averageSpeed(b));
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
			const eta = blockEta(b);
			if (BLOCKS[b.block_type].usesApi && measuredByServer(b)) {
				// The API block is the bottleneck: its speed counts even at 0 (not Read CSV's instead),
				// and the job's ETA is unknown while its is.
				apiSpeed = Math.min(apiSpeed, speed);
				if (eta === null) etaUnknown = true;
			} else if (speed > 0) rowsPerSecond = Math.min(rowsPerSecond, speed);
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
		rowsPerSecond: running === 0 ? 0 : apiSpeed !== Infinity ? apiSpeed : rowsPerSecond === Infinity ? 0 : rowsPerSecond,
		etaSeconds: running === 0 || etaUnknown ? null : etaSeconds,
		averageRowsPerSecond: apiAverage !== Infinity ? apiAverage : blocks.at(-1) ? averageSpeed(blocks.at(-1)!) : 0,
		elapsedSeconds: elapsedMs / 1000,
		answered,
		inFlight,
		requests,
		rowsOut: blocks.at(-1)?.rows_out ?? 0,
		requestsPerRow: apiRows > 0 ? apiCalls / apiRows : null,
		rateLimitPerMin
	};
}
