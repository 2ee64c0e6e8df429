/**
 * The fleet-wide limits in Redis (issue 11, points 2 and 7), with two Redis connections standing
 * for two processes: one API key's bucket is shared (its rate, burst, pause and learnt limit), its
 * waiting requests are served first come first served across processes, and per-client HTTP
 * limits count across processes. Plus the start-up contract: an unreachable Redis stops a process
 * with exit 1 and one line that names it (never its password).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedisRateBucket, rateBucketKey } from '../../server/scale/redis-rate-bucket';
import { createRedisClientRateLimit } from '../../server/scale/redis-client-rate-limit';
import { connectRedis, RedisStartError, ServiceUnavailableError } from '../../server/scale/redis';
import { freshRedis, type TestRedis } from '../helpers/scale-services';
import { runServerToExit } from '../helpers/server';

let redis: TestRedis;
let one: Redis;
let two: Redis;
beforeAll(async () => {
	redis = await freshRedis();
	[one, two] = await Promise.all([connectRedis(redis.url, { name: 'test-one' }), connectRedis(redis.url, { name: 'test-two' })]);
});
afterAll(async () => {
	await Promise.all([one?.quit(), two?.quit()]);
	await redis?.release();
});

describe('one API key, one bucket for every process', () => {
	it('two processes together get no more than the burst plus the refill (an upper bound: load only slows it)', async () => {
		// 600/min: burst 10, refill 590/min. 40 requests through two processes at once.
		const a = createRedisRateBucket({ redis: one, id: 'key-bound', ratePerMinute: 600 });
		const b = createRedisRateBucket({ redis: two, id: 'key-bound', ratePerMinute: 600 });
		const start = performance.now();
		const granted: number[] = [];
		await Promise.all(
			Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).acquire().then(() => granted.push(performance.now() - start)))
		);
		granted.sort((x, y) => x - y);
		granted.forEach((t, i) => {
			// The i+1-th token cannot come before burst + refill allow it (50 ms of clock slack).
			expect(i + 1, `grant ${i + 1} at ${t.toFixed(0)} ms`).toBeLessThanOrEqual(10 + ((t + 50) * 590) / 60_000 + 1);
		});
		// Each process alone would have granted its 20 at once (burst 10 each, refill ×2): together they could not.
		expect(granted[39]).toBeGreaterThan(((40 - 10 - 1) * 60_000) / 590 - 50);
	});

	it('the rate learnt from one process’s answers and its Retry-After pauses hold for the others', async () => {
		const a = createRedisRateBucket({ redis: one, id: 'key-learnt', ratePerMinute: 6_000 });
		const b = createRedisRateBucket({ redis: two, id: 'key-learnt', ratePerMinute: 6_000 });
		await b.acquire();
		expect(b.ratePerMinute).toBe(6_000);
		a.setRate(120); // what X-RateLimit-Limit said to process a
		await a.acquire();
		await b.acquire();
		expect(b.ratePerMinute).toBe(120);

		a.pause(60_000); // a Retry-After seen by a
		await a.acquire(AbortSignal.timeout(50)).catch(() => undefined);
		const waited = b.acquire(AbortSignal.timeout(300));
		await expect(waited).rejects.toThrow();
		expect(b.pausedForMs).toBeGreaterThan(50_000);
	});

	it('waiting requests are served in arrival order across processes: two busy jobs share the key evenly', async () => {
		const a = createRedisRateBucket({ redis: one, id: 'key-fair', ratePerMinute: 1_200, burst: 1 });
		const b = createRedisRateBucket({ redis: two, id: 'key-fair', ratePerMinute: 1_200, burst: 1 });
		const served = { a: 0, b: 0 };
		let total = 0;
		// Each "job" keeps 4 requests waiting, as rows in flight do, until 40 have been served.
		const job = async (bucket: typeof a, name: 'a' | 'b') => {
			while (total < 40) {
				await bucket.acquire();
				if (total++ < 40) served[name]++;
			}
		};
		await Promise.all([...Array.from({ length: 4 }, () => job(a, 'a')), ...Array.from({ length: 4 }, () => job(b, 'b'))]);
		expect(served.a + served.b).toBe(40);
		expect(Math.abs(served.a - served.b)).toBeLessThanOrEqual(6);
	});

	it('an aborted waiter leaves the line: the next one is not held up by it', async () => {
		const a = createRedisRateBucket({ redis: one, id: 'key-abort', ratePerMinute: 60, burst: 1 });
		await a.acquire(); // the burst
		const gone = new AbortController();
		const first = a.acquire(gone.signal);
		gone.abort(new Error('row cancelled'));
		await expect(first).rejects.toThrow('row cancelled');
		// Its place is given up (asynchronously: wait for it, as long as it takes).
		let left = -1;
		while (left !== 0) {
			left = await one.zcard(`${rateBucketKey('key-abort')}:line`);
			if (left !== 0) await new Promise((r) => setTimeout(r, 20));
		}
		expect(left).toBe(0);
	});

	it('refuses nonsense settings', () => {
		expect(() => createRedisRateBucket({ redis: one, id: 'x', ratePerMinute: 60, burst: 0 })).toThrow(RangeError);
		const bucket = createRedisRateBucket({ redis: one, id: 'x', ratePerMinute: 60 });
		expect(() => bucket.setRate(0)).toThrow(RangeError);
		expect(() => bucket.setRate(Number.NaN)).toThrow(RangeError);
	});
});

describe('per-client HTTP limits in Redis', () => {
	it('count across processes, per client and per rule, with a Retry-After', async () => {
		const rules = { runs: { name: 'runs', perMinute: 3 }, uploads: { name: 'uploads', perMinute: 1 } };
		const web1 = createRedisClientRateLimit({ redis: one, rules, prefix: 'test-client-rate' });
		const web2 = createRedisClientRateLimit({ redis: two, rules, prefix: 'test-client-rate' });
		expect(await web1.take('runs', '203.0.113.1')).toBeNull();
		expect(await web2.take('runs', '203.0.113.1')).toBeNull();
		expect(await web1.take('runs', '203.0.113.1')).toBeNull();
		const refused = await web2.take('runs', '203.0.113.1');
		expect(refused?.rule.name).toBe('runs');
		expect(refused?.retryAfterS).toBeGreaterThanOrEqual(1);
		expect(refused?.retryAfterS).toBeLessThanOrEqual(20);
		expect(await web1.take('runs', '203.0.113.2')).toBeNull(); // another client
		expect(await web1.take('uploads', '203.0.113.1')).toBeNull(); // another rule
		expect(await web1.take('nope' as 'runs', '203.0.113.1')).toBeNull(); // a rule not configured never refuses
	});

	it('answer 503 while Redis cannot be reached', async () => {
		const lost = await connectRedis(redis.url, { name: 'test-lost' });
		lost.disconnect();
		const web = createRedisClientRateLimit({ redis: lost, rules: { runs: { name: 'runs', perMinute: 3 } } });
		const failure = await Promise.resolve(web.take('runs', '203.0.113.9')).catch((err: unknown) => err);
		expect(failure).toBeInstanceOf(ServiceUnavailableError);
		expect((failure as ServiceUnavailableError).status).toBe(503);
	});

	it('refuse a bad rule at start', () => {
		expect(() => createRedisClientRateLimit({ redis: one, rules: { runs: { name: 'runs', perMinute: -1 } } })).toThrow(/runs/);
	});
});

describe('starting without Redis', () => {
	it('connectRedis names the unreachable Redis, without its password', async () => {
		const failure = await connectRedis('redis://user:hunter2@127.0.0.1:1/0', { name: 'x', connectTimeoutMs: 2_000 }).catch(
			(e: unknown) => e
		);
		expect(failure).toBeInstanceOf(RedisStartError);
		expect((failure as Error).message).toMatch(/REDIS_URL/);
		expect((failure as Error).message).not.toMatch(/hunter2/);
	});

	it('a process with an unreachable REDIS_URL exits 1 with one line naming it', async () => {
		for (const role of ['web', 'worker', 'all']) {
			const { code, stderr } = await runServerToExit({
				PORT: '0',
				DATA_DIR: '/tmp/leadflow-never-used',
				ROLE: role,
				REDIS_URL: 'redis://:hunter2@127.0.0.1:1/3',
				DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test'
			});
			expect(code, role).toBe(1);
			const lines = stderr.trim().split('\n');
			expect(lines, stderr).toHaveLength(1);
			expect(lines[0]).toMatch(/^Cannot start: Redis at redis:\/\/127\.0\.0\.1:1\/3 \(REDIS_URL\) is unreachable/);
			expect(stderr).not.toMatch(/hunter2/);
		}
	});

	it('a role without the services exits 1 with one line', async () => {
		const { code, stderr } = await runServerToExit({ PORT: '0', DATA_DIR: '/tmp/leadflow-never-used', ROLE: 'worker' });
		expect(code).toBe(1);
		expect(stderr.trim().split('\n')).toHaveLength(1);
		expect(stderr).toMatch(/ROLE/);
	});
});
