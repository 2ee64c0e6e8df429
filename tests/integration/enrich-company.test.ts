/**
 * Enrich Company against the simulator over real HTTP (127.0.0.1, port 0): the companies example
 * end to end, the expansion of companies into people (order, counts, companies with nobody), the
 * cache on a re-run, and the async form.
 */
import { RUNNERS } from '../../server/blocks';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../server/engine/run-job';
import { createScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService, type EnrichmentServiceHandle } from '../../server/enrichment/service';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import { openDatabase, type Db } from '../../server/store/db';
import { analyzeColumns } from '../../src/lib/workflow/columns';
import { WorkflowSchema, type Row, type WorkflowInput } from '../../src/lib/workflow/schema';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const EXAMPLE = join(import.meta.dirname, '../../data/examples/companies.json');
const COMPANIES = 40;
const STRUCT = { employee_count: 'Approximate number of employees', industry: 'Industry' };
const PEOPLE_FOCUS = 'Sales leaders and founders';

let tmp: TempDir;
let sim: RunningSimulator;
let db: Db;

beforeAll(async () => {
	tmp = await makeTempDir('enrich-company-it-');
	mkdirSync(join(tmp.dir, 'uploads'));
	const lines = ['company_name,website'];
	for (let i = 0; i < COMPANIES; i++) lines.push(`Company ${i} Labs,https://company-${i}.example`);
	writeFileSync(join(tmp.dir, 'uploads', 'companies.csv'), lines.join('\n') + '\n');
	sim = await startSimulator({ port: 0, seed: 64 });
	db = openDatabase(':memory:');
});
afterAll(async () => {
	db.close();
	await sim.close();
	await tmp.cleanup();
});

function service(asyncCompany = true): EnrichmentServiceHandle {
	return createEnrichmentService({
		apiKey: 'sk-test',
		baseUrl: sim.url,
		db,
		scheduler: createScheduler({ ratePerMinute: 600_000, burst: 1_000, maxInFlight: 50, backoffBaseMs: 5 }),
		asyncMode: { enrichLead: false, enrichCompany: asyncCompany },
		polling: { initialMs: 5, minIntervalMs: 2, maxIntervalMs: 20 }
	});
}

async function run(blocks: WorkflowInput['blocks'], enrichment: EnrichmentServiceHandle) {
	const rows: Row[] = [];
	const result = await runJob({
		runners: RUNNERS,
		jobId: `job-${Math.random().toString(36).slice(2)}`,
		workflow: v.parse(WorkflowSchema, { blocks }),
		dataDir: tmp.dir,
		outputDir: join(tmp.dir, 'outputs'),
		enrichment,
		onRows: (batch) => void rows.push(...batch)
	});
	return { result, rows };
}

/** What the simulator says about one company, asked directly (the order the API gives people in). */
async function askSimulator(company: string, website: string): Promise<{ leads: { name: string }[]; employee_count: unknown }> {
	const response = await fetch(`${sim.url}/enrich-company`, {
		method: 'POST',
		headers: { 'x-api-key': 'sk-test', 'content-type': 'application/json' },
		body: JSON.stringify({
			target_company: { company_name: company, website },
			struct: STRUCT,
			find_people: true,
			people_focus_prompt: PEOPLE_FOCUS,
			lead_struct: { name: 'Full name', title: 'Current job title', linkedin: 'LinkedIn profile URL' }
		})
	});
	expect(response.status).toBe(200);
	const body = (await response.json()) as { structured_data: { leads: { name: string }[]; employee_count: unknown } };
	return body.structured_data;
}

const read = { id: 'read', type: 'read_csv', params: { path: 'uploads/companies.csv' } } as const;
const people = {
	id: 'people',
	type: 'enrich_company',
	params: { struct: STRUCT, find_people: true, people_focus_prompt: PEOPLE_FOCUS }
} as const;

