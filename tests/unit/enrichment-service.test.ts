import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createScheduler, forgetScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService, schedulerKey, type EnrichmentServiceOptions } from '../../server/enrichment/service';
import { EnrichmentError, type CallMeter } from '../../server/enrichment/types';
import type { EnrichLeadRequest } from '../../server/enrichment/sixtyfour-schemas';
import { openDatabase, type Db } from '../../server/store/db';
import { startFakeSixtyfour, type FakeHandler, type FakeSixtyfour } from '../helpers/fake-sixtyfour';

/** Answers reach SQLite one turn of the event loop after they arrive (written behind, batched). */
const writtenBehind = () => new Promise((resolve) => setImmediate(resolve));

const LEAD: EnrichLeadRequest = { lead_info: { name: 'Ada Lovelace', company: 'AE' }, struct: { title: 'Current job title' } };
const RESULT = { notes: null, structured_data: { title: 'Countess' }, confidence_score: 0.92 };

/** A fake async API: tasks complete after `runningPolls` polls; `gone` task ids answer 404. */
function asyncApi(options: { runningPolls?: number; end?: Record<string, unknown>; gone?: Set<string> } = {}): FakeHandler {
	let next = 0;
	const polls = new Map<string, number>();
	return (req) => {
		if (req.path === '/enrich-lead-async') return { body: { task_id: `t${++next}`, status: 'queued' } };
		const id = req.path.match(/^\/job-status\/(.+)$/)?.[1];
		if (id && !options.gone?.has(id)) {
			const n = (polls.get(id) ?? 0) + 1;
			polls.set(id, n);
			if (n <= (options.runningPolls ?? 0)) return { body: { status: 'running', id } };
			return { body: options.end ?? { status: 'completed', id, result: RESULT, charge_amount: 5 } };
		}
		if (req.path === '/enrich-lead') return { body: { ...RESULT, cost_cents: 3 } };
		if (req.path === '/find-email')
			return { body: { ...(req.body as object), email: [['ada@ae.example', 'OK', 'COMPANY']], cost_cents: 5 } };
		return { status: 404, body: { detail: 'Job not found' } };
	};
}

let fake: FakeSixtyfour;
let db: Db;
beforeAll(async () => {
	fake = await startFakeSixtyfour(asyncApi());
});
afterAll(() => fake.close());
beforeEach(() => {
	fake.requests.length = 0;
	db = openDatabase(':memory:');
});
afterEach(() => db.close());

function service(overrides: Partial<EnrichmentServiceOptions> = {}) {
	return createEnrichmentService({
		apiKey: 'sk-test',
		baseUrl: fake.url,
		db,
		scheduler: createScheduler({ ratePerMinute: 600_000, burst: 1_000, maxInFlight: 20, backoffBaseMs: 5 }),
		maxAttempts: 3,
		polling: { initialMs: 10, minIntervalMs: 5, maxIntervalMs: 40 },
		...overrides
	});
}
const meter = (): CallMeter => ({ calls: 0, requests: 0, cached: 0, costCents: 0, waiting: 0 });
const call = (m = meter(), signal = new AbortController().signal) => ({ signal, meter: m });
const paths = () => fake.requests.map((r) => `${r.method} ${r.path}`);
const pendingRows = () => db.prepare('SELECT task_id FROM pending_tasks').all();

