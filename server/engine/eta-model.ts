/**
 * Time left for an API block, from how long its rows take — not from how fast answers came so far.
 *
 * Answers come back fastest-first: after 20% of a run, the rows answered are the quick ones and
 * the slow ones are still in flight. A rate (answered / elapsed) then promises the rest at the
 * pace of the quick ones, and the run's end — decided by the last slow rows of the latency's
 * tail — comes much later (issue 12 measured ETAs 45–67% short). So the ETA fits a log-normal
 * latency to every row, answered or not (EM over interval-censored data), then plays the rest of
 * the run out: the rows in flight finish after their remaining time given what is known of them,
 * and each queued row takes the next free slot. The median end over a few seeded runs of that
 * simulation is the ETA.
 *
 * What each row tells is an interval:
 * - a synchronous call's time (or a webhook's) is exact;
 * - an async task's answer is seen at a poll: it ended after the last poll that found it running
 *   and before the one that found it done (taking the poll's time as exact bunched the fast
 *   answers at the first poll, narrowed the fitted spread and cut ETAs ~40% short);
 * - a row still going took at least its age — or, if polled, at least until its last poll that
 *   found it running (it may have ended since).
 *
 * In seeded simulations of issue 12's judged run (200 rows, log-normal latency with median 2 s
 * and p95 10 s, 50 in flight) this ETA at 20% is within ±50% of the time left in about two runs
 * of three (the rate's: one in twenty; the true distribution known in advance: five in six — the
 * last rows' tail is that random), and with polls every 0.5 s after a first one at 0.8 s in 57%,
 * its median error about 0. Against the simulator it still runs short (the spread fitted at 20%
 * is lower than the true one): `npm run bench -- row-by-row` shows how far.
 *
 * Answers served at once (the cache) would distort a log-normal fit, so rows settled within
 * `INSTANT_MS` count apart, as a share of the rows (measured only over rows old enough to tell).
 */

import { mulberry32 } from '../seeded-random';

/** A row settled this fast was not an API call's latency (a cache hit, an input error). */
export const INSTANT_MS = 20;
/** Latencies kept for the fit (the most recent ones; older ones say less about the API now). */
const MAX_SAMPLES = 2_000;
/** Queued rows simulated one by one; more are added at the mean pace of the slots. */
const MAX_SIMULATED_ROWS = 500;
const SIMULATIONS = 16;
const EM_ROUNDS = 60;
/** Settled (timed) rows needed before the fit means anything. */
const MIN_SETTLED = 8;

export interface LogNormal {
	/** Mean and standard deviation of ln(seconds). */
	mu: number;
	sigma: number;
}

/** A latency known to lie in [low, high] seconds: equal for an exact time, `high` infinite for a row still going. */
export type Interval = readonly [low: number, high: number];

/** Start and end times of one block's rows (ms), for `estimateRemaining`. */
export class RowTimings {
	/** Start time of each row in flight, by input index. */
	readonly #started = new Map<number, number>();
	/** When the API last said a row's task was still running (ms), by input index. */
	readonly #running = new Map<number, number>();
	/** What the answered rows that were not instant took, most recent last. */
	readonly #answered: Interval[] = [];
	#instant = 0;
	#timed = 0;
	/** The block's concurrency (its slots), as the row mapper was given it. */
	slots = 1;

	started(index: number, slots: number, now = Date.now()): void {
		this.slots = Math.max(1, slots);
		this.#started.set(index, now);
	}

