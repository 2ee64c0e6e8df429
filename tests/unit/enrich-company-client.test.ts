import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService, type EnrichmentServiceOptions } from '../../server/enrichment/service';
import type { EnrichCompanyRequest } from '../../server/enrichment/sixtyfour-schemas';
import { EnrichmentError, type CallMeter } from '../../server/enrichment/types';
import { openDatabase, type Db } from '../../server/store/db';
import { startFakeSixtyfour, type FakeHandler, type FakeSixtyfour } from '../helpers/fake-sixtyfour';

const COMPANY: EnrichCompanyRequest = {
	target_company: { company_name: 'Acme', website: 'https://acme.example' },
	struct: { employee_count: 'Number of employees' },
	find_people: true,
	lead_struct: { name: 'Full name', title: 'Job title' }
};
const ADA = { name: 'Ada Lovelace', title: 'CTO' };
const RESULT = { notes: 'ok', structured_data: { employee_count: 120, leads: [ADA] }, confidence_score: 8 };

/** Async API whose tasks complete after `runningPolls` polls with `result`; sync answers `result` too. */
function api(options: { result?: unknown; runningPolls?: number } = {}): FakeHandler {
	let next = 0;
	const polls = new Map<string, number>();
	const result = options.result ?? RESULT;
	return (req) => {
		if (req.path === '/enrich-company-async') return { body: { task_id: `c${++next}`, status: 'RUNNING' } };
		const id = req.path.match(/^\/job-status\/(.+)$/)?.[1];
		if (id) {
			const n = (polls.get(id) ?? 0) + 1;
			polls.set(id, n);
			if (n <= (options.runningPolls ?? 0)) return { body: { status: 'processing', id } };
			return { body: { status: 'completed', id, result, charge_amount: 10, task_type: 'company_enrichment' } };
		}
		if (req.path === '/enrich-company') return { body: { ...(result as object), cost_cents: 10 } };
		return { status: 404, body: { detail: 'Not found' } };
	};
}

let fake: FakeSixtyfour;
let db: Db;
beforeAll(async () => {
	fake = await startFakeSixtyfour(api());
});
afterAll(() => fake.close());
beforeEach(() => {
	fake.requests.length = 0;
	fake.setHandler(api());
	db = openDatabase(':memory:');
});
afterEach(() => db.close());

function service(overrides: Partial<EnrichmentServiceOptions> = {}) {
	return createEnrichmentService({
		apiKey: 'sk-test',
		baseUrl: fake.url,
		db,
		scheduler: createScheduler({ ratePerMinute: 600_000, burst: 1_000, maxInFlight: 20, backoffBaseMs: 5 }),
		maxAttempts: 2,
		polling: { initialMs: 10, minIntervalMs: 5, maxIntervalMs: 40 },
		...overrides
	});
}
const meter = (): CallMeter => ({ calls: 0, requests: 0, cached: 0, costCents: 0, waiting: 0 });
const call = (m = meter(), signal = new AbortController().signal) => ({ signal, meter: m });
const paths = () => fake.requests.map((r) => `${r.method} ${r.path}`);

describe('the people list: both documented keys, and lenient entries', () => {
	it.each<[string, unknown, unknown]>([
		['structured_data.leads', { structured_data: { employee_count: 1, leads: [ADA] } }, [ADA]],
		['structured_data.people', { structured_data: { employee_count: 1, people: [ADA] } }, [ADA]],
		['top-level people', { structured_data: { employee_count: 1 }, people: [ADA] }, [ADA]],
		['an empty list (nobody found)', { structured_data: { leads: [] } }, []],
		[
			'names only, and junk entries dropped',
			{ structured_data: { people: ['Ada Lovelace', null, 3, { name: 'Grace' }] } },
			[{ name: 'Ada Lovelace' }, { name: 'Grace' }]
		],
		['no list at all', { structured_data: { employee_count: 1 } }, null],
		['a list key that is not a list', { structured_data: { leads: 'see notes' } }, null]
	])('%s', async (_, result, people) => {
		fake.setHandler(api({ result }));
		const answer = await service({ asyncMode: { enrichCompany: false } }).enrichCompany(COMPANY, call());
		expect(answer.people).toEqual(people);
	});
});

