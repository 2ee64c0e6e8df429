import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../server/enrichment/backoff';
import { AttemptsExhaustedError, RetryableError, createScheduler, forgetScheduler, getScheduler } from '../../server/enrichment/scheduler';
import { settledAtOnce } from '../helpers/settles';

const FAST = { ratePerMinute: 600_000, burst: 1_000 };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const meter = () => ({ requests: 0, waiting: 0 });

/**
 * Tests about *when* things happen run on Vitest's fake clock (setTimeout and performance.now): the
 * scheduler's waits then take exactly the time it asked for, and a loaded machine can neither
 * squeeze two sends together (by running the first one late) nor stretch a cool-down.
 */
const fakeClock = () => vi.useFakeTimers();
/** Lets every timer fire, in order, until nothing is left waiting. */
const runTimers = () => vi.runAllTimersAsync();
/** Moves the fake clock on by `ms`, firing what falls due. */
const elapse = (ms: number) => vi.advanceTimersByTimeAsync(ms);
afterEach(() => {
	vi.useRealTimers();
});

/** An attempt that resolves after `ms` unless its signal aborts first. */
function work(ms: number) {
	return (signal: AbortSignal) =>
		new Promise<string>((resolve, reject) => {
			const t = setTimeout(() => resolve('ok'), ms);
			signal.addEventListener('abort', () => {
				clearTimeout(t);
				reject(signal.reason);
			});
		});
}

describe('in-flight cap', () => {
	it.each([1, 3, 8])('never more than %i requests in flight, and the cap is used', async (n) => {
		const s = createScheduler({ ...FAST, maxInFlight: n });
		let now = 0;
		let peak = 0;
		await Promise.all(
			Array.from({ length: 4 * n + 3 }, () =>
				s.run(async () => {
					now++;
					peak = Math.max(peak, now, s.stats().inFlight);
					await pause(5);
					now--;
				})
			)
		);
		expect(peak).toBe(n);
		expect(s.stats()).toMatchObject({ inFlight: 0, queued: 0, sent: 4 * n + 3 });
	});
});

describe('token bucket', () => {
	it.each([
		{ ratePerMinute: 3_000, burst: 1, n: 16 },
		{ ratePerMinute: 6_000, burst: 5, n: 30 }
	])('sends at most burst + rate·t in any window ($ratePerMinute/min, burst $burst)', async ({ ratePerMinute, burst, n }) => {
		fakeClock();
		const s = createScheduler({ ratePerMinute, burst, maxInFlight: 100 });
		const sent: number[] = [];
		const start = performance.now();
		const all = Promise.all(Array.from({ length: n }, () => s.run(async () => void sent.push(performance.now()))));
		await runTimers();
		await all;
		expect(sent).toHaveLength(n);
		const perMs = ratePerMinute / 60_000;
		for (let i = 0; i < sent.length; i++) {
			for (let j = i; j < sent.length; j++) {
				// Exactly the bound the bucket promises: on the fake clock a send happens when its token comes.
				expect(j - i + 1).toBeLessThanOrEqual(burst + perMs * (sent[j] - sent[i]));
			}
		}
		// …and it is not needlessly slow either: within a few ms of the ideal (timers round up to whole ms).
		const ideal = (n - burst) / perMs;
		expect(performance.now() - start).toBeGreaterThanOrEqual(ideal);
		expect(performance.now() - start).toBeLessThan(ideal * 1.1);
	});

	it('counts every attempt, retries included, against the bucket and the meter', async () => {
		fakeClock();
		const s = createScheduler({ ratePerMinute: 6_000, burst: 1, maxInFlight: 10, backoffBaseMs: 1 });
		const m = meter();
		let attempts = 0;
		const sent: number[] = [];
		const done = s.run(
			async () => {
				sent.push(performance.now());
				if (++attempts < 3) throw new RetryableError('503', 503);
				return 'ok';
			},
			{ meter: m }
		);
		await runTimers();
		await done;
		expect(m).toEqual({ requests: 3, waiting: 0 });
		expect(sent[2] - sent[0]).toBeGreaterThanOrEqual(2 * 10); // 100 req/s → ≥ 10 ms apart
	});
});

