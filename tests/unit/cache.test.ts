import { sql } from 'kysely';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createResponseCache, type MissContext } from '../../server/enrichment/cache';
import { normaliseRequest, requestKey } from '../../server/enrichment/request-key';
import type { CallMeter } from '../../server/enrichment/types';
import type { Store } from '../../server/store/store';
import { testBackends } from '../helpers/backends';

/** Answers reach the database once the write behind them (one turn of the event loop later) is done. */
const writtenBehind = (cache: { flush(): Promise<void> }) => cache.flush();

/**
 * Waits, turn by turn, until `ready()` holds: a lookup may be a PostgreSQL round trip, which on a
 * loaded machine outlasts any fixed number of turns (10,000 turns once took less than one), so
 * the give-up bound is generous wall time — a hang guard, not a speed check.
 */
async function until(ready: () => boolean): Promise<void> {
	const deadline = Date.now() + 20_000;
	while (!ready()) {
		if (Date.now() > deadline) throw new Error('never became ready');
		await new Promise((resolve) => setImmediate(resolve));
	}
}

const meter = (): CallMeter => ({ calls: 0, requests: 0, cached: 0, costCents: 0, waiting: 0 });
const call = (m = meter(), signal = new AbortController().signal) => ({ signal, meter: m });
const REQUEST = { lead: { name: 'Ada', company: 'AE' } };

/** A miss function whose calls are counted and whose completion the test controls. */
function controlledMiss<T>(value: T, cost = 5) {
	const calls: MissContext[] = [];
	let release!: () => void;
	let fail!: (e: unknown) => void;
	const gate = new Promise<void>((resolve, reject) => {
		release = resolve;
		fail = reject;
	});
	const miss = async (ctx: MissContext) => {
		calls.push(ctx);
		ctx.meter.requests++;
		await gate;
		ctx.meter.costCents += cost;
		return { value, costCents: cost };
	};
	return { miss, calls, release: () => release(), fail: (e: unknown) => fail(e) };
}

