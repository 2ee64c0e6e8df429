/**
 * A token bucket for one API key's requests/min. Every HTTP request (submits, polls, retries)
 * takes a token; waiters are served first-come first-served; a 429's `Retry-After` pauses the
 * bucket for everyone sharing the key, because the server's window is per key, not per caller.
 */
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

/** FIFO token bucket with a pause; `acquire` resolves when the caller may send one request. */
export class TokenBucket {
	#ratePerMs: number;
	#burst: number;
	#tokens: number;
	#last: number;
	#pausedUntil = -Infinity;
	#waiters: Waiter[] = [];
	#timer: ReturnType<typeof setTimeout> | null = null;
	readonly #now: () => number;

	constructor(options: TokenBucketOptions) {
		this.#now = options.now ?? (() => performance.now());
		this.#last = this.#now();
		this.#ratePerMs = checkRate(options.ratePerMinute) / 60_000;
		this.#burst = checkBurst(options.burst, options.ratePerMinute);
		this.#tokens = this.#burst;
	}

	/** Changes the rate (and burst) while running; waiters are rescheduled. */
	setRate(ratePerMinute: number, burst?: number): void {
		const rate = checkRate(ratePerMinute);
		const nextBurst = checkBurst(burst, ratePerMinute);
		this.#refill();
		this.#ratePerMs = rate / 60_000;
		this.#burst = nextBurst;
		if (this.#tokens > this.#burst) this.#tokens = this.#burst;
		this.#reschedule();
	}

	/** Waiters not yet given a token. */
	get waiting(): number {
		return this.#waiters.length;
	}

	/** Milliseconds the bucket stays paused by a Retry-After (0 when not paused). */
	get pausedForMs(): number {
		return Math.max(0, this.#pausedUntil - this.#now());
	}

	/** Nobody gets a token for `ms`; tokens do not accrue meanwhile (no burst when it lifts). */
	pause(ms: number): void {
		const until = this.#now() + ms;
		if (until <= this.#pausedUntil) return;
		this.#refill();
		this.#pausedUntil = until;
		this.#tokens = 0;
		this.#reschedule();
	}

	/** Resolves when a token is ours; rejects at once with the signal's reason on abort. */
	acquire(signal?: AbortSignal): Promise<void> {
		if (signal?.aborted) return Promise.reject(abortError(signal));
		if (this.#waiters.length === 0 && this.#take()) return Promise.resolve();
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

	#refill(): void {
		const now = this.#now();
		const from = Math.max(this.#last, this.#pausedUntil);
		if (now > from) this.#tokens = Math.min(this.#burst, this.#tokens + (now - from) * this.#ratePerMs);
		this.#last = Math.max(this.#last, now);
	}

	#take(): boolean {
		this.#refill();
		if (this.#now() < this.#pausedUntil || this.#tokens < 1) return false;
		this.#tokens -= 1;
		return true;
	}

	#drain(): void {
		while (this.#waiters.length > 0 && this.#take()) {
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
		const now = this.#now();
		const untilToken = this.#tokens >= 1 ? 0 : (1 - this.#tokens) / this.#ratePerMs;
		const delay = Math.max(this.#pausedUntil - now, 0) + untilToken;
		this.#timer = setTimeout(() => {
			this.#timer = null;
			this.#reschedule();
		}, Math.max(1, Math.ceil(delay)));
	}
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