describe('429 and Retry-After', () => {
	it('pauses the whole key until Retry-After has elapsed and halves the in-flight cap', async () => {
		fakeClock();
		const s = createScheduler({ ...FAST, maxInFlight: 8, backoffBaseMs: 1 });
		let limitedAt = 0;
		const starts: { who: string; at: number }[] = [];
		const first = s.run(async () => {
			starts.push({ who: 'a', at: performance.now() });
			if (starts.filter((x) => x.who === 'a').length === 1) {
				limitedAt = performance.now();
				throw new RetryableError('429', 429, 150);
			}
			return 'a';
		});
		await elapse(10);
		expect(s.stats().concurrency).toBe(4);
		expect(s.stats().pausedForMs).toBe(140);
		const others = ['b', 'c', 'd'].map((who) => s.run(async () => void starts.push({ who, at: performance.now() })));
		await elapse(139);
		expect(starts).toHaveLength(1); // nobody, not even the retry, goes before the pause ends
		await runTimers();
		await Promise.all([first, ...others]);
		const afterPause = starts.slice(1);
		expect(afterPause).toHaveLength(4);
		for (const start of afterPause) expect(start.at - limitedAt).toBeGreaterThanOrEqual(150);
		expect(s.stats()).toMatchObject({ rateLimited: 1, retries: 1 });
	});

	it.each([
		{ maxInFlight: 8, minInFlight: 1, afterCuts: 4, afterGrowth: 8 },
		{ maxInFlight: 4, minInFlight: 3, afterCuts: 3, afterGrowth: 4 },
		{ maxInFlight: 1, minInFlight: 1, afterCuts: 1, afterGrowth: 1 }
	])('cuts the cap once per storm (max $maxInFlight → $afterCuts), then grows back on success', async (c) => {
		fakeClock(); // a loaded machine must not let the 60 ms cool-down pass between the two 429s
		const s = createScheduler({
			...FAST,
			maxInFlight: c.maxInFlight,
			minInFlight: c.minInFlight,
			backoffBaseMs: 1,
			decreaseCooldownMs: 60
		});
		const limited = () => s.run(async () => Promise.reject(new RetryableError('429', 429)), { maxAttempts: 1 }).catch((e) => e);
		expect(await limited()).toBeInstanceOf(AttemptsExhaustedError);
		await limited(); // same storm: no second cut
		await s.run(async () => 'ok'); // nor growth during the cool-down
		expect(s.stats()).toMatchObject({ rateLimited: 2, concurrency: c.afterCuts });
		await elapse(70);
		for (let i = 1; i < c.afterGrowth - c.afterCuts; i++) await s.run(async () => 'ok');
		expect(s.stats().concurrency).toBe(Math.max(c.afterCuts, c.afterGrowth - 1)); // +1 per success…
		for (let i = 0; i < 5; i++) await s.run(async () => 'ok');
		expect(s.stats().concurrency).toBe(c.afterGrowth); // …up to the maximum
	});
});

