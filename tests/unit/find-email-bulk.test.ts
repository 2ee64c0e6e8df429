/**
 * Bulk find-email: rows grouped into `/find-email-bulk` requests give the same rows, cost and cache
 * entries as single lookups for a fraction of the requests; an answer shape we do not recognise
 * falls back to single lookups (noticed once); a failed bulk request fails each of its rows.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as v from 'valibot';
import { readBulkAnswer } from '../../server/enrichment/find-email-batcher';
import { createScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService, type EnrichmentServiceOptions } from '../../server/enrichment/service';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import { runJob } from '../../server/engine/run-job';
import { openDatabase, type Db } from '../../server/store/db';
import type { Row } from '../../src/lib/workflow/schema';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { startFakeSixtyfour, type FakeHandler, type FakeSixtyfour } from '../helpers/fake-sixtyfour';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import { RUNNERS } from '../../server/blocks';

const ROWS = 240;
let tmp: TempDir;
let db: Db;
beforeAll(async () => {
	tmp = await makeTempDir();
	await writeLeadsCsv(join(tmp.dir, 'uploads/bulk-leads.csv'), ROWS);
});
afterAll(() => tmp.cleanup());
beforeEach(() => {
	db = openDatabase(':memory:');
});
afterEach(() => db.close());

const workflow = v.parse(WorkflowSchema, {
	name: 'bulk',
	blocks: [
		{
			id: 'read',
			type: 'read_csv',
			params: { path: 'uploads/bulk-leads.csv' }
		},
		{
			id: 'email',
			type: 'find_email',
			params: { only_missing: false, concurrency: 60 }
		}
	]
});

function service(baseUrl: string, overrides: Partial<EnrichmentServiceOptions> = {}) {
	return createEnrichmentService({
		apiKey: 'sk-test',
		baseUrl,
		db,
		scheduler: createScheduler({
			ratePerMinute: 600_000,
			burst: 1_000,
			maxInFlight: 50,
			backoffBaseMs: 5
		}),
		maxAttempts: 2,
		...overrides
	});
}

async function run(enrichment: ReturnType<typeof service>, limit = ROWS) {
	const rows: Row[] = [];
	const result = await runJob({
		runners: RUNNERS,
		jobId: 'j',
		workflow,
		options: { row_limit: limit },
		dataDir: tmp.dir,
		enrichment,
		onRows: (b) => void rows.push(...b)
	});
	return { result, rows };
}

describe('against the simulator', () => {
	let sim: RunningSimulator;
	beforeAll(async () => {
		sim = await startSimulator({ seed: 3 });
	});
	afterAll(() => sim.close());
	beforeEach(() => sim.reset());

	it('gives the rows and cost of single lookups at ≤ 0.05 requests per row, each row cached on its own', async () => {
		const single = await run(service(sim.url));
		const singleStats = sim.stats();
		expect(singleStats.calls['/find-email']).toBe(ROWS);

		db.close();
		db = openDatabase(':memory:');
		sim.reset();
		const bulk = await run(service(sim.url, { findEmailBulk: true }));
		const stats = sim.stats();
		expect(bulk.result.status).toBe('completed');
		expect(stats.calls['/find-email'] ?? 0).toBe(0);
		expect(stats.requests / ROWS).toBeLessThanOrEqual(0.05);
		expect(bulk.rows).toEqual(single.rows);
		const block = bulk.result.blocks[1];
		expect(block).toMatchObject({
			calls: ROWS,
			requests: stats.requests,
			errors: 0,
			cost_cents: single.result.blocks[1].cost_cents
		});
		expect(stats.duplicates_paid).toBe(0);

		// Each row has its own cache entry: a re-run, or a run of fewer rows, asks the API nothing.
		sim.reset();
		const again = await run(service(sim.url, { findEmailBulk: true }), 50);
		expect(sim.stats().requests).toBe(0);
		expect(again.result.blocks[1]).toMatchObject({ calls: 0, cached: 50 });
	}, 30_000);
});

describe('against a scripted API', () => {
	let fake: FakeSixtyfour;
	const single = (lead: Record<string, unknown>) => ({
		...lead,
		email: [[`${String(lead.name).split(' ')[0]!.toLowerCase()}@x.example`, 'OK', 'COMPANY']],
		cost_cents: 5
	});
	const answers = (body: unknown) => ((body as { leads: Record<string, unknown>[] }).leads ?? []).map(single);
	beforeAll(async () => {
		fake = await startFakeSixtyfour(() => ({ status: 500 }));
	});
	afterAll(() => fake.close());
	beforeEach(() => {
		fake.requests.length = 0;
	});
	const use = (bulk: (body: unknown) => ReturnType<FakeHandler>) =>
		fake.setHandler((req) =>
			req.path === '/find-email' ? { body: single((req.body as { lead: Record<string, unknown> }).lead) } : bulk(req.body)
		);

	it.each([
		{
			case: 'a list under another key',
			answer: (b: unknown) => ({ body: { data: answers(b) } })
		},
		{ case: 'a bare list', answer: (b: unknown) => ({ body: answers(b) }) },
		{
			case: 'one result short',
			answer: (b: unknown) => ({ body: { results: answers(b).slice(1) } })
		},
		{
			case: 'results out of order',
			answer: (b: unknown) => ({ body: { results: answers(b).reverse() } })
		},
		{
			case: 'an entry that is not an answer',
			answer: (b: unknown) => ({
				body: { results: answers(b).map((a, i) => (i === 0 ? 'oops' : a)) }
			})
		}
	])('$case: falls back to single lookups, noticed once, rows still right', async ({ answer }) => {
		use(answer);
		const notices: string[] = [];
		const { result, rows } = await run(
			service(fake.url, {
				findEmailBulk: { lingerMs: 5, maxBatch: 10 },
				onNotice: (m) => notices.push(m)
			}),
			30
		);
		expect(result.status).toBe('completed');
		expect(result.blocks[1].errors).toBe(0);
		expect(rows.every((r) => r.email === `${String(r.name).split(' ')[0]!.toLowerCase()}@x.example`)).toBe(true);
		expect(fake.requests.filter((r) => r.path === '/find-email-bulk').length).toBeGreaterThanOrEqual(3);
		expect(fake.requests.filter((r) => r.path === '/find-email').length).toBe(30);
		expect(notices).toHaveLength(1);
		expect(notices[0]).toMatch(/find-email-bulk answered a shape we do not recognise/);
	});

	it('a bulk request that keeps failing fails each of its rows with that error', async () => {
		use(() => ({ status: 500, body: { detail: 'bulk broke' } }));
		const { result, rows } = await run(service(fake.url, { findEmailBulk: { lingerMs: 5 } }), 12);
		expect(result.status).toBe('completed');
		expect(result.blocks[1].errors).toBe(12);
		expect(rows.every((r) => /Find Email: .*find-email-bulk.*bulk broke/.test(String(r._error)))).toBe(true);
		expect(fake.requests.filter((r) => r.path === '/find-email').length).toBe(0);
	});

	it('a 401 on the bulk request stops the job, as on a single lookup', async () => {
		use(() => ({ status: 401, body: { detail: 'Invalid API key' } }));
		const { result } = await run(service(fake.url, { findEmailBulk: { lingerMs: 5 } }), 12);
		expect(result.status).toBe('failed');
		expect(result.error).toMatch(/401/);
	});
});

describe('readBulkAnswer', () => {
	const leads = [{ name: 'Ada' }, { name: 'Alan' }];
	it.each([
		{
			case: 'the known shape',
			raw: {
				results: [
					{ name: 'Ada', email: [] },
					{ name: 'Alan', email: null }
				]
			},
			ok: true
		},
		{
			case: 'entries that echo nothing',
			raw: { results: [{ email: [] }, { email: [] }] },
			ok: true
		},
		{ case: 'null', raw: null, ok: false },
		{
			case: 'an extra top-level key',
			raw: { results: [{}, {}], next: 'x' },
			ok: false
		},
		{ case: 'too many results', raw: { results: [{}, {}, {}] }, ok: false },
		{
			case: 'swapped order',
			raw: { results: [{ name: 'Alan' }, { name: 'Ada' }] },
			ok: false
		},
		{
			case: 'an email list of the wrong type',
			raw: { results: [{ email: 5 }, {}] },
			ok: false
		}
	])('$case → recognised: $ok', ({ raw, ok }) => {
		expect(readBulkAnswer(raw, leads).ok).toBe(ok);
	});
});
