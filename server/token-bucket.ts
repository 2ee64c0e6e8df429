/**
 * The token bucket, the one implementation every rate limit uses: `capacity` tokens when full
 * (what may be spent back to back after an idle spell), refilled at `perSecond`. Each user keeps
 * its own policy around it — what a token buys, what happens when there is none:
 * - enrichment/token-bucket.ts: one API key's requests; callers wait in line, a 429 pauses it;
 * - client-rate-limit.ts: one client's creations, uploads, runs; over it → HTTP 429;
 * - collab/rate-limit.ts: one room connection's frames and presence changes;
 * - live/live-hub.ts: one live client's frames (over it → close 1008).
 */

export interface TokenBucketOptions {
	/** Tokens when full (≥ 1). */
	capacity: number;
	/** Tokens added per second (> 0). */
	perSecond: number;
	/** Monotonic clock in ms (default `performance.now`). */
	now?: () => number;
}

/**
 * A synchronous token bucket.
 * @example const frames = new TokenBucket({ capacity: 20, perSecond: 5 }); if (!frames.take()) ws.close(1008)
 */
export class TokenBucket {
	#capacity: number;
	#perMs: number;
	#tokens: number;
	#last: number;
	#pausedUntil = -Infinity;
	readonly #now: () => number;

	constructor(options: TokenBucketOptions) {
		this.#now = options.now ?? (() => performance.now());
		this.#capacity = checkCapacity(options.capacity);
		this.#perMs = checkRate(options.perSecond) / 1_000;
		this.#tokens = this.#capacity;
		this.#last = this.#now();
	}

	get capacity(): number {
		return this.#capacity;
	}

	/** Tokens available now (fractional: refill is continuous). */
	get tokens(): number {
		this.#refill();
		return this.#tokens;
	}

	/** True once refilled to capacity: forgetting this bucket then changes nothing. */
	get full(): boolean {
		return this.tokens >= this.#capacity;
	}

	/** Milliseconds a pause still holds (0 when none). */
	get pausedForMs(): number {
		return Math.max(0, this.#pausedUntil - this.#now());
	}

	/** Takes `count` tokens if there are that many and no pause holds; else takes none and returns false. */
	take(count = 1): boolean {
		this.#refill();
		if (this.#now() < this.#pausedUntil || this.#tokens < count) return false;
		this.#tokens -= count;
		return true;
	}

	/** Milliseconds until `count` tokens can be taken (0 when they can now). */
	msUntil(count = 1): number {
		this.#refill();
		const missing = Math.max(0, count - this.#tokens);
		return this.pausedForMs + missing / this.#perMs;
	}

	/** New rate and capacity; the tokens earned so far are kept, up to the new capacity. */
	setRate(options: Pick<TokenBucketOptions, 'capacity' | 'perSecond'>): void {
		this.#refill();
		this.#capacity = checkCapacity(options.capacity);
		this.#perMs = checkRate(options.perSecond) / 1_000;
		this.#tokens = Math.min(this.#tokens, this.#capacity);
	}

	/** Holds no more than `n` tokens (e.g. what a server says is left in its window). */
	cap(n: number): void {
		this.#refill();
		if (this.#tokens > n) this.#tokens = Math.max(0, n);
	}

	/** Empties the bucket; nothing can be taken, nor accrues, for `ms` (no burst when it lifts). */
	pause(ms: number): void {
		const until = this.#now() + ms;
		if (until <= this.#pausedUntil) return;
		this.#refill();
		this.#pausedUntil = until;
		this.#tokens = 0;
	}

	#refill(): void {
		const now = this.#now();
		const from = Math.max(this.#last, this.#pausedUntil);
		if (now > from) this.#tokens = Math.min(this.#capacity, this.#tokens + (now - from) * this.#perMs);
		this.#last = Math.max(this.#last, now);
	}
}

function checkCapacity(capacity: number): number {
	if (!(capacity >= 1) || !Number.isFinite(capacity)) throw new RangeError(`token bucket capacity must be at least 1, got ${capacity}`);
	return capacity;
}

function checkRate(perSecond: number): number {
	if (!(perSecond > 0) || !Number.isFinite(perSecond))
		throw new RangeError(`token bucket rate must be a positive number per second, got ${perSecond}`);
	return perSecond;
}
