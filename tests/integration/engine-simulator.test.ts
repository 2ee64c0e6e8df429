/**
 * Whole workflows through runJob against the simulator over real HTTP: happy path, a 429 storm,
 * 10% 500s, a 401 mid-run. Every row must end enriched or carrying a specific `_error`.
 */
import { RUNNERS } from '../../server/blocks';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { runJob } from '../../server/engine/run-job';
import { createEnrichmentService } from '../../server/enrichment/service';
import { startSimulator, type RunningSimulator, type SimulatorOptionsInput } from '../../server/enrichment/simulator';
import { openDatabase } from '../../server/store/db';
import { WorkflowSchema, type Row } from '../../src/lib/workflow/schema';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import { writeLeadsCsv } from '../helpers/leads-csv';

let tmp: TempDir;
const ROWS = 300;

beforeAll(async () => {
	tmp = await makeTempDir();
	await writeLeadsCsv(join(tmp.dir, 'uploads', 'leads.csv'), ROWS);
});
afterAll(() => tmp.cleanup());

const workflow = v.parse(WorkflowSchema, {
	name: 'enrich and find',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{
			id: 'enrich',
			type: 'enrich_lead',
			params: {
				struct: {
					title: 'Current job title',
					undergrad_university: 'Undergraduate university',
					is_american_education: { description: 'True if the undergrad university is in the USA', type: 'bool' }
				}
			}
		},
		{ id: 'mail', type: 'find_email', params: { mode: 'PROFESSIONAL' } },
		{ id: 'save', type: 'save_csv', params: { filename: 'out' } }
	]
});

async function runAgainst(
	sim: Partial<SimulatorOptionsInput>,
	service: { rateLimitPerMinute?: number; asyncMode?: boolean } = {},
	during?: (s: RunningSimulator) => void
) {
	const simulator = await startSimulator({ port: 0, seed: 11, ...sim });
	const db = openDatabase(':memory:');
	try {
		const enrichment = createEnrichmentService({
			apiKey: 'test-key',
			baseUrl: simulator.url,
			db,
			rateLimitPerMinute: service.rateLimitPerMinute ?? 60_000,
			maxAttempts: 6,
			asyncMode: { enrichLead: service.asyncMode ?? false },
			polling: { initialMs: 20, minIntervalMs: 5 }
		});
		const rows: Row[] = [];
		if (during) setTimeout(() => during(simulator), 150);
		const result = await runJob({
			runners: RUNNERS,
			jobId: `it-${Math.random()}`,
			workflow,
			dataDir: tmp.dir,
			enrichment,
			onRows: (b) => void rows.push(...b)
		});
		return { result, rows, stats: simulator.stats() };
	} finally {
		db.close();
		await simulator.close();
	}
}

function expectEveryRowAccounted(rows: Row[]) {
	expect(rows).toHaveLength(ROWS);
	for (const row of rows) {
		const enriched = typeof row.title === 'string' && row.title.length > 0;
		expect(enriched || (typeof row._error === 'string' && row._error.length > 0)).toBe(true);
	}
}

describe('workflows against the simulator', () => {
	it('enriches every row, finds emails for rows without one, and writes the CSV', async () => {
		const { result, rows, stats } = await runAgainst({ latency: { default: { medianMs: 5, p99Ms: 20 } } });
		expect(result.status).toBe('completed');
		expectEveryRowAccounted(rows);
		expect(rows.filter((r) => r._error)).toHaveLength(0);
		expect(rows.every((r) => typeof r.is_american_education === 'boolean')).toBe(true);
		const missing = rows.filter((_, i) => i % 3 === 0).length;
		expect(result.blocks[2].skipped).toBe(ROWS - missing);
		expect(stats.calls['/find-email']).toBe(missing);
		expect(stats.duplicates_paid).toBe(0);
		const csv = readFileSync(join(tmp.dir, result.outputPath!), 'utf8').trim().split(/\r?\n/);
		expect(csv).toHaveLength(ROWS + 1);
		// A synchronous /enrich-lead answer carries no price; /find-email's carries cost_cents.
		expect(result.blocks[2].cost_cents).toBe(missing * 5);
	});

	it('rides out a 429 storm: every row enriched, nothing paid twice', async () => {
		// The server allows 40 requests a second while the client believes it may send 6,000 a minute.
		const { result, rows, stats } = await runAgainst(
			{ rateLimit: { requests: 40, windowMs: 1_000 }, latency: { default: { medianMs: 5 } } },
			{ rateLimitPerMinute: 6_000 }
		);
		expect(result.status).toBe('completed');
		expect(stats.rate_limited).toBeGreaterThan(0);
		expectEveryRowAccounted(rows);
		expect(rows.filter((r) => r._error)).toHaveLength(0);
		expect(stats.duplicates_paid).toBe(0);
	});

	it('with 10% 500s every row ends enriched or with a specific _error', async () => {
		const { result, rows, stats } = await runAgainst({ faults: { error500: 0.1 }, latency: { default: { medianMs: 2 } } });
		expect(result.status).toBe('completed');
		expect(stats.faults.error_500).toBeGreaterThan(0);
		expectEveryRowAccounted(rows);
		for (const row of rows.filter((r) => r._error)) expect(String(row._error)).toMatch(/500|server/i);
	});

	it('async mode: submits, polls, and pays once per row', async () => {
		const { result, rows, stats } = await runAgainst(
			{ latency: { default: { medianMs: 20 }, async_submit: { medianMs: 1 }, job_status: { medianMs: 1 } } },
			{ asyncMode: true }
		);
		expect(result.status).toBe('completed');
		expectEveryRowAccounted(rows);
		expect(stats.calls['/enrich-lead-async']).toBe(ROWS);
		expect(stats.duplicates_paid).toBe(0);
		// Async answers carry charge_amount: every cent the simulator charged is accounted for.
		expect(result.blocks.reduce((n, b) => n + b.cost_cents, 0)).toBe(stats.charged_cents);
	});

	it('fails the job with a clear message when the key is refused mid-run (401)', async () => {
		const { result } = await runAgainst({ latency: { default: { medianMs: 30 } } }, {}, (sim) =>
			sim.configure({ apiKey: 'some-other-key' })
		);
		expect(result.status).toBe('failed');
		expect(result.error).toMatch(/API key|401/);
	});
});