	/**
	 * The API said at `at` (ms) that the row's async task was running (its submission counts); `undefined`:
	 * forget it (a webhook brought the answer, whose time is exact).
	 */
	stillRunning(index: number, at: number | undefined): void {
		if (at === undefined) this.#running.delete(index);
		else if (this.#started.has(index)) this.#running.set(index, at);
	}

	settled(index: number, now = Date.now()): void {
		const at = this.#started.get(index);
		const running = this.#running.get(index);
		this.#started.delete(index);
		this.#running.delete(index);
		if (at === undefined) return;
		const ms = now - at;
		if (ms < INSTANT_MS) {
			this.#instant++;
			return;
		}
		this.#timed++;
		// Seen at a poll: it ended after the last poll that found it running, at most now.
		const low = running === undefined ? ms : Math.min(ms, Math.max(0, running - at));
		this.#answered.push([low / 1000, ms / 1000]);
		if (this.#answered.length > MAX_SAMPLES) this.#answered.shift();
	}

	/** Seconds left for `queued` rows not started yet plus the rows in flight, or null while too little is known. */
	estimateRemaining(queued: number, now = Date.now()): number | null {
		if (this.#answered.length < MIN_SETTLED) return null;
		const going: { age: number; atLeast: number }[] = [];
		let young = 0;
		for (const [index, at] of this.#started) {
			const ms = now - at;
			if (ms < INSTANT_MS) {
				young++;
				continue;
			}
			// A polled task may have ended since its last poll: it is known to run only that long.
			const running = this.#running.get(index);
			going.push({ age: ms / 1000, atLeast: (running === undefined ? ms : Math.max(0, running - at)) / 1000 });
		}
		const observed: Interval[] = [...this.#answered];
		for (const { atLeast } of going) if (atLeast > 0) observed.push([atLeast, Infinity]);
		const fit = fitLogNormal(observed);
		if (fit === null) return null;
		// Rows old enough to tell: those that settled at once, those that did not (answered slowly or still going).
		const told = this.#instant + this.#timed + going.length;
		const instantShare = told > 0 ? this.#instant / told : 0;
		return simulateRemaining({ fit, going, queued: queued + young, slots: this.slots, instantShare });
	}
}

/** Maximum-likelihood log-normal over exact latencies `done` and lower bounds `atLeast` (rows still going). */
export function fitCensoredLogNormal(done: readonly number[], atLeast: readonly number[]): LogNormal | null {
	return fitLogNormal([...done.map((x): Interval => [x, x]), ...atLeast.map((x): Interval => [x, Infinity])]);
}

/**
 * Maximum-likelihood log-normal over latencies known as intervals (exact, between two polls, or
 * at least a row's time so far), by expectation–maximisation on ln(seconds): each round replaces
 * every interval by the first two moments of the current normal truncated to it. Null when fewer
 * than two observations have a finite end.
 */
export function fitLogNormal(observations: readonly Interval[]): LogNormal | null {
	const logs = observations
		.filter(([low, high]) => high > 0 && high >= low)
		.map(([low, high]) => [low > 0 ? Math.log(low) : -Infinity, Math.log(high)] as const);
	if (logs.filter(([, high]) => Number.isFinite(high)).length < 2) return null;
	const n = logs.length;
	// Start from the intervals' finite ends (an answer's upper end, a running row's lower end).
	const starts = logs.map(([low, high]) => (Number.isFinite(high) ? high : low));
	let mu = starts.reduce((a, b) => a + b, 0) / n;
	let sigma = Math.max(0.1, Math.sqrt(starts.reduce((a, b) => a + (b - mu) ** 2, 0) / n));
	for (let round = 0; round < EM_ROUNDS; round++) {
		let s1 = 0;
		let s2 = 0;
		for (const [low, high] of logs) {
			const [m1, m2] = truncatedMoments(mu, sigma, low, high);
			s1 += m1;
			s2 += m2;
		}
		const nextMu = s1 / n;
		const nextSigma = Math.sqrt(Math.max(1e-4, s2 / n - nextMu * nextMu));
		const moved = Math.abs(nextMu - mu) + Math.abs(nextSigma - sigma);
		mu = nextMu;
		sigma = nextSigma;
		if (moved < 1e-6) break;
	}
	// A censored fit with few answers can run away; past σ = 3 (p99/median ≈ 1,000) it says nothing useful.
	if (!Number.isFinite(mu) || !Number.isFinite(sigma)) return null;
	return { mu, sigma: Math.min(sigma, 3) };
}

/** E[y] and E[y²] for y ~ N(mu, sigma²) given low ≤ y ≤ high (equal ends: that value). */
function truncatedMoments(mu: number, sigma: number, low: number, high: number): [number, number] {
	if (high - low < 1e-9) return [low, low * low];
	const a = (low - mu) / sigma;
	const b = (high - mu) / sigma;
	const mass = a > 0 ? normalCdf(-a) - normalCdf(-b) : normalCdf(b) - normalCdf(a);
	if (!(mass > 1e-12)) {
		// The interval lies far in a tail the current fit gives no weight: its nearer finite end.
		const near = Number.isFinite(low) && (a > 0 || !Number.isFinite(high)) ? low : high;
		return [near, near * near];
	}
	const pdfA = Number.isFinite(a) ? normalPdf(a) : 0;
	const pdfB = Number.isFinite(b) ? normalPdf(b) : 0;
	const edgeA = Number.isFinite(a) ? a * pdfA : 0;
	const edgeB = Number.isFinite(b) ? b * pdfB : 0;
	const shift = (pdfA - pdfB) / mass;
	const m1 = mu + sigma * shift;
	const m2 = mu * mu + sigma * sigma + 2 * mu * sigma * shift + sigma * sigma * ((edgeA - edgeB) / mass);
	return [m1, Math.max(m2, m1 * m1)];
}

function normalPdf(z: number): number {
	return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

interface SimulationInput {
	fit: LogNormal;
	/** The rows in flight: how long they have run (s), and how long they are known to have been running. */
	going: readonly { age: number; atLeast: number }[];
	/** Rows not started yet. */
	queued: number;
	slots: number;
	/** Share of rows that settle at once (cache hits). */
	instantShare: number;
}

/** Mean time (s) until the last of the rows in flight and queued is answered, over seeded simulations. */
export function simulateRemaining({ fit, going, queued, slots, instantShare }: SimulationInput): number {
	const random = mulberry32(0x5eed);
	const simulated = Math.min(queued, MAX_SIMULATED_ROWS);
	const meanLatency = Math.exp(fit.mu + (fit.sigma * fit.sigma) / 2) * (1 - instantShare);
	// Rows past the simulated ones keep every slot busy: each adds a mean latency per slot.
	const extra = ((queued - simulated) * meanLatency) / slots;
	const ends: number[] = [];
	for (let run = 0; run < SIMULATIONS; run++) {
		const free: number[] = [];
		let end = 0;
		for (const { age, atLeast } of going) {
			const left = residual(fit, age, atLeast, random());
			free.push(left);
			end = Math.max(end, left);
		}
		while (free.length < slots) free.push(0);
		const heap = new MinHeap(free);
		for (let i = 0; i < simulated; i++) {
			const at = heap.pop();
			const latency = random() < instantShare ? 0 : draw(fit, random());
			heap.push(at + latency);
			end = Math.max(end, at + latency);
		}
		ends.push(end + extra);
	}
	ends.sort((x, y) => x - y);
	return ends[Math.floor(ends.length / 2)] ?? 0;
}

/** Time left (s) for a row `age` s in flight, known to take at least `atLeast` s: a latency drawn given that, less its age. */
function residual({ mu, sigma }: LogNormal, age: number, atLeast: number, u: number): number {
	const floor = atLeast > 0 ? normalCdf((Math.log(atLeast) - mu) / sigma) : 0;
	const p = Math.min(1 - 1e-9, floor + u * (1 - floor));
	return Math.max(0, Math.exp(mu + sigma * normalQuantile(p)) - age);
}

function draw({ mu, sigma }: LogNormal, u: number): number {
	return Math.exp(mu + sigma * normalQuantile(Math.min(1 - 1e-9, Math.max(1e-9, u))));
}

/** Φ(z), from a Chebyshev fit of the complementary error function (fractional error < 1.2e-7). */
export function normalCdf(z: number): number {
	const x = Math.abs(z) / Math.SQRT2;
	const t = 1 / (1 + 0.5 * x);
	const erfc =
		t *
		Math.exp(
			-x * x -
				1.26551223 +
				t *
					(1.00002368 +
						t *
							(0.37409196 +
								t *
									(0.09678418 +
										t *
											(-0.18628806 +
												t *
													(0.27886807 +
														t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
		);
	return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Φ⁻¹(p) for 0 < p < 1 (P. J. Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
	if (p < QUANTILE_LOW) {
		const q = Math.sqrt(-2 * Math.log(p));
		return horner(QUANTILE_C, q) / (horner(QUANTILE_D, q) * q + 1);
	}
	if (p > 1 - QUANTILE_LOW) {
		const q = Math.sqrt(-2 * Math.log(1 - p));
		return -horner(QUANTILE_C, q) / (horner(QUANTILE_D, q) * q + 1);
	}
	const q = p - 0.5;
	const r = q * q;
	return (horner(QUANTILE_A, r) * q) / (horner(QUANTILE_B, r) * r + 1);
}

const QUANTILE_LOW = 0.02425;
const QUANTILE_A = [
	-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239
];
const QUANTILE_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const QUANTILE_C = [
	-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783
];
const QUANTILE_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** The polynomial with `coefficients` (highest power first) at x. */
function horner(coefficients: readonly number[], x: number): number {
	let acc = 0;
	for (const coefficient of coefficients) acc = acc * x + coefficient;
	return acc;
}

/** A binary min-heap of numbers (slot free times). */
class MinHeap {
	readonly #items: number[];
	constructor(items: number[]) {
		this.#items = [...items].sort((x, y) => x - y);
	}
	pop(): number {
		const items = this.#items;
		const top = items[0] ?? 0;
		const last = items.pop() ?? 0;
		if (items.length > 0) {
			items[0] = last;
			this.#down(0);
		}
		return top;
	}
	push(value: number): void {
		const items = this.#items;
		items.push(value);
		let i = items.length - 1;
		while (i > 0) {
			const parent = (i - 1) >> 1;
			if ((items[parent] ?? 0) <= value) break;
			items[i] = items[parent] ?? 0;
			i = parent;
		}
		items[i] = value;
	}
	#down(start: number): void {
		const items = this.#items;
		const value = items[start] ?? 0;
		let i = start;
		for (;;) {
			const left = 2 * i + 1;
			if (left >= items.length) break;
			const right = left + 1;
			const child = right < items.length && (items[right] ?? 0) < (items[left] ?? 0) ? right : left;
			if ((items[child] ?? 0) >= value) break;
			items[i] = items[child] ?? 0;
			i = child;
		}
		items[i] = value;
	}
}
