/**
 * The simulated per-key rate limit: a sliding window log. A request is admitted when fewer than
 * `requests` admitted requests of the same key fall inside the last `windowMs`. Refused requests
 * do not count. A sliding window (rather than a token bucket) is the stricter reading of
 * "N requests per minute", so a client that passes here passes a real API too.
 */

export interface RateLimitRule {
	requests: number;
	windowMs: number;
}

/** What the limiter decided, and the figures for the `X-RateLimit-*` / `Retry-After` headers. */
export interface RateDecision {
	allowed: boolean;
	limit: number;
	remaining: number;
	/** Whole seconds until the oldest counted request leaves the window (0 when none is counted). */
	resetSeconds: number;
	/** Whole seconds until a refused request could be admitted (≥ 1); 0 when allowed. */
	retryAfterSeconds: number;
}

interface Window {
	/** Admission times, oldest first; entries before `head` have expired. */
	times: number[];
	head: number;
}

export class SlidingWindowLimiter {
	readonly #windows = new Map<string, Window>();
	#sinceSweep = 0;

	/** Admit (and count) a request of `key` at `now`, or refuse it. */
	take(key: string, now: number, rule: RateLimitRule): RateDecision {
		if (++this.#sinceSweep >= 10_000) this.#sweep(now, rule);
		const window = this.#window(key, now, rule);
		const count = window.times.length - window.head;
		if (count >= rule.requests) {
			const wait = this.#untilSlot(window, now, rule, count - rule.requests);
			return {
				allowed: false,
				limit: rule.requests,
				remaining: 0,
				resetSeconds: this.#resetSeconds(window, now, rule),
				retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000))
			};
		}
		window.times.push(now);
		return {
			allowed: true,
			limit: rule.requests,
			remaining: rule.requests - count - 1,
			resetSeconds: this.#resetSeconds(window, now, rule),
			retryAfterSeconds: 0
		};
	}

	/** The headers' figures for `key` without counting a request (used on 401 answers). */
	peek(key: string, now: number, rule: RateLimitRule): RateDecision {
		const window = this.#window(key, now, rule);
		const count = window.times.length - window.head;
		const remaining = Math.max(0, rule.requests - count);
		return {
			allowed: remaining > 0,
			limit: rule.requests,
			remaining,
			resetSeconds: this.#resetSeconds(window, now, rule),
			retryAfterSeconds: 0
		};
	}

	/** Forget every key's history. */
	reset(): void {
		this.#windows.clear();
	}

	/** Drop keys with nothing left in their window, so random keys cannot grow the map forever. */
	#sweep(now: number, rule: RateLimitRule): void {
		this.#sinceSweep = 0;
		for (const [key, window] of this.#windows) {
			const last = window.times[window.times.length - 1];
			if (last === undefined || last <= now - rule.windowMs) this.#windows.delete(key);
		}
	}

	#window(key: string, now: number, rule: RateLimitRule): Window {
		let window = this.#windows.get(key);
		if (!window) {
			window = { times: [], head: 0 };
			this.#windows.set(key, window);
		}
		const cutoff = now - rule.windowMs;
		while (window.head < window.times.length && (window.times[window.head] as number) <= cutoff) window.head++;
		if (window.head > 1024 && window.head * 2 > window.times.length) {
			window.times = window.times.slice(window.head);
			window.head = 0;
		}
		return window;
	}

	/** Milliseconds until the request at offset `excess` from the oldest leaves the window. */
	#untilSlot(window: Window, now: number, rule: RateLimitRule, excess: number): number {
		const time = window.times[window.head + excess] as number;
		return time + rule.windowMs - now;
	}

	#resetSeconds(window: Window, now: number, rule: RateLimitRule): number {
		if (window.head >= window.times.length) return 0;
		return Math.max(0, Math.ceil(((window.times[window.head] as number) + rule.windowMs - now) / 1000));
	}
}
