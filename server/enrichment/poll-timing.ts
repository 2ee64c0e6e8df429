/**
 * When to poll an async task. Polls are requests and count against the per-key rate limit, so
 * requests per row — the figure of merit — depends on polling no more than needed: the first poll
 * goes out near the expected completion time (an EWMA of what this endpoint took lately), later
 * polls back off geometrically up to a cap.
 */

export interface PollTimingOptions {
	/** Expected latency before anything was observed (ms, default 2 000). */
	initialMs?: number;
	/** Growth of the interval after each poll that found the task running (default 1.5). */
	factor?: number;
	/** Longest interval between two polls (ms, default 15 000). */
	maxIntervalMs?: number;
	/** Shortest interval between two polls (ms, default 100). */
	minIntervalMs?: number;
	/** EWMA weight of the newest observation (default 0.3). */
	alpha?: number;
	/** With webhooks: poll a task whose webhook has not come by max(expected × factor, expected + slack) (defaults 3 and 2 000 ms). */
	webhookTailFactor?: number;
	webhookTailSlackMs?: number;
}

/** Per-endpoint expected latency and the resulting poll schedule. */
export class PollTiming {
	readonly #expected = new Map<string, number>();
	readonly #initial: number;
	readonly #factor: number;
	readonly #max: number;
	readonly #min: number;
	readonly #alpha: number;
	readonly #tailFactor: number;
	readonly #tailSlack: number;

	constructor(options: PollTimingOptions = {}) {
		this.#initial = options.initialMs ?? 2_000;
		this.#factor = options.factor ?? 1.5;
		this.#max = options.maxIntervalMs ?? 15_000;
		this.#min = options.minIntervalMs ?? 100;
		this.#alpha = options.alpha ?? 0.3;
		this.#tailFactor = options.webhookTailFactor ?? 3;
		this.#tailSlack = options.webhookTailSlackMs ?? 2_000;
	}

	/**
	 * With webhooks, how long after submission to wait for the delivery before the first poll: the
	 * tail of the expected latency, so only lost webhooks (and true stragglers) cost a poll.
	 */
	webhookTail(endpoint: string, elapsedMs: number): number {
		const expected = this.expected(endpoint);
		return Math.max(this.#min, Math.max(expected * this.#tailFactor, expected + this.#tailSlack) - elapsedMs);
	}

	/** Expected submit-to-completion time of `endpoint` (ms). */
	expected(endpoint: string): number {
		return this.#expected.get(endpoint) ?? this.#initial;
	}

	/**
	 * Wait before poll number `poll` (0 = first) of a task submitted `elapsedMs` ago: the first poll
	 * lands at the expected latency; then half of it, growing by `factor`, within [min, max].
	 * @example with expected 2 s: 2 s, +1 s, +1.5 s, +2.25 s, … +15 s
	 */
	delay(endpoint: string, poll: number, elapsedMs: number): number {
		const expected = this.expected(endpoint);
		const raw = poll === 0 ? expected - elapsedMs : (expected / 2) * this.#factor ** (poll - 1);
		return Math.min(this.#max, Math.max(this.#min, raw));
	}

	/**
	 * Records a task seen completed at `doneAtMs` after submission, last seen running at
	 * `lastRunningAtMs` (null when the first poll already found it done). The true completion lies
	 * between the two: take the midpoint; when the first poll found it done, probe 10 % earlier next
	 * time so the estimate can also come down.
	 */
	observe(endpoint: string, doneAtMs: number, lastRunningAtMs: number | null): void {
		const sample = lastRunningAtMs == null ? doneAtMs * 0.9 : (lastRunningAtMs + doneAtMs) / 2;
		const previous = this.#expected.get(endpoint);
		const next = previous == null ? sample : previous + this.#alpha * (sample - previous);
		this.#expected.set(endpoint, Math.max(this.#min, next));
	}
}
