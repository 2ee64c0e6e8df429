/**
 * What an answer says about the key's rate limit: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
 * `Retry-After` (API-NOTES.md "Basics"). The scheduler sets its bucket from these, so a key allowed
 * more than `SIXTYFOUR_RATE_LIMIT_PER_MIN` is used in full and one allowed less is not overrun.
 *
 * Parsing is strict: a header that is not a plain non-negative number (or the IETF draft form
 * `500;w=60`) is ignored rather than guessed at — a bad header must never set the rate to nonsense.
 */
import { parseRetryAfter } from './backoff';

/** The limit a header names is per minute unless it says its window (`;w=<seconds>`). */
const DEFAULT_WINDOW_S = 60;

/** The readable parts of one answer's rate-limit headers; null where absent or unreadable. */
export interface RateLimitInfo {
	/** Requests per minute the key is allowed. */
	limitPerMinute: number | null;
	/** Requests left in the server's current window. */
	remaining: number | null;
	/** A pause the server asks for (ms). */
	retryAfterMs: number | null;
}

/** Anything with `get(name)`: a fetch `Headers`, or a plain map in tests. */
export interface HeaderSource {
	get(name: string): string | null;
}

/**
 * Reads the rate-limit headers of one answer.
 * @example readRateLimitHeaders(new Headers({ 'x-ratelimit-limit': '6000' })).limitPerMinute // 6000
 */
export function readRateLimitHeaders(headers: HeaderSource, nowMs: number = Date.now()): RateLimitInfo {
	return {
		limitPerMinute: parseLimit(headers.get('x-ratelimit-limit')),
		remaining: parseCount(headers.get('x-ratelimit-remaining')),
		retryAfterMs: parseRetryAfter(headers.get('retry-after'), nowMs)
	};
}

/** `6000`, or `6000;w=60` / `100, 100;w=1` / `6;w=0.3` (IETF draft: the first item, its window in seconds). */
function parseLimit(raw: string | null): number | null {
	if (raw == null) return null;
	const first = raw.split(',')[0]!.trim();
	const m = /^(\d{1,9})(?:\s*;\s*w\s*=\s*(\d{1,7}(?:\.\d{1,3})?))?(?:\s*;.*)?$/i.exec(first);
	if (!m) return null;
	const limit = Number(m[1]);
	const windowS = m[2] === undefined ? DEFAULT_WINDOW_S : Number(m[2]);
	if (limit < 1 || !(windowS > 0)) return null;
	return Math.max(1, Math.floor((limit * 60) / windowS));
}

function parseCount(raw: string | null): number | null {
	if (raw == null) return null;
	const text = raw.trim();
	return /^\d{1,9}$/.test(text) ? Number(text) : null;
}
