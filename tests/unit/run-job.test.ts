import { RUNNERS } from '../../server/blocks';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../server/engine/run-job';
import type { RunEvent, RunJobOptions } from '../../server/engine/types';
import { EnrichmentError, type EnrichmentService } from '../../server/enrichment/types';
import type { Row, WorkflowInput } from '../../src/lib/workflow/schema';
import * as v from 'valibot';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { RunEventSchema } from '../../src/lib/workflow/protocol';

let dataDir: string;
const ROWS = 500;

beforeAll(() => {
	dataDir = mkdtempSync(join(tmpdir(), 'run-job-'));
	const lines = ['name,company,email'];
	for (let i = 0; i < ROWS; i++) lines.push(`Person ${i},${i % 3 === 0 ? 'Ariglad Inc' : 'Other Co'},${i % 2 ? `p${i}@x.example` : ''}`);
	mkdirSync(join(dataDir, 'uploads'));
	writeFileSync(join(dataDir, 'uploads', 'leads.csv'), lines.join('\n') + '\n');
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fake API: random latency, optional failures, counts calls and peak concurrency. */
function fakeEnrichment(options: { fail?: (name: string) => EnrichmentError | null; latencyMs?: number } = {}) {
	const stats = { calls: 0, inFlight: 0, peak: 0 };
	const service: EnrichmentService = {
		async enrichLead(request, { signal, meter }) {
			stats.calls++;
			meter.calls++;
			stats.inFlight++;
			stats.peak = Math.max(stats.peak, stats.inFlight);
			try {
				await new Promise<void>((resolve, reject) => {
					const t = setTimeout(resolve, Math.random() * (options.latencyMs ?? 4));
					signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
				});
				const failure = options.fail?.(String(request.lead_info.name));
				if (failure) throw failure;
				meter.costCents += 10;
				return {
					notes: null,
					structured_data: { title: `Title of ${request.lead_info.name}`, is_american_education: true },
					findings: [],
					references: null,
					confidence_score: 8
				};
			} finally {
				stats.inFlight--;
			}
		},
		async enrichCompany() {
			throw new Error('enrich_company is not part of these workflows');
		},
		async findPhone() {
			throw new Error('find_phone is not part of these workflows');
		},
		async findEmail(request, { meter }) {
			stats.calls++;
			meter.calls++;
			await sleep(1);
			return {
				email: [{ address: `${String(request.lead.name).replace(' ', '.')}@found.example`, status: 'OK', type: 'COMPANY' }],
				personal_email: null,
				cost_cents: 5
			};
		}
	};
	return { service, stats };
}

function workflow(blocks: WorkflowInput['blocks']) {
	return v.parse(WorkflowSchema, { name: 't', blocks });
}

async function run(blocks: WorkflowInput['blocks'], extra: Partial<RunJobOptions> = {}) {
	const events: RunEvent[] = [];
	const rows: Row[] = [];
	const fake = extra.enrichment ? null : fakeEnrichment();
	const result = await runJob({
		runners: RUNNERS,
		jobId: 'job1',
		workflow: workflow(blocks),
		dataDir,
		enrichment: fake?.service as EnrichmentService,
		onEvent: (e) => events.push(e),
		onRows: (batch) => void rows.push(...batch),
		...extra
	});
	return { result, events, rows, fake };
}

const read = { id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } } as const;
const enrich = { id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' } } } as const;

describe('runJob', () => {
	it('streams every row through the blocks in input order, with per-block counts', async () => {
		const { result, rows, events } = await run([read, enrich]);
		expect(result.status).toBe('completed');
		expect(rows.map((r) => r.name)).toEqual(Array.from({ length: ROWS }, (_, i) => `Person ${i}`));
		expect(rows[7].title).toBe('Title of Person 7');
		expect(rows[7]._confidence).toBe(8);
		expect(result.columns).toEqual(['name', 'company', 'email', 'title', '_confidence', '_error']);
		expect(result.blocks.map((b) => [b.rows_in, b.rows_out, b.status])).toEqual([
			[ROWS, ROWS, 'completed'],
			[ROWS, ROWS, 'completed']
		]);
		expect(result.blocks[1].calls).toBe(ROWS);
		expect(result.blocks[1].cost_cents).toBe(ROWS * 10);
		expect(events[0].type).toBe('job_started');
		expect(events.at(-1)?.type).toBe('job_finished');
		expect(events.filter((e) => e.type === 'block_finished')).toHaveLength(2);
		// RunEvent is inferred from the wire schema: every event really emitted also passes it, unchanged.
		for (const event of events) expect(v.parse(RunEventSchema, JSON.parse(JSON.stringify(event)))).toEqual(event);
	});

	it('keeps the API window full: many rows in flight, never more than the concurrency', async () => {
		const fake = fakeEnrichment({ latencyMs: 10 });
		await run([read, { ...enrich, params: { ...enrich.params, concurrency: 25 } }], { enrichment: fake.service });
		expect(fake.stats.peak).toBe(25);
	});

	it('turns a row failure into an _error cell and goes on', async () => {
		const fake = fakeEnrichment({
			fail: (name) => (name.endsWith('3') ? new EnrichmentError('upstream 500 after 4 attempts', 500, false) : null)
		});
		const { result, rows, events } = await run([read, enrich], { enrichment: fake.service });
		expect(result.status).toBe('completed');
		const failed = rows.filter((r) => r._error);
		expect(failed).toHaveLength(ROWS / 10);
		expect(failed[0]._error).toBe('Enrich Lead: upstream 500 after 4 attempts');
		expect(failed[0].name).toBe('Person 3');
		expect(failed[0].title).toBeNull();
		expect(result.blocks[1].errors).toBe(ROWS / 10);
		const rowErrors = events.filter((e) => e.type === 'row_error');
		// Errors are reported as calls fail (completion order): row 3's is among them.
		expect(rowErrors.find((e) => e.type === 'row_error' && e.row === 3)).toMatchObject({ block_id: 'enrich' });
		expect(rowErrors).toHaveLength(ROWS / 10);
	});

	it('fails the whole job on a fatal API answer (401) and stops calling', async () => {
		const fake = fakeEnrichment({ fail: () => new EnrichmentError('Sixtyfour rejected the API key (401)', 401, true) });
		const { result } = await run([read, enrich], { enrichment: fake.service });
		expect(result.status).toBe('failed');
		expect(result.error).toContain('401');
		expect(fake.stats.calls).toBeLessThan(ROWS);
		expect(result.blocks[1].status).toBe('failed');
	});

	it('fails at once when a later block hits a fatal answer, without waiting for a slow earlier row', async () => {
		let enrichCalls = 0;
		const service: EnrichmentService = {
			async enrichLead(request, { signal }) {
				enrichCalls++;
				// Person 1 is only ever ended by the abort: a job that waited for it would hang the test.
				const slow = request.lead_info.name === 'Person 1';
				await new Promise<void>((resolve, reject) => {
					const t = slow ? undefined : setTimeout(resolve, 1);
					signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
				});
				return { notes: null, structured_data: { title: 'x' }, findings: [], references: null, confidence_score: 5 };
			},
			async enrichCompany() {
				throw new Error('not used');
			},
			async findEmail() {
				throw new EnrichmentError('Sixtyfour refused the tier (403)', 403, true);
			},
			async findPhone() {
				throw new Error('not used');
			}
		};
		const { result } = await run(
			[
				read,
				{ ...enrich, params: { ...enrich.params, concurrency: 8 } },
				{ id: 'mail', type: 'find_email', params: { only_missing: false } }
			],
			{ enrichment: service }
		);
		expect(result.status).toBe('failed');
		expect(result.error).toContain('403');
		expect(enrichCalls).toBeLessThan(ROWS);
	});

	it('cancels promptly through the signal, leaving consistent partial counts', async () => {
		const controller = new AbortController();
		const fake = fakeEnrichment({ latencyMs: 50 });
		setTimeout(() => controller.abort(), 60);
		const { result, rows } = await run([read, { ...enrich, params: { ...enrich.params, concurrency: 4 } }], {
			enrichment: fake.service,
			signal: controller.signal
		});
		expect(result.status).toBe('cancelled');
		expect(rows.length).toBeLessThan(ROWS);
		expect(result.blocks[1].rows_out).toBe(rows.length);
	});

	it('runs only the first N rows with row_limit', async () => {
		const { result, rows } = await run([read, enrich], { options: { row_limit: 12 } });
		expect(rows).toHaveLength(12);
		expect(result.blocks[1].calls).toBe(12);
	});

	it('find_email with only_missing sends only rows without an email', async () => {
		const { result, rows } = await run([read, { id: 'mail', type: 'find_email', params: {} }]);
		expect(result.blocks[1].calls).toBe(ROWS / 2);
		expect(result.blocks[1].skipped).toBe(ROWS / 2);
		expect(rows[0]).toMatchObject({ email: 'Person.0@found.example', email_status: 'OK' });
		expect(rows[1]).toMatchObject({ email: 'p1@x.example', email_status: null });
	});

	it('writes the final CSV with save_csv and reports its path', async () => {
		const { result } = await run([
			read,
			{ id: 'f', type: 'filter', params: { expression: 'company == "Ariglad Inc"' } },
			{ id: 's', type: 'save_csv', params: { filename: 'ariglad' } }
		]);
		expect(result.status).toBe('completed');
		expect(result.outputPath).toBeTruthy();
		const csv = readFileSync(result.outputPath!.startsWith('/') ? result.outputPath! : join(dataDir, result.outputPath!), 'utf8');
		expect(csv.trim().split(/\r?\n/)).toHaveLength(1 + Math.ceil(ROWS / 3));
		expect(result.blocks[1]).toMatchObject({ rows_in: ROWS, rows_out: Math.ceil(ROWS / 3) });
	});

	it('fails with a clear message when the input file is missing', async () => {
		const { result } = await run([{ id: 'r', type: 'read_csv', params: { path: 'nope.csv' } }]);
		expect(result.status).toBe('failed');
		expect(result.error).toMatch(/nope\.csv/);
	});
});