describe('request keys', () => {
	it.each([
		{ name: 'key order', a: { lead: { name: 'Ada', company: 'AE' } }, b: { lead: { company: 'AE', name: 'Ada' } }, same: true },
		{ name: 'surrounding spaces', a: { lead: { name: ' Ada ' } }, b: { lead: { name: 'Ada' } }, same: true },
		{
			name: 'empty and null values',
			a: { lead: { name: 'Ada', email: '', phone: null, x: '  ' } },
			b: { lead: { name: 'Ada' } },
			same: true
		},
		{
			name: 'nested struct order',
			a: { struct: { b: 'x', a: { type: 'bool', description: 'd' } } },
			b: { struct: { a: { description: 'd', type: 'bool' }, b: 'x' } },
			same: true
		},
		{ name: 'a different value', a: { lead: { name: 'Ada' } }, b: { lead: { name: 'Bob' } }, same: false },
		{ name: 'case', a: { lead: { name: 'Ada' } }, b: { lead: { name: 'ada' } }, same: false },
		{ name: 'number vs string', a: { lead: { n: 1 } }, b: { lead: { n: '1' } }, same: false },
		{ name: 'array order', a: { tags: ['a', 'b'] }, b: { tags: ['b', 'a'] }, same: false }
	])('$name → same key: $same', ({ a, b, same }) => {
		expect(requestKey('/find-email', a) === requestKey('/find-email', b)).toBe(same);
	});

	it('includes the endpoint', () => {
		expect(requestKey('/find-email', REQUEST)).not.toBe(requestKey('/enrich-lead', REQUEST));
		expect(requestKey('/find-email', REQUEST)).toMatch(/^[0-9a-f]{64}$/);
	});

	it('normalises to sorted, trimmed, non-empty values', () => {
		expect(normaliseRequest({ b: ' x ', a: [' y ', null], c: { d: '' } })).toEqual({ a: ['y', null], b: 'x', c: {} });
		expect(JSON.stringify(normaliseRequest({ b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
	});
});

describe.each(testBackends())('the response cache on $name', (backend) => {
	let db: Store;
	beforeEach(async () => {
		db = await backend.open();
	});
	afterAll(() => backend.cleanup());

	describe('getOrCall', () => {
		it('misses once, then serves the stored answer for free, also to a new cache over the same database', async () => {
			const cache = createResponseCache({ db });
			const { miss, calls, release } = controlledMiss({ email: 'ada@ae.example' });
			release();
			const m1 = meter();
			expect(await cache.getOrCall('/find-email', REQUEST, call(m1), miss)).toEqual({ email: 'ada@ae.example' });
			const m2 = meter();
			expect(await cache.getOrCall('/find-email', { lead: { company: 'AE', name: ' Ada' } }, call(m2), miss)).toEqual({
				email: 'ada@ae.example'
			});
			expect(calls).toHaveLength(1);
			expect(m1).toEqual({ calls: 1, requests: 1, cached: 0, costCents: 5, waiting: 0 });
			expect(m2).toEqual({ calls: 0, requests: 0, cached: 1, costCents: 0, waiting: 0 });
			expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, joined: 0 });

			const reopened = createResponseCache({ db });
			expect(await reopened.getOrCall('/find-email', REQUEST, call(), miss)).toEqual({ email: 'ada@ae.example' });
			expect(calls).toHaveLength(1);
			await writtenBehind(cache);
			expect(await db.db.selectFrom('cache').select(['endpoint', 'cost_cents']).execute()).toEqual([
				{ endpoint: '/find-email', cost_cents: 5 }
			]);
			// A restarted process (a second handle) reads it from the database, not from memory.
			const restarted = createResponseCache({ db: await backend.reopen() });
			expect(await restarted.getOrCall('/find-email', REQUEST, call(), miss)).toEqual({ email: 'ada@ae.example' });
			expect(calls).toHaveLength(1);
		});

		it('keeps a paid answer whose write failed (the database blipped) and writes it once it can', async () => {
			const cache = createResponseCache({ db });
			// The write behind the answer also clears its task checkpoint: without that table, the write fails.
			await sql`ALTER TABLE pending_tasks RENAME TO pending_away`.execute(db.db);
			try {
				expect(await cache.getOrCall('/find-email', REQUEST, call(), async () => ({ value: 'paid', costCents: 5 }))).toBe('paid');
				await writtenBehind(cache);
				expect(cache.stats().storeErrors).toBeGreaterThan(0);
				// Not written, not dropped: still served, without a second call.
				expect(await cache.peek('/find-email', REQUEST)).toBe('paid');
			} finally {
				await sql`ALTER TABLE pending_away RENAME TO pending_tasks`.execute(db.db);
			}
			await writtenBehind(cache);
			expect(await db.db.selectFrom('cache').select(['endpoint', 'cost_cents']).execute()).toEqual([
				{ endpoint: '/find-email', cost_cents: 5 }
			]);
			expect(await createResponseCache({ db: await backend.reopen() }).peek('/find-email', REQUEST)).toBe('paid');
		});

		it('does not cache errors', async () => {
			const cache = createResponseCache({ db });
			let n = 0;
			const miss = async () => {
				if (n++ === 0) throw new Error('row failed');
				return { value: 'ok', costCents: 0 };
			};
			await expect(cache.getOrCall('/enrich-lead', REQUEST, call(), miss)).rejects.toThrow('row failed');
			expect(await cache.getOrCall('/enrich-lead', REQUEST, call(), miss)).toBe('ok');
			expect(n).toBe(2);
			expect(cache.stats()).toMatchObject({ hits: 0, misses: 2 });
		});

		it('shares one call between identical concurrent requests; the sharer counts as cached', async () => {
			const cache = createResponseCache({ db });
			const { miss, calls, release } = controlledMiss('answer');
			const [m1, m2, m3] = [meter(), meter(), meter()];
			const results = [
				cache.getOrCall('/x', REQUEST, call(m1), miss),
				cache.getOrCall('/x', REQUEST, call(m2), miss),
				cache.getOrCall('/x', { lead: { name: 'Bob' } }, call(m3), miss)
			];
			await until(() => calls.length === 2);
			await until(() => cache.stats().joined === 1);
			expect(calls).toHaveLength(2); // Ada once, Bob once
			release();
			expect(await Promise.all(results)).toEqual(['answer', 'answer', 'answer']);
			expect(m1).toMatchObject({ calls: 1, cached: 0, costCents: 5 });
			expect(m2).toMatchObject({ calls: 0, cached: 1, costCents: 0 });
			expect(cache.stats()).toMatchObject({ misses: 2, joined: 1 });
		});

		it('shares the failure too, and the next request tries again', async () => {
			const cache = createResponseCache({ db });
			const { miss, calls, fail } = controlledMiss('never');
			const a = cache.getOrCall('/x', REQUEST, call(), miss).catch((e: unknown) => e);
			const b = cache.getOrCall('/x', REQUEST, call(), miss).catch((e: unknown) => e);
			await until(() => calls.length === 1 && cache.stats().joined === 1);
			fail(new Error('500 five times'));
			expect(await a).toMatchObject({ message: '500 five times' });
			expect(await b).toMatchObject({ message: '500 five times' });
			expect(calls).toHaveLength(1);
			const again = controlledMiss('ok');
			again.release();
			expect(await cache.getOrCall('/x', REQUEST, call(), again.miss)).toBe('ok');
		});

		it('goes on for the others when the first caller aborts, moving its accounting to them', async () => {
			const cache = createResponseCache({ db });
			const { miss, calls, release } = controlledMiss('answer', 5);
			const first = new AbortController();
			const [m1, m2] = [meter(), meter()];
			const a = cache.getOrCall('/x', REQUEST, call(m1, first.signal), miss).catch((e: unknown) => e);
			// The second asks once the first's call is under way: on PostgreSQL the two lookups could
			// otherwise come back in either order, and the second start the call.
			await until(() => calls.length === 1);
			const b = cache.getOrCall('/x', REQUEST, call(m2), miss);
			await until(() => cache.stats().joined === 1);
			calls[0].meter.waiting++; // the shared request is held by the limiter right now
			expect(m1.waiting).toBe(1);
			first.abort();
			expect(await a).toMatchObject({ name: 'AbortError' });
			expect(calls[0].signal.aborted).toBe(false);
			expect([m1.waiting, m2.waiting]).toEqual([0, 1]);
			calls[0].meter.waiting--;
			release();
			expect(await b).toBe('answer');
			expect(m2).toMatchObject({ costCents: 5, waiting: 0, cached: 0 });
			expect(m1.costCents).toBe(0);
		});

		it('cancels the shared call when every caller has aborted, and starts afresh after', async () => {
			const cache = createResponseCache({ db });
			const { miss, calls } = controlledMiss('never');
			const [c1, c2] = [new AbortController(), new AbortController()];
			const a = cache.getOrCall('/x', REQUEST, call(meter(), c1.signal), miss).catch((e: unknown) => e);
			const b = cache.getOrCall('/x', REQUEST, call(meter(), c2.signal), miss).catch((e: unknown) => e);
			await until(() => calls.length === 1 && cache.stats().joined === 1);
			c1.abort();
			expect(calls[0].signal.aborted).toBe(false);
			c2.abort();
			expect(calls[0].signal.aborted).toBe(true);
			await Promise.all([a, b]);
			const fresh = controlledMiss('new');
			fresh.release();
			expect(await cache.getOrCall('/x', REQUEST, call(), fresh.miss)).toBe('new');
			await expect(cache.getOrCall('/x', REQUEST, call(meter(), AbortSignal.abort()), miss)).rejects.toMatchObject({
				name: 'AbortError'
			});
		});

		it.each([
			{ ttlMs: 0, ageMs: 10 * 365 * 86_400_000, hit: true },
			{ ttlMs: 1_000, ageMs: 999, hit: true },
			{ ttlMs: 1_000, ageMs: 1_001, hit: false }
		])('TTL $ttlMs ms, answer $ageMs ms old → hit: $hit', async ({ ttlMs, ageMs, hit }) => {
			let now = 1_000_000;
			const cache = createResponseCache({ db, ttlMs, now: () => now });
			let n = 0;
			const miss = async () => ({ value: ++n, costCents: 0 });
			await cache.getOrCall('/x', REQUEST, call(), miss);
			now += ageMs;
			expect(await cache.getOrCall('/x', REQUEST, call(), miss)).toBe(hit ? 1 : 2);
		});

		it('treats a damaged row as a miss and repairs it', async () => {
			const cache = createResponseCache({ db });
			await db.db
				.insertInto('cache')
				.values({ key: requestKey('/x', REQUEST), endpoint: '/x', response: '{"trunc', cost_cents: 0, created_at: 0 })
				.execute();
			expect(await cache.getOrCall('/x', REQUEST, call(), async () => ({ value: 'fresh', costCents: 0 }))).toBe('fresh');
			expect(await cache.peek('/x', REQUEST)).toBe('fresh');
			await writtenBehind(cache);
			expect(await createResponseCache({ db: await backend.reopen() }).peek('/x', REQUEST)).toBe('fresh');
		});

		it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a TTL of %s', (ttlMs) => {
			expect(() => createResponseCache({ db, ttlMs })).toThrow(/TTL/);
		});
	});

	describe('pending tasks', () => {
		it('records a task id, returns it, and forgets it once the answer is stored', async () => {
			const cache = createResponseCache({ db, now: () => 42 });
			const key = cache.key('/enrich-lead', REQUEST);
			expect(await cache.pendingTask(key)).toBeNull();
			await cache.savePendingTask(key, '/enrich-lead', 'task-9');
			expect(await cache.pendingTask(key)).toEqual({ taskId: 'task-9', endpoint: '/enrich-lead', createdAt: 42 });
			expect((await createResponseCache({ db: await backend.reopen() }).pendingTask(key))?.taskId).toBe('task-9'); // survives a restart
			await cache.savePendingTask(key, '/enrich-lead', 'task-9b'); // a resubmitted task replaces the old id
			expect((await cache.pendingTask(key))?.taskId).toBe('task-9b');
			await cache.getOrCall('/enrich-lead', REQUEST, call(), async () => ({ value: 'done', costCents: 0 }));
			expect(await cache.pendingTask(key)).toBeNull();
			await writtenBehind(cache);
			expect(await db.db.selectFrom('pending_tasks').selectAll().execute()).toEqual([]);
			await cache.savePendingTask(key, '/enrich-lead', 'task-10');
			await cache.clearPendingTask(key);
			expect(await cache.pendingTask(key)).toBeNull();
		});
	});
});
