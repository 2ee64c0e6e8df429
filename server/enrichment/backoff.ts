/**
 * Retry timing: exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff
 * and Jitter") — spreading retries uniformly over [0, base·2^n] is what stops a crowd of rows that
 * failed together from retrying together — and the `Retry-After` header, which wins when present.
 */

export interface BackoffOptions {
	/** Delay ceiling of the first retry (ms). */
	baseMs: number;
	/** No retry waits longer than this (ms). */
	capMs: number;
	/** Uniform [0, 1) source; injectable so tests can pin the jitter. */
	random?: () => number;
}

/**
 * Delay before retry number `retry` (0 = first retry): uniform in [0, min(cap, base·2^retry)).
 * @example backoffDelay(2, { baseMs: 100, capMs: 5000, random: () => 0.5 }) // 200
 */
export function backoffDelay(retry: number, options: BackoffOptions): number {
	const random = options.random ?? Math.random;
	const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, retry));
	return Math.floor(random() * ceiling);
}

/**
 * Milliseconds a `Retry-After` header asks us to wait: delay-seconds (fractions accepted, as some
 * servers and our simulator send them) or an HTTP date. Null when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number = Date.now()): number | null {
	if (header == null) return null;
	const text = header.trim();
	if (text === '') return null;
	if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
	if (!/[a-z]/i.test(text)) return null; // an HTTP date names its month; '-1' is not a date
	const date = Date.parse(text);
	if (Number.isNaN(date)) return null;
	return Math.max(0, date - nowMs);
}