describe('Enrich Company against the simulator', () => {
	it('turns companies into their people: company order, API order within, nobody kept with _people_found = 0', async () => {
		sim.reset();
		const { result, rows } = await run([read, people], service());
		expect(result.status).toBe('completed');
		// Async answers carry charge_amount: the block's cost is what the simulator charged.
		expect(result.blocks[1].cost_cents).toBeGreaterThan(0);
		expect(result.blocks[1].cost_cents).toBe(sim.stats().charged_cents);
		expect(sim.stats().duplicates_paid).toBe(0);
		expect(result.blocks[1].rows_in).toBe(COMPANIES);
		expect(result.blocks[1].rows_out).toBe(rows.length);
		expect(rows.length).toBeGreaterThan(COMPANIES);

		const byCompany = new Map<string, Row[]>();
		for (const row of rows) byCompany.set(String(row.company_name), [...(byCompany.get(String(row.company_name)) ?? []), row]);
		// Company order: each company's rows are contiguous and the companies come in file order.
		expect([...new Set(rows.map((r) => r.company_name))]).toEqual(Array.from({ length: COMPANIES }, (_, i) => `Company ${i} Labs`));
		let nobody = 0;
		for (let i = 0; i < COMPANIES; i++) {
			const company = `Company ${i} Labs`;
			const own = byCompany.get(company)!;
			const asked = await askSimulator(company, `https://company-${i}.example`);
			if (asked.leads.length === 0) {
				nobody++;
				expect(own).toHaveLength(1);
				expect(own[0]).toMatchObject({ name: null, title: null, linkedin: null, _people_found: 0, _error: null });
			} else {
				// The API's people, in the API's order, each carrying the company's columns.
				expect(own.map((r) => r.name)).toEqual(asked.leads.map((p) => p.name));
				for (const row of own) {
					expect(row).toMatchObject({ website: `https://company-${i}.example`, _people_found: asked.leads.length, _error: null });
					expect(row.employee_count).toEqual(asked.employee_count);
					expect(typeof row.title).toBe('string');
				}
			}
		}
		// Seed 64 leaves some companies with nobody: the case is really exercised.
		expect(nobody).toBeGreaterThan(0);
	});

	it('a re-run is served by the cache: the same rows, no new paid call', async () => {
		const enrichment = service();
		const first = await run([read, people], enrichment);
		const paidBefore = sim.stats().paid_answers;
		const again = await run([read, people], enrichment);
		expect(again.rows).toEqual(first.rows);
		expect(again.result.blocks[1]).toMatchObject({ calls: 0, cached: COMPANIES, cost_cents: 0 });
		expect(sim.stats().paid_answers).toBe(paidBefore);
	});

	it('the sync form gives the same rows as the async one, and charges each company once', async () => {
		sim.reset();
		const fresh = openDatabase(':memory:');
		try {
			const sync = createEnrichmentService({
				apiKey: 'sk-test',
				baseUrl: sim.url,
				db: fresh,
				scheduler: createScheduler({ ratePerMinute: 600_000, burst: 1_000, maxInFlight: 50 }),
				asyncMode: { enrichCompany: false }
			});
			const viaSync = await run([read, people], sync);
			const stats = sim.stats();
			expect(stats.calls['/enrich-company']).toBe(COMPANIES);
			expect(stats.duplicates_paid).toBe(0);
			const viaAsync = await run([read, people], service());
			expect(viaSync.rows).toEqual(viaAsync.rows);
		} finally {
			fresh.close();
		}
	});

	it('without Find people: one row per company with its fields', async () => {
		const { result, rows } = await run([read, { id: 'co', type: 'enrich_company', params: { struct: STRUCT } }], service());
		expect(result.status).toBe('completed');
		expect(rows).toHaveLength(COMPANIES);
		expect(result.columns).toEqual(['company_name', 'website', 'employee_count', 'industry', '_confidence', '_error']);
		expect(rows.every((r) => typeof r.employee_count === 'number' && typeof r.industry === 'string' && r._error === null)).toBe(true);
	});
});

describe('the companies example', () => {
	it('is valid, passes the column-flow analysis, and runs end to end', async () => {
		const workflow = v.parse(WorkflowSchema, JSON.parse(readFileSync(EXAMPLE, 'utf8')));
		const header = readFileSync(join(import.meta.dirname, '../../data/samples/companies.csv'), 'utf8')
			.split('\n')[0]
			.split(',');
		const flow = analyzeColumns(workflow, { sourceColumns: () => header });
		expect(flow.problems).toEqual([]);
		expect(flow.blocks.map((b) => b.output_kind)).toEqual(['company', 'lead', 'lead', 'lead', 'lead']);

		const rows: Row[] = [];
		const result = await runJob({
			runners: RUNNERS,
			jobId: 'example',
			workflow,
			dataDir: tmp.dir,
			outputDir: join(tmp.dir, 'outputs'),
			enrichment: service(),
			onRows: (batch) => void rows.push(...batch)
		});
		expect(result.status).toBe('completed');
		const [readBlock, companies, filter, emails, save] = result.blocks;
		expect(readBlock.rows_out).toBe(6);
		expect(companies.rows_in).toBe(6);
		expect(filter.rows_in).toBe(companies.rows_out);
		expect(emails.rows_in).toBe(filter.rows_out);
		expect(save.rows_out).toBe(rows.length);
		expect(rows.length).toBeGreaterThan(0);
		for (const row of rows) {
			expect(row._people_found).toBeGreaterThan(0);
			expect(typeof row.name).toBe('string');
			expect(row).toHaveProperty('email_status');
		}
		expect(rows.filter((r) => r.email_status === 'OK').length).toBeGreaterThan(0);
		// The output path is reported relative to the data directory.
		const csv = readFileSync(join(tmp.dir, result.outputPath!), 'utf8');
		expect(csv.trim().split('\n')).toHaveLength(rows.length + 1);
	});
});