describe('enrich-lead', () => {
	it('uses the async endpoint by default, then serves the same lead from the cache', async () => {
		fake.setHandler(asyncApi({ runningPolls: 1 }));
		const s = service();
		const m = meter();
		const first = await s.enrichLead(LEAD, call(m));
		expect(first.structured_data).toEqual({ title: 'Countess' });
		expect(first).not.toHaveProperty('cost_cents');
		expect(paths()).toEqual(['POST /enrich-lead-async', 'GET /job-status/t1', 'GET /job-status/t1']);
		const { runningAt, ...counts } = m;
		expect(counts).toEqual({ calls: 1, requests: 3, cached: 0, costCents: 5, waiting: 0 });
		// The task was seen running (the second poll found it done): when, for the ETA's latency model.
		expect(runningAt).toBeGreaterThan(0);
		await writtenBehind();
		expect(pendingRows()).toEqual([]);

		const again = meter();
		expect(await s.enrichLead({ ...LEAD, lead_info: { company: 'AE ', name: 'Ada Lovelace', email: '' } }, call(again))).toEqual(first);
		expect(fake.requests).toHaveLength(3);
		expect(again).toEqual({ calls: 0, requests: 0, cached: 1, costCents: 0, waiting: 0 });
		expect(s.stats().cache).toMatchObject({ hits: 1, misses: 1 });
	});

	it('uses the sync endpoint when asyncMode.enrichLead is false', async () => {
		const m = meter();
		const result = await service({ asyncMode: { enrichLead: false } }).enrichLead(LEAD, call(m));
		expect(result.structured_data.title).toBe('Countess');
		expect(paths()).toEqual(['POST /enrich-lead']);
		expect(m).toMatchObject({ calls: 1, costCents: 3 });
	});

	it('calls once for identical leads in flight together', async () => {
		fake.setHandler(asyncApi({ runningPolls: 2 }));
		const s = service();
		const meters = [meter(), meter(), meter()];
		const results = await Promise.all(meters.map((m) => s.enrichLead(LEAD, call(m))));
		expect(results[1]).toEqual(results[0]);
		expect(paths().filter((p) => p.startsWith('POST'))).toEqual(['POST /enrich-lead-async']);
		expect(meters.map((m) => m.cached)).toEqual([0, 1, 1]);
		expect(meters[0].costCents).toBe(5);
		expect(s.stats().cache.joined).toBe(2);
	});

	it('resumes a checkpointed task after a "crash" instead of paying for a new one', async () => {
		fake.setHandler(asyncApi({ runningPolls: 3 }));
		const crash = new AbortController();
		const before = service()
			.enrichLead(LEAD, call(meter(), crash.signal))
			.catch((e: unknown) => e);
		while (!paths().includes('GET /job-status/t1')) await new Promise((r) => setTimeout(r, 5));
		crash.abort(); // the process dies mid-poll
		expect(await before).toMatchObject({ name: 'AbortError' });
		expect(pendingRows()).toEqual([{ task_id: 't1' }]);

		const m = meter();
		const restarted = service(); // new client and cache over the same database
		expect((await restarted.enrichLead(LEAD, call(m))).structured_data.title).toBe('Countess');
		expect(paths().filter((p) => p.startsWith('POST'))).toEqual(['POST /enrich-lead-async']);
		expect(paths().at(-1)).toBe('GET /job-status/t1');
		expect(m.costCents).toBe(5);
		await writtenBehind();
		expect(pendingRows()).toEqual([]);
	});

	it('polls a task checkpointed long ago (a restart after 25 minutes) instead of giving up on it', async () => {
		fake.setHandler(asyncApi({ runningPolls: 1 }));
		const s = service();
		s.cache.savePendingTask(s.cache.key('/enrich-lead', LEAD), '/enrich-lead', 't1');
		db.prepare('UPDATE pending_tasks SET created_at = created_at - ?').run(25 * 60_000);
		const m = meter();
		expect((await s.enrichLead(LEAD, call(m))).structured_data.title).toBe('Countess');
		expect(paths().filter((p) => p.startsWith('POST'))).toEqual([]);
		expect(m.costCents).toBe(5);
	});

	it('submits afresh when the checkpointed task is unknown to the server', async () => {
		fake.setHandler(asyncApi({ gone: new Set(['t-old']) }));
		const s = service();
		s.cache.savePendingTask(s.cache.key('/enrich-lead', LEAD), '/enrich-lead', 't-old');
		expect((await s.enrichLead(LEAD, call())).structured_data.title).toBe('Countess');
		expect(paths()).toEqual(['GET /job-status/t-old', 'POST /enrich-lead-async', 'GET /job-status/t1']);
		await writtenBehind();
		expect(pendingRows()).toEqual([]);
	});

	it('forgets a task that ended failed, and does not cache the error', async () => {
		fake.setHandler(asyncApi({ end: { status: 'failed', error: 'no such person' } }));
		const s = service();
		await expect(s.enrichLead(LEAD, call())).rejects.toThrow(/ended failed: no such person/);
		await writtenBehind();
		expect(pendingRows()).toEqual([]);
		fake.setHandler(asyncApi());
		fake.requests.length = 0;
		expect((await s.enrichLead(LEAD, call())).structured_data.title).toBe('Countess');
		expect(paths()[0]).toBe('POST /enrich-lead-async');
	});

	it('keeps the checkpoint when polling gives up on server errors (the task may still finish)', async () => {
		const api = asyncApi();
		fake.setHandler((req, i) => (req.path.startsWith('/job-status') ? { status: 502, body: 'bad gateway' } : api(req, i)));
		await expect(service().enrichLead(LEAD, call())).rejects.toThrow(/server error \(502\)/);
		expect(pendingRows()).toEqual([{ task_id: 't1' }]);
	});

	it('fails every sharer with the fatal 401', async () => {
		fake.setHandler(() => ({ status: 401, body: { detail: 'Invalid API key' } }));
		const s = service();
		const errors = await Promise.all([s.enrichLead(LEAD, call()), s.enrichLead(LEAD, call())].map((p) => p.catch((e: unknown) => e)));
		for (const e of errors)
			expect(e).toMatchObject({ fatal: true, status: 401, message: expect.stringMatching(/rejected the API key/) });
		expect(fake.requests).toHaveLength(1);
		expect(db.prepare('SELECT count(*) AS n FROM cache').get()).toEqual({ n: 0 });
	});
});

