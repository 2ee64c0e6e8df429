import { RUNNERS } from '../../server/blocks';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../server/engine/run-job';
import type { RunEvent } from '../../server/engine/types';
import type { EnrichCompanyRequest } from '../../server/enrichment/sixtyfour-schemas';
import { EnrichmentError, type EnrichmentService } from '../../server/enrichment/types';
import { WorkflowSchema, type Row, type WorkflowInput } from '../../src/lib/workflow/schema';

let dataDir: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Companies: Acme has 3 people, Nobody Ltd none, Solo one, Duo two; a row with no company at all. */
const SMALL = [
	'company_name,website,industry',
	'Acme,https://acme.example,Tools',
	'Nobody Ltd,https://nobody.example,Void',
	'Solo,,Consulting',
	',,Unknown',
	'Duo,https://duo.example,Media'
];
const STAFF: Record<string, number> = { Acme: 3, 'Nobody Ltd': 0, Solo: 1, Duo: 2 };

beforeAll(() => {
	dataDir = mkdtempSync(join(tmpdir(), 'enrich-company-'));
	mkdirSync(join(dataDir, 'uploads'));
	writeFileSync(join(dataDir, 'uploads', 'small.csv'), SMALL.join('\n') + '\n');
	const many = ['Company,Domain'];
	for (let i = 0; i < 300; i++) many.push(`Co ${i},co${i}.example`);
	writeFileSync(join(dataDir, 'uploads', 'many.csv'), many.join('\n') + '\n');
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** A fake API: people per company from `staff`, random latency, calls recorded. */
function fakeApi(options: { staff?: (name: string) => number; fail?: (name: string) => Error | null; latencyMs?: number } = {}) {
	const requests: EnrichCompanyRequest[] = [];
	const stats = { inFlight: 0, peak: 0, aborted: 0 };
	const refuse = () => Promise.reject(new Error('not this block'));
	const service: EnrichmentService = {
		enrichLead: refuse,
		findEmail: refuse,
		findPhone: refuse,
		async enrichCompany(request, { signal, meter }) {
			requests.push(request);
			meter.calls++;
			stats.inFlight++;
			stats.peak = Math.max(stats.peak, stats.inFlight);
			try {
				await new Promise<void>((resolve, reject) => {
					const onAbort = () => (clearTimeout(timer), stats.aborted++, reject(signal.reason));
					const timer = setTimeout(
						() => (signal.removeEventListener('abort', onAbort), resolve()),
						Math.random() * (options.latencyMs ?? 2)
					);
					signal.addEventListener('abort', onAbort, { once: true });
				});
				const name = String(request.target_company.company_name ?? request.target_company.domain);
				const failure = options.fail?.(name);
				if (failure) throw failure;
				meter.costCents += 10;
				const count = request.find_people ? (options.staff ?? ((n) => STAFF[n] ?? 0))(name) : 0;
				return {
					notes: null,
					structured_data: { employee_count: name.length * 10, leads: 'not read here' },
					findings: [],
					references: null,
					confidence_score: 0.75,
					people: request.find_people
						? Array.from({ length: count }, (_, p) => ({
								Name: `${name} person ${p}`,
								title: `Title ${p}`,
								linkedin: null,
								extra: 'x'
							}))
						: null
				};
			} finally {
				stats.inFlight--;
			}
		}
	};
	return { service, requests, stats };
}

async function run(blocks: WorkflowInput['blocks'], fake = fakeApi(), options: { concurrency?: number } = {}) {
	const rows: Row[] = [];
	const events: RunEvent[] = [];
	const result = await runJob({
		runners: RUNNERS,
		jobId: 'job',
		workflow: v.parse(WorkflowSchema, { blocks }),
		options,
		dataDir,
		enrichment: fake.service,
		onRows: (batch) => void rows.push(...batch),
		onEvent: (e) => events.push(e)
	});
	return { result, rows, events, fake };
}

const read = (path = 'uploads/small.csv') => ({ id: 'read', type: 'read_csv', params: { path } }) as const;
const enrich = (params: Record<string, unknown> = {}) =>
	({ id: 'company', type: 'enrich_company', params: { struct: { employee_count: 'Number of employees' }, ...params } }) as const;

describe('enrich_company without Find people', () => {
	it('adds the struct fields and confidence to each company row, one row per company', async () => {
		const { result, rows, fake } = await run([read(), enrich()]);
		expect(result.status).toBe('completed');
		expect(result.columns).toEqual(['company_name', 'website', 'industry', 'employee_count', '_confidence', '_error']);
		expect(rows.map((r) => [r.company_name, r.employee_count, r._confidence, r._error])).toEqual([
			['Acme', 40, 7.5, null],
			['Nobody Ltd', 100, 7.5, null],
			['Solo', 40, 7.5, null],
			['', null, null, 'Enrich Company: no company information in this row ("company_name", "website" empty)'],
			['Duo', 30, 7.5, null]
		]);
		expect(result.blocks[1]).toMatchObject({ rows_in: 5, rows_out: 5, errors: 1, calls: 4, cost_cents: 40 });
		expect(fake.requests[0]).toEqual({
			target_company: { company_name: 'Acme', website: 'https://acme.example' },
			struct: { employee_count: 'Number of employees' }
		});
	});

	it('sends only the mapped columns when company_columns is given, plus the research plan and tier', async () => {
		const { fake } = await run([
			read(),
			enrich({ company_columns: { company_name: 'company_name' }, research_plan: 'Check the site', tier: 'medium' })
		]);
		expect(fake.requests.map((r) => r.target_company)).toEqual([
			{ company_name: 'Acme' },
			{ company_name: 'Nobody Ltd' },
			{ company_name: 'Solo' },
			{ company_name: 'Duo' }
		]);
		expect(fake.requests[0]).toMatchObject({ research_plan: 'Check the site', tier: 'medium' });
		expect(fake.requests[0]).not.toHaveProperty('find_people');
	});
});

describe('enrich_company with Find people: companies become leads', () => {
	it('expands each company into its people, in company order then API order, and keeps companies with nobody', async () => {
		const { result, rows, fake } = await run([
			read(),
			enrich({ find_people: true, people_focus_prompt: 'Sales leaders', lead_struct: { name: 'Full name', title: 'Job title' } })
		]);
		expect(result.status).toBe('completed');
		expect(result.columns).toEqual([
			'company_name',
			'website',
			'industry',
			'employee_count',
			'name',
			'title',
			'_people_found',
			'_confidence',
			'_error'
		]);
		expect(rows.map((r) => [r.company_name, r.name, r.title, r._people_found, r._error])).toEqual([
			['Acme', 'Acme person 0', 'Title 0', 3, null],
			['Acme', 'Acme person 1', 'Title 1', 3, null],
			['Acme', 'Acme person 2', 'Title 2', 3, null],
			['Nobody Ltd', null, null, 0, null],
			['Solo', 'Solo person 0', 'Title 0', 1, null],
			['', null, null, null, 'Enrich Company: no company information in this row ("company_name", "website" empty)'],
			['Duo', 'Duo person 0', 'Title 0', 2, null],
			['Duo', 'Duo person 1', 'Title 1', 2, null]
		]);
		// Company columns (and the company's struct fields) are carried onto every person row.
		expect(rows[1]).toMatchObject({ website: 'https://acme.example', industry: 'Tools', employee_count: 40, _confidence: 7.5 });
		// Only the declared person fields become columns (not `extra`).
		expect(Object.keys(rows[0])).toEqual(result.columns);
		// Rows in = companies, rows out = person rows (+ the kept ones).
		expect(result.blocks[1]).toMatchObject({ rows_in: 5, rows_out: 8, errors: 1, calls: 4 });
		expect(fake.requests[0]).toMatchObject({
			find_people: true,
			people_focus_prompt: 'Sales leaders',
			lead_struct: { name: 'Full name', title: 'Job title' }
		});
	});

	it('asks for name, title and linkedin when no lead_struct is given', async () => {
		const { result, fake } = await run([read(), enrich({ find_people: true })]);
		expect(fake.requests[0].lead_struct).toEqual({ name: 'Full name', title: 'Current job title', linkedin: 'LinkedIn profile URL' });
		expect(result.columns).toEqual([
			'company_name',
			'website',
			'industry',
			'employee_count',
			'name',
			'title',
			'linkedin',
			'_people_found',
			'_confidence',
			'_error'
		]);
	});

	it('a company whose call fails keeps one row with the reason; the others are expanded', async () => {
		const fake = fakeApi({
			fail: (name) => (name === 'Acme' ? new EnrichmentError('Sixtyfour POST /enrich-company: 500 Internal error', 500, false) : null)
		});
		const { result, rows } = await run([read(), enrich({ find_people: true })], fake);
		expect(result.status).toBe('completed');
		expect(rows.map((r) => [r.company_name, r.name, r._people_found, r._error])).toEqual([
			['Acme', null, null, 'Enrich Company: Sixtyfour POST /enrich-company: 500 Internal error'],
			['Nobody Ltd', null, 0, null],
			['Solo', 'Solo person 0', 1, null],
			['', null, null, expect.stringMatching(/no company information/)],
			['Duo', 'Duo person 0', 2, null],
			['Duo', 'Duo person 1', 2, null]
		]);
		expect(result.blocks[1]).toMatchObject({ rows_in: 5, rows_out: 6, errors: 2 });
	});

	it.each([
		[401, 'Sixtyfour refused the API key'],
		[402, 'Sixtyfour: insufficient credits']
	])('a %i fails the whole job with its message', async (status, message) => {
		const fake = fakeApi({ fail: () => new EnrichmentError(message, status, true) });
		const { result } = await run([read(), enrich({ find_people: true })], fake);
		expect(result).toMatchObject({ status: 'failed', error: message });
	});

	it('keeps order and the concurrency bound over many companies with random latency and staff', async () => {
		const staff = (name: string) => Number(name.slice(3)) % 4;
		const fake = fakeApi({ staff, latencyMs: 4 });
		const { result, rows } = await run([read('uploads/many.csv'), enrich({ find_people: true, concurrency: 7 })], fake);
		expect(result.status).toBe('completed');
		const expected = Array.from({ length: 300 }, (_, i) => {
			const n = i % 4;
			return n === 0 ? [`Co ${i}|-`] : Array.from({ length: n }, (_, p) => `Co ${i}|Co ${i} person ${p}`);
		}).flat();
		expect(rows.map((r) => `${r.Company}|${r.name ?? '-'}`)).toEqual(expected);
		expect(fake.stats.peak).toBeLessThanOrEqual(7);
		expect(fake.stats.peak).toBe(7);
		expect(fake.requests[0].target_company).toEqual({ company_name: 'Co 0', domain: 'co0.example' });
		expect(result.blocks[1]).toMatchObject({ rows_in: 300, rows_out: expected.length });
	});

	it('cancelling the job stops the calls in flight', async () => {
		const controller = new AbortController();
		const fake = fakeApi({ latencyMs: 20 });
		// Cancel once the 20th call is out — a point in the job, not a time (after a 30 ms sleep, a
		// loaded machine may already have finished all 300 rows).
		const enrichCompany = fake.service.enrichCompany.bind(fake.service);
		fake.service.enrichCompany = (request, call) => {
			const pending = enrichCompany(request, call);
			if (fake.requests.length === 20) queueMicrotask(() => controller.abort());
			return pending;
		};
		const events: RunEvent[] = [];
		const done = runJob({
			runners: RUNNERS,
			jobId: 'job',
			workflow: v.parse(WorkflowSchema, { blocks: [read('uploads/many.csv'), enrich({ find_people: true, concurrency: 5 })] }),
			dataDir,
			signal: controller.signal,
			enrichment: fake.service,
			onEvent: (e) => events.push(e)
		});
		const result = await done;
		expect(result.status).toBe('cancelled');
		expect(fake.requests.length).toBeGreaterThanOrEqual(20);
		expect(fake.requests.length).toBeLessThan(300);
		expect(fake.stats.aborted).toBeGreaterThan(0);
		expect(fake.stats.aborted).toBeLessThanOrEqual(5);
		await sleep(0);
		expect(fake.stats.inFlight).toBe(0);
	});
});

describe('enrich_company refuses what it cannot run', () => {
	it.each([
		{ what: 'no column names the company', path: 'uploads/industries.csv', params: {}, message: /no column names the company/ },
		{
			what: 'a mapped column that does not exist',
			path: 'uploads/small.csv',
			params: { company_columns: { website: 'homepage' } },
			message: /website is mapped to "homepage", which is not a column here/
		}
	])('$what: the job fails before any call', async ({ path, params, message }) => {
		writeFileSync(join(dataDir, 'uploads', 'industries.csv'), 'industry\nTools\n');
		const fake = fakeApi();
		const { result } = await run([read(path), enrich(params)], fake);
		expect(result.status).toBe('failed');
		expect(result.error).toMatch(message);
		expect(fake.requests).toEqual([]);
	});
});
