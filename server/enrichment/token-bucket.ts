/**
 * A token bucket for one API key's requests/min. Every HTTP request (submits, polls, retries)
 * takes a token; waiters are served first-come first-served; a 429's `Retry-After` pauses the
 * bucket for everyone sharing the key, because the server's window is per key, not per caller.
 *
 * The burst is paid for out of the minute: the bucket refills at `ratePerMinute − burst` per
 * minute, so a full bucket plus a minute of refill never exceeds `ratePerMinute` in any 60 s —
 * the strict, sliding-window reading of "N requests per minute". Refilling at the full rate let a
 * busy key send N + burst in its first minute, and a sliding-window API answered the excess with
 * 429s (and a Retry-After pause for every job on the key); see tests/load/fair-share.ts.
 */
import { TokenBucket as Bucket } from '../token-bucket';
import { abortError } from './abortable';

export interface TokenBucketOptions {
	ratePerMinute: number;
	/** Tokens that may be spent at once after an idle spell (default: one second's worth, ≥ 1). */
	burst?: number;
	/** Monotonic clock in ms (default `performance.now`). */
	now?: () => number;
}

interface Waiter {
	resolve: () => void;
	reject: (error: unknown) => void;
	signal?: AbortSignal;
	onAbort?: () => void;
}

/**
 * FIFO queue over the shared token bucket (server/token-bucket.ts), with a pause; `acquire`
 * resolves when the caller may send one request.
 */
export class TokenBucket {
	#ratePerMinute: number;
	readonly #bucket: Bucket;
	#waiters: Waiter[] = [];
	#timer: ReturnType<typeof setTimeout> | null = null;

	constructor(options: TokenBucketOptions) {
		const burst = checkBurst(options.burst, checkRate(options.ratePerMinute));
		this.#bucket = new Bucket({ capacity: burst, perSecond: refillPerMinute(options.ratePerMinute, burst) / 60, now: options.now });
		this.#ratePerMinute = options.ratePerMinute;
	}

	/** Changes the rate (and burst) while running; waiters are rescheduled. */
	setRate(ratePerMinute: number, burst?: number): void {
		const rate = checkRate(ratePerMinute);
		const nextBurst = checkBurst(burst, ratePerMinute);
		this.#bucket.setRate({ capacity: nextBurst, perSecond: refillPerMinute(rate, nextBurst) / 60 });
		this.#ratePerMinute = rate;
		this.#reschedule();
	}

	/**
	 * The server says only `n` requests are left in its window: hold no more tokens than that, so a
	 * burst never runs into a 429 the server already announced.
	 */
	capTokens(n: number): void {
		this.#bucket.cap(n);
	}

	/** The rate in force (requests per minute, burst included). */
	get ratePerMinute(): number {
		return this.#ratePerMinute;
	}

	/** Waiters not yet given a token. */
	get waiting(): number {
		return this.#waiters.length;
	}

	/** Milliseconds the bucket stays paused by a Retry-After (0 when not paused). */
	get pausedForMs(): number {
		return this.#bucket.pausedForMs;
	}

	/** Nobody gets a token for `ms`; tokens do not accrue meanwhile (no burst when it lifts). */
	pause(ms: number): void {
		this.#bucket.pause(ms);
		this.#reschedule();
	}

	/** Resolves when a token is ours; rejects at once with the signal's reason on abort. */
	acquire(signal?: AbortSignal): Promise<void> {
		if (signal?.aborted) return Promise.reject(abortError(signal));
		if (this.#waiters.length === 0 && this.#bucket.take()) return Promise.resolve();
		return new Promise<void>((resolve, reject) => {
			const waiter: Waiter = { resolve, reject, signal };
			if (signal) {
				waiter.onAbort = () => {
					const i = this.#waiters.indexOf(waiter);
					if (i >= 0) this.#waiters.splice(i, 1);
					reject(abortError(signal));
					this.#reschedule();
				};
				signal.addEventListener('abort', waiter.onAbort, { once: true });
			}
			this.#waiters.push(waiter);
			this.#reschedule();
		});
	}

	/** Stops the timer and rejects every waiter (process shutdown, tests). */
	close(reason: unknown = new Error('token bucket closed')): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		for (const w of this.#waiters.splice(0)) {
			if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
			w.reject(reason);
		}
	}

	#drain(): void {
		while (this.#waiters.length > 0 && this.#bucket.take()) {
			const w = this.#waiters.shift()!;
			if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
			w.resolve();
		}
	}

	#reschedule(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		this.#drain();
		if (this.#waiters.length === 0) return;
		const delay = this.#bucket.msUntil();
		this.#timer = setTimeout(
			() => {
				this.#timer = null;
				this.#reschedule();
			},
			Math.max(1, Math.ceil(delay))
		);
	}
}

/**
 * Tokens added per minute: the limit less the burst, so burst + one minute's refill ≤ the limit.
 * A burst as large as the limit itself leaves nothing to refill with; then the plain rate applies
 * (no bucket can keep that burst inside the minute).
 */
function refillPerMinute(ratePerMinute: number, burst: number): number {
	return burst < ratePerMinute ? ratePerMinute - burst : ratePerMinute;
}

function checkRate(ratePerMinute: number): number {
	if (!(ratePerMinute > 0) || !Number.isFinite(ratePerMinute)) {
		throw new RangeError(`rate limit must be a positive number of requests per minute, got ${ratePerMinute}`);
	}
	return ratePerMinute;
}

function checkBurst(burst: number | undefined, ratePerMinute: number): number {
	if (burst === undefined) return Math.max(1, Math.floor(ratePerMinute / 60));
	if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst must be at least 1, got ${burst}`);
	return burst;
}