describe('enrichCompany through the service', () => {
	it('uses the async endpoint by default, charges once, then serves the same company from the cache', async () => {
		fake.setHandler(api({ runningPolls: 1 }));
		const s = service();
		const m = meter();
		const first = await s.enrichCompany(COMPANY, call(m));
		expect(first.structured_data.employee_count).toBe(120);
		expect(first.people).toEqual([ADA]);
		expect(first.confidence_score).toBe(8);
		expect(paths()).toEqual(['POST /enrich-company-async', 'GET /job-status/c1', 'GET /job-status/c1']);
		expect(fake.requests[0].body).toEqual(COMPANY);
		const { runningAt, ...counts } = m;
		expect(counts).toEqual({ calls: 1, requests: 3, cached: 0, costCents: 10, waiting: 0 });
		expect(runningAt).toBeGreaterThan(0); // seen running at a poll: for the ETA's latency model

		const again = meter();
		const same = { ...COMPANY, target_company: { website: 'https://acme.example ', company_name: 'Acme', domain: '' } };
		expect(await s.enrichCompany(same, call(again))).toEqual(first);
		expect(fake.requests).toHaveLength(3);
		expect(again).toEqual({ calls: 0, requests: 0, cached: 1, costCents: 0, waiting: 0 });
	});

	it.each<[string, Partial<EnrichCompanyRequest>]>([
		['another focus', { people_focus_prompt: 'Engineers' }],
		['other person fields', { lead_struct: { name: 'Full name' } }],
		['without Find people', { find_people: false }]
	])('a request with %s is another cache entry', async (_, change) => {
		const s = service();
		await s.enrichCompany(COMPANY, call());
		fake.requests.length = 0;
		await s.enrichCompany({ ...COMPANY, ...change }, call());
		expect(paths()[0]).toBe('POST /enrich-company-async');
	});

	it('uses the sync endpoint when asyncMode.enrichCompany is false', async () => {
		const m = meter();
		const answer = await service({ asyncMode: { enrichCompany: false } }).enrichCompany(COMPANY, call(m));
		expect(answer.people).toEqual([ADA]);
		expect(paths()).toEqual(['POST /enrich-company']);
		expect(m).toMatchObject({ calls: 1, costCents: 10 });
	});

	it('resumes a checkpointed enrich-company task instead of paying for a new one', async () => {
		fake.setHandler(api({ runningPolls: 3 }));
		const crash = new AbortController();
		const before = service()
			.enrichCompany(COMPANY, call(meter(), crash.signal))
			.catch((e: unknown) => e);
		while (!paths().includes('GET /job-status/c1')) await new Promise((r) => setTimeout(r, 5));
		crash.abort();
		expect(await before).toMatchObject({ name: 'AbortError' });
		expect(db.prepare('SELECT endpoint, task_id FROM pending_tasks').all()).toEqual([{ endpoint: '/enrich-company', task_id: 'c1' }]);

		const m = meter();
		expect((await service().enrichCompany(COMPANY, call(m))).people).toEqual([ADA]);
		expect(paths().filter((p) => p.startsWith('POST'))).toEqual(['POST /enrich-company-async']);
		expect(m.costCents).toBe(10);
		await new Promise((resolve) => setImmediate(resolve)); // answers are written behind, one event-loop turn later
		expect(db.prepare('SELECT task_id FROM pending_tasks').all()).toEqual([]);
	});

	it.each<[string, FakeHandler | null, unknown, RegExp, boolean]>([
		['a request without target_company', null, { struct: {} }, /invalid enrich-company request \(target_company/, false],
		['a bad tier', null, { ...COMPANY, tier: 'ultra' }, /invalid enrich-company request \(tier/, false],
		[
			'an answer without structured_data',
			() => ({ body: { notes: 'x' } }),
			COMPANY,
			/unexpected answer shape \(structured_data/,
			false
		],
		['a 402', () => ({ status: 402, body: { detail: 'Insufficient credits' } }), COMPANY, /Insufficient credits/, true]
	])('%s is a clear EnrichmentError', async (_, handler, request, message, fatal) => {
		if (handler) fake.setHandler(handler);
		const error = await service({ asyncMode: { enrichCompany: false } })
			.enrichCompany(request as EnrichCompanyRequest, call())
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(EnrichmentError);
		expect((error as Error).message).toMatch(message);
		expect((error as EnrichmentError).fatal).toBe(fatal);
	});
});