describe('backoff', () => {
	it.each([
		{ retry: 0, random: 0, expected: 0 },
		{ retry: 0, random: 0.5, expected: 50 },
		{ retry: 1, random: 0.5, expected: 100 },
		{ retry: 3, random: 0.5, expected: 400 },
		{ retry: 3, random: 0.999, expected: 799 },
		{ retry: 10, random: 0.5, expected: 1_000 }, // capped at 2 000
		{ retry: 10, random: 0.999, expected: 1_998 }
	])('retry $retry with random $random waits $expected ms (base 100, cap 2 000)', ({ retry, random, expected }) => {
		expect(backoffDelay(retry, { baseMs: 100, capMs: 2_000, random: () => random })).toBe(expected);
	});

	it('stays within [0, min(cap, base·2^n)) for any jitter', () => {
		for (let retry = 0; retry < 12; retry++) {
			for (let k = 0; k < 50; k++) {
				const d = backoffDelay(retry, { baseMs: 100, capMs: 5_000 });
				expect(d).toBeGreaterThanOrEqual(0);
				expect(d).toBeLessThan(Math.min(5_000, 100 * 2 ** retry));
			}
		}
	});

	it('waits the backoff between attempts, then succeeds', async () => {
		fakeClock();
		const s = createScheduler({ ...FAST, maxInFlight: 4, backoffBaseMs: 20, random: () => 0.99 });
		const at: number[] = [];
		const run = s.run(async () => {
			at.push(performance.now());
			if (at.length < 3) throw new RetryableError('server error (500)', 500);
			return 'done';
		});
		await runTimers();
		expect(await run).toBe('done');
		// 0.99 of the first and second backoff ceilings (20 and 40 ms), in the whole ms timers count.
		expect([at[1] - at[0], at[2] - at[1]]).toEqual([19, 39]);
		expect(s.stats().retries).toBe(2);
	});

	it('gives up after maxAttempts with the last cause', async () => {
		const s = createScheduler({ ...FAST, maxInFlight: 4, backoffBaseMs: 1 });
		let attempts = 0;
		const error = await s
			.run(
				async () => {
					attempts++;
					throw new RetryableError(`server error (${500 + attempts})`, 500 + attempts);
				},
				{ maxAttempts: 3 }
			)
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(AttemptsExhaustedError);
		expect((error as AttemptsExhaustedError).attempts).toBe(3);
		expect((error as AttemptsExhaustedError).cause.status).toBe(503);
		expect(attempts).toBe(3);
	});

	it('does not retry errors the attempt did not mark retryable', async () => {
		const s = createScheduler({ ...FAST, maxInFlight: 4, backoffBaseMs: 1 });
		let attempts = 0;
		const boom = new Error('row problem');
		await expect(s.run(async () => (attempts++, Promise.reject(boom)))).rejects.toBe(boom);
		expect(attempts).toBe(1);
	});

	it.each([
		{ header: '2', expected: 2_000 },
		{ header: ' 0.25 ', expected: 250 },
		{ header: 'Thu, 01 Jan 1970 00:00:03 GMT', expected: 3_000 },
		{ header: 'soon', expected: null },
		{ header: '', expected: null },
		{ header: null, expected: null },
		{ header: '-1', expected: null }
	])('reads Retry-After $header as $expected ms', ({ header, expected }) => {
		expect(parseRetryAfter(header, 0)).toBe(expected);
	});
});

describe('timeouts', () => {
	it('aborts an attempt that takes too long and retries it as a timeout', async () => {
		fakeClock();
		const s = createScheduler({ ...FAST, maxInFlight: 4, backoffBaseMs: 1 });
		const signals: AbortSignal[] = [];
		const start = performance.now();
		const run = s
			.run((signal) => (signals.push(signal), new Promise(() => {})), { timeoutMs: 40, maxAttempts: 2 })
			.catch((e: unknown) => e);
		await runTimers();
		const error = await run;
		expect(error).toBeInstanceOf(AttemptsExhaustedError);
		expect((error as Error).message).toMatch(/no answer within 40 ms \(timeout\)/);
		// Two 40 ms timeouts and a backoff of under 1 ms between them: the timeout is what ended each attempt.
		expect(performance.now() - start).toBeGreaterThanOrEqual(80);
		expect(performance.now() - start).toBeLessThanOrEqual(81);
		expect(signals.map((x) => x.aborted)).toEqual([true, true]);
		expect(s.stats()).toMatchObject({ timeouts: 2, inFlight: 0 });
	});
});

