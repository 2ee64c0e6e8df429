/**
 * The one token bucket every rate limit builds on (API key, HTTP client, room frames, live frames).
 * A hand-driven clock: nothing here waits or measures time.
 */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../server/token-bucket';

function clocked(capacity: number, perSecond: number) {
	let t = 1_000;
	const bucket = new TokenBucket({ capacity, perSecond, now: () => t });
	return { bucket, advance: (ms: number) => (t += ms) };
}

/** Takes until refused; how many it got. */
function drain(bucket: TokenBucket): number {
	let n = 0;
	while (bucket.take()) n++;
	return n;
}

describe('TokenBucket', () => {
	it.each([
		[1, 1],
		[5, 2],
		[200, 200]
	])('starts full: %i back to back (rate %i/s), then none', (capacity, perSecond) => {
		const { bucket } = clocked(capacity, perSecond);
		expect(drain(bucket)).toBe(capacity);
		expect(bucket.take()).toBe(false);
	});

	it('refills at its rate, never past capacity, and says when the next token comes', () => {
		const { bucket, advance } = clocked(4, 2);
		drain(bucket);
		expect(bucket.msUntil()).toBe(500);
		expect(bucket.msUntil(3)).toBe(1_500);
		advance(499);
		expect(bucket.take()).toBe(false);
		advance(1);
		expect(bucket.take()).toBe(true);
		advance(60_000);
		expect(bucket.full).toBe(true);
		expect(drain(bucket)).toBe(4);
	});

	it('take(n) takes all n or none', () => {
		const { bucket } = clocked(3, 1);
		expect(bucket.take(2)).toBe(true);
		expect(bucket.take(2)).toBe(false);
		expect(bucket.take(1)).toBe(true);
	});

	it('a pause empties it and nothing accrues until it lifts', () => {
		const { bucket, advance } = clocked(10, 10);
		bucket.pause(1_000);
		expect(bucket.pausedForMs).toBe(1_000);
		expect(bucket.take()).toBe(false);
		expect(bucket.msUntil()).toBe(1_100);
		advance(1_000);
		expect(bucket.take()).toBe(false);
		advance(100);
		expect(bucket.take()).toBe(true);
		expect(bucket.take()).toBe(false);
	});

	it('cap() and setRate() keep the tokens earned, within the new bounds', () => {
		const { bucket, advance } = clocked(10, 1);
		bucket.cap(3);
		expect(drain(bucket)).toBe(3);
		advance(2_000);
		bucket.setRate({ capacity: 1, perSecond: 100 });
		expect(bucket.tokens).toBe(1);
		expect(drain(bucket)).toBe(1);
		advance(10);
		expect(bucket.take()).toBe(true);
	});

	it.each([
		[{ capacity: 0, perSecond: 1 }, /capacity/],
		[{ capacity: 1, perSecond: 0 }, /rate/],
		[{ capacity: Number.NaN, perSecond: 1 }, /capacity/],
		[{ capacity: 1, perSecond: Infinity }, /rate/]
	])('refuses %o', (options, message) => {
		expect(() => new TokenBucket(options)).toThrow(message);
	});
});