describe('find-email', () => {
	it('is synchronous and cached; an absent mode is keyed as PROFESSIONAL', async () => {
		fake.setHandler(asyncApi());
		const s = service();
		const m = meter();
		const answer = await s.findEmail({ lead: { name: 'Ada', company: 'AE' } }, call(m));
		expect(answer.email?.[0]).toMatchObject({ address: 'ada@ae.example', status: 'OK' });
		expect(answer.cost_cents).toBeNull();
		expect(m).toMatchObject({ calls: 1, costCents: 5 });
		const again = meter();
		await s.findEmail({ lead: { name: 'Ada', company: 'AE' }, mode: 'PROFESSIONAL' }, call(again));
		expect(again).toMatchObject({ calls: 0, cached: 1, costCents: 0 });
		await s.findEmail({ lead: { name: 'Ada', company: 'AE' }, mode: 'PERSONAL' }, call());
		expect(paths()).toEqual(['POST /find-email', 'POST /find-email']);
	});
});

describe('setup', () => {
	it.each(['', '   '])('refuses an empty API key (%j) with a fatal error', (apiKey) => {
		expect(() => service({ apiKey })).toThrow(EnrichmentError);
		expect(() => service({ apiKey })).toThrow(/API key is required/);
	});

	it('shares one scheduler between services of the same key', async () => {
		fake.setHandler(asyncApi());
		const options = { scheduler: undefined, apiKey: 'sk-shared', rateLimitPerMinute: 60_000 };
		const a = service(options);
		const b = service(options);
		await a.findEmail({ lead: { name: 'A' } }, call());
		await b.findEmail({ lead: { name: 'B' } }, call());
		expect(a.stats().scheduler.sent).toBe(2);
		expect(service({ ...options, apiKey: 'sk-other' }).stats().scheduler.sent).toBe(0);
		forgetScheduler(schedulerKey(fake.url, 'sk-shared'));
		forgetScheduler(schedulerKey(fake.url, 'sk-other'));
	});
});

describe('many rows on one job signal', () => {
	it('serves 40 concurrent rows sharing one AbortSignal without a listener-leak warning', async () => {
		fake.setHandler(asyncApi());
		const warnings: string[] = [];
		const onWarning = (w: Error) => warnings.push(w.name);
		process.on('warning', onWarning);
		const job = new AbortController();
		const s = service();
		await Promise.all(Array.from({ length: 40 }, (_, i) => s.findEmail({ lead: { name: `Lead ${i}` } }, call(meter(), job.signal))));
		await new Promise((r) => setTimeout(r, 10));
		process.off('warning', onWarning);
		expect(warnings).not.toContain('MaxListenersExceededWarning');
		expect(fake.requests).toHaveLength(40);
	});
});