describe('cancellation', () => {
	it('a queued request aborts at once and is never sent; an in-flight one is aborted promptly', async () => {
		fakeClock();
		const s = createScheduler({ ...FAST, maxInFlight: 1 });
		const a = new AbortController();
		const b = new AbortController();
		const started: string[] = [];
		const ma = meter();
		const mb = meter();
		const first = s.run((signal) => (started.push('a'), work(5_000)(signal)), { signal: a.signal, meter: ma }).catch((e: unknown) => e);
		const second = s
			.run((signal) => (started.push('b'), work(5_000)(signal)), { signal: b.signal, meter: mb })
			.catch((e: unknown) => e);
		await elapse(10);
		expect(s.stats()).toMatchObject({ inFlight: 1, queued: 1 });
		expect(mb.waiting).toBe(1);

		// "At once": settled before the event loop turns (no timer fires on the fake clock anyway).
		b.abort();
		expect((await settledAtOnce(second)) as Error).toMatchObject({ name: 'AbortError' });
		expect(s.stats().queued).toBe(0);
		expect(mb).toEqual({ requests: 0, waiting: 0 });

		a.abort();
		expect((await settledAtOnce(first)) as Error).toMatchObject({ name: 'AbortError' });
		await elapse(5);
		expect(started).toEqual(['a']);
		expect(s.stats()).toMatchObject({ inFlight: 0, queued: 0, sent: 1 });
		expect(ma).toEqual({ requests: 1, waiting: 0 });
	});

	it('a request waiting for a rate-limit token aborts at once', async () => {
		fakeClock(); // the next token is a second away, however slowly this test runs
		const s = createScheduler({ ratePerMinute: 60, burst: 1, maxInFlight: 4 });
		await s.run(async () => 'spend the only token');
		const c = new AbortController();
		const m = meter();
		let sent = false;
		const waiting = s.run(async () => void (sent = true), { signal: c.signal, meter: m }).catch((e: unknown) => e);
		await elapse(10);
		expect(s.stats().waitingOnRateLimit).toBe(1);
		expect(m.waiting).toBe(1);
		c.abort();
		expect((await settledAtOnce(waiting)) as Error).toMatchObject({ name: 'AbortError' });
		expect(sent).toBe(false);
		expect(s.stats().waitingOnRateLimit).toBe(0);
		expect(m.waiting).toBe(0);
		s.close();
	});

	it('an abort during backoff stops the retries', async () => {
		fakeClock();
		const s = createScheduler({ ...FAST, maxInFlight: 4, backoffBaseMs: 10_000, random: () => 0.9 });
		const c = new AbortController();
		let attempts = 0;
		const run = s
			.run(async () => (attempts++, Promise.reject(new RetryableError('500', 500))), { signal: c.signal })
			.catch((e: unknown) => e);
		await elapse(10);
		expect(s.stats().backingOff).toBe(1);
		c.abort();
		expect((await settledAtOnce(run)) as Error).toMatchObject({ name: 'AbortError' });
		expect(attempts).toBe(1);
		expect(s.stats().backingOff).toBe(0);
	});

	it('an already aborted signal sends nothing', async () => {
		const s = createScheduler({ ...FAST, maxInFlight: 4 });
		let sent = false;
		await expect(s.run(async () => void (sent = true), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
		expect(sent).toBe(false);
		expect(s.stats()).toMatchObject({ queued: 0, sent: 0 });
	});
});

describe('registry and options', () => {
	it('shares one scheduler per key', () => {
		const options = { ratePerMinute: 600, maxInFlight: 5 };
		const a = getScheduler('test-key-a', options);
		expect(getScheduler('test-key-a', { ratePerMinute: 1, maxInFlight: 1 })).toBe(a);
		expect(getScheduler('test-key-b', options)).not.toBe(a);
		forgetScheduler('test-key-a');
		forgetScheduler('test-key-b');
		expect(getScheduler('test-key-a', options)).not.toBe(a);
		forgetScheduler('test-key-a');
	});

	it.each([
		{ ratePerMinute: 0, maxInFlight: 1, message: /rate limit/ },
		{ ratePerMinute: Number.NaN, maxInFlight: 1, message: /rate limit/ },
		{ ratePerMinute: 60, maxInFlight: 0, message: /maxInFlight/ },
		{ ratePerMinute: 60, maxInFlight: 2.5, message: /maxInFlight/ },
		{ ratePerMinute: 60, maxInFlight: 2, minInFlight: 3, message: /minInFlight/ },
		{ ratePerMinute: 60, maxInFlight: 2, burst: 0, message: /burst/ }
	])('refuses bad options %o', ({ message, ...options }) => {
		expect(() => createScheduler(options)).toThrow(message);
	});
});
