/**
 * API chaos: whole workflows (read → filter → enrich → find email → save) through `runJob` against
 * the simulator over real HTTP, with one fault switched on per case. For each fault:
 * - the job ends in the right state (completed; failed with a clear message for a 401);
 * - every row is enriched or carries an `_error` naming that fault (not a generic message);
 * - the counters add up: rows in = rows out (+ skipped for the filter) for every block, the rows
 *   handed out and written to the CSV equal the last block's rows out, and — with one attempt per
 *   request — each faulted request is exactly one row error;
 * - nothing escapes as an unhandled promise rejection.
 *
 * (engine-simulator.test.ts has the happy path and bigger runs; this file is about the faults.)
 */
import { RUNNERS } from '../../server/blocks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../server/engine/run-job';
import type { BlockProgress, RunJobResult } from '../../server/engine/types';
import { createScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService, type EnrichmentServiceOptions } from '../../server/enrichment/service';
import { startSimulator, type RunningSimulator, type SimStats, type SimulatorOptionsInput } from '../../server/enrichment/simulator';
import { openDatabase } from '../../server/store/db';
import { WorkflowSchema, type Row } from '../../src/lib/workflow/schema';
import { leadRow, writeLeadsCsv } from '../helpers/leads-csv';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const ROWS = 80;
/** Rows the filter below keeps (computed from the generator, not from the run). */
const KEPT = Array.from({ length: ROWS }, (_, i) => Number(leadRow(i)[5])).filter((n) => n >= 100).length;
/** Rows the filter keeps that have no email yet: find_email calls the API for exactly these. */
const KEPT_WITHOUT_EMAIL = Array.from({ length: ROWS }, (_, i) => leadRow(i)).filter((r) => Number(r[5]) >= 100 && r[2] === '').length;

let tmp: TempDir;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);

beforeAll(async () => {
	tmp = await makeTempDir('leadflow-chaos-');
	await writeLeadsCsv(join(tmp.dir, 'uploads', 'leads.csv'), ROWS);
	process.on('unhandledRejection', onRejection);
});
afterAll(async () => {
	process.off('unhandledRejection', onRejection);
	await tmp.cleanup();
});

const workflow = v.parse(WorkflowSchema, {
	name: 'chaos',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{ id: 'big', type: 'filter', params: { expression: 'employees >= 100' } },
		{
			id: 'enrich',
			type: 'enrich_lead',
			params: { struct: { title: 'Current job title', is_american_education: { description: 'US undergrad', type: 'bool' } } }
		},
		{ id: 'mail', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: true } },
		{ id: 'save', type: 'save_csv', params: { filename: 'chaos' } }
	]
});

interface Chaos {
	result: RunJobResult;
	rows: Row[];
	stats: SimStats;
	byId: Record<string, BlockProgress>;
	elapsedMs: number;
}

interface ChaosOptions {
	sim: SimulatorOptionsInput;
	service?: Partial<Omit<EnrichmentServiceOptions, 'db' | 'apiKey' | 'baseUrl'>>;
	/** Called once, this long after the run started. */
	during?: { afterMs: number; act: (sim: RunningSimulator) => void };
	concurrency?: number;
}

async function runChaos({ sim, service = {}, during, concurrency = 8 }: ChaosOptions): Promise<Chaos> {
	const simulator = await startSimulator({ port: 0, seed: 7, latency: { default: { medianMs: 3, p99Ms: 10 } }, ...sim });
	const db = openDatabase(':memory:');
	const timer = during ? setTimeout(() => during.act(simulator), during.afterMs) : null;
	try {
		// A scheduler of the test's own: short backoff, so retries fit a test's time (the pauses a
		// Retry-After asks for are still honoured).
		const scheduler = createScheduler({ ratePerMinute: 600_000, maxInFlight: 64, backoffBaseMs: 20, backoffCapMs: 250 });
		const enrichment = createEnrichmentService({
			apiKey: 'test-key',
			baseUrl: simulator.url,
			db,
			scheduler,
			maxAttempts: 1,
			asyncMode: { enrichLead: false },
			polling: { initialMs: 10, minIntervalMs: 5 },
			...service
		});
		const rows: Row[] = [];
		const started = performance.now();
		const result = await runJob({
			runners: RUNNERS,
			jobId: `chaos-${Math.random().toString(36).slice(2)}`,
			workflow,
			options: { concurrency },
			dataDir: tmp.dir,
			enrichment,
			onRows: (batch) => void rows.push(...batch)
		});
		const elapsedMs = performance.now() - started;
		return { result, rows, stats: simulator.stats(), byId: Object.fromEntries(result.blocks.map((b) => [b.block_id, b])), elapsedMs };
	} finally {
		if (timer) clearTimeout(timer);
		db.close();
		await simulator.close();
	}
}

/** rows in = rows out (+ skipped for the filter) for every block; the rows handed out and saved match. */
function expectCountersAddUp({ result, rows, byId }: Chaos, finished: boolean) {
	if (finished) {
		expect(byId.read.rows_out).toBe(ROWS);
		expect(byId.big.rows_in).toBe(ROWS);
		expect(byId.big.rows_out).toBe(KEPT);
	}
	expect(byId.big.rows_in).toBe(byId.big.rows_out + byId.big.skipped + byId.big.errors);
	for (const id of ['enrich', 'mail', 'save']) {
		if (finished) expect(byId[id].rows_in, id).toBe(byId[id].rows_out);
		else expect(byId[id].rows_out, id).toBeLessThanOrEqual(byId[id].rows_in);
	}
	expect(byId.enrich.rows_in).toBeLessThanOrEqual(byId.big.rows_out);
	expect(rows).toHaveLength(result.rowsOut);
	expect(result.rowsOut).toBe(byId.save.rows_out);
	if (finished) {
		const saved = parse(readFileSync(join(tmp.dir, result.outputPath!), 'utf8'), { columns: true }) as Record<string, string>[];
		expect(saved).toHaveLength(KEPT);
		expect(saved.map((r) => r._error)).toEqual(rows.map((r) => (r._error ? String(r._error) : '')));
	}
}

/** Each row is enriched (and, if it lacked one, has an email status) or carries `_error` matching `fault`. */
function expectEveryRowAccounted(rows: Row[], fault: RegExp) {
	for (const row of rows) {
		const error = typeof row._error === 'string' ? row._error : '';
		const enriched = typeof row.title === 'string' && row.title.length > 0 && typeof row.is_american_education === 'boolean';
		if (!enriched) expect(error, `row ${row.name} is neither enriched nor explained`).toMatch(/Enrich Lead: /);
		if (row.email_status == null && (row.email === '' || row.email == null)) {
			expect(error, `row ${row.name} has no email and no reason`).toMatch(/Find Email: /);
		}
		for (const reason of error.split(' | ').filter(Boolean)) expect(reason).toMatch(fault);
	}
}

function expectNoUnhandledRejection() {
	expect(rejections.map(String)).toEqual([]);
}

const apiErrors = (c: Chaos) => c.byId.enrich.errors + c.byId.mail.errors;

describe('API chaos: one fault at a time, one attempt per request (every fault is one row error)', () => {
	it.each([
		['10% 500s', { error500: 0.1 }, 'error_500', /server error \(500\)/],
		['10% malformed JSON bodies', { malformed: 0.1 }, 'malformed', /malformed JSON/],
		['10% connection resets', { reset: 0.1 }, 'reset', /network error/]
	] as const)('%s', async (_label, faults, counter, message) => {
		const chaos = await runChaos({ sim: { faults } });
		expect(chaos.result.status).toBe('completed');
		expect(chaos.stats.faults[counter]).toBeGreaterThan(0);
		expect(apiErrors(chaos)).toBe(chaos.stats.faults[counter]);
		expectEveryRowAccounted(chaos.rows, message);
		expectCountersAddUp(chaos, true);
		expectNoUnhandledRejection();
	});

	it('5% hung requests time out on the client (short timeout) and become row errors', async () => {
		// 800 ms: far above an answer's few ms even on a loaded machine, far below the simulator's hang.
		const chaos = await runChaos({ sim: { faults: { hang: 0.05 } }, service: { requestTimeoutMs: 800, syncEnrichTimeoutMs: 800 } });
		expect(chaos.result.status).toBe('completed');
		expect(chaos.stats.faults.hung).toBeGreaterThan(0);
		expect(apiErrors(chaos)).toBe(chaos.stats.faults.hung);
		expectEveryRowAccounted(chaos.rows, /no answer within 800 ms \(timeout\)/);
		expectCountersAddUp(chaos, true);
		// Nothing waits for the simulator's own hang timeout (10 minutes by default): that would hang the test.
		expectNoUnhandledRejection();
	});

	it('async jobs that end failed or timed_out become row errors naming the end state; nothing is paid for them', async () => {
		const chaos = await runChaos({
			sim: {
				faults: { asyncFailed: 0.1, asyncTimedOut: 0.1 },
				latency: { default: { medianMs: 3 }, async_submit: { medianMs: 1 }, job_status: { medianMs: 1 } }
			},
			service: { asyncMode: { enrichLead: true } }
		});
		expect(chaos.result.status).toBe('completed');
		const { failed, timed_out, completed } = chaos.stats.jobs;
		expect(failed).toBeGreaterThan(0);
		expect(timed_out).toBeGreaterThan(0);
		expect(chaos.byId.enrich.errors).toBe(failed + timed_out);
		expect(completed).toBe(KEPT - failed - timed_out);
		expectEveryRowAccounted(chaos.rows, /ended (failed|timed_out): /);
		expect(chaos.rows.filter((r) => String(r._error).includes('ended failed'))).toHaveLength(failed);
		expect(chaos.rows.filter((r) => String(r._error).includes('ended timed_out'))).toHaveLength(timed_out);
		// Charged: the completed enrichments and the emails found, nothing more.
		expect(chaos.stats.paid_answers).toBe(completed + KEPT_WITHOUT_EMAIL);
		expectCountersAddUp(chaos, true);
		expectNoUnhandledRejection();
	});
});

describe('API chaos: faults the client must ride out', () => {
	it('bursts of 429 with Retry-After: every row enriched, each answer paid once, the pause honoured', async () => {
		// The key allows 15 requests per 400 ms while the client believes it may send 10,000 a second.
		const chaos = await runChaos({ sim: { rateLimit: { requests: 15, windowMs: 400 } }, service: { maxAttempts: 8 }, concurrency: 16 });
		expect(chaos.result.status).toBe('completed');
		expect(chaos.stats.rate_limited).toBeGreaterThan(0);
		expect(apiErrors(chaos)).toBe(0);
		expectEveryRowAccounted(chaos.rows, /^$/);
		expect(chaos.stats.duplicates_paid).toBe(0);
		expect(chaos.stats.paid_answers).toBe(KEPT + KEPT_WITHOUT_EMAIL);
		// Retry-After is ≥ 1 s in the simulator: a run that got 429s waited at least one pause.
		expect(chaos.elapsedMs).toBeGreaterThanOrEqual(1_000);
		expectCountersAddUp(chaos, true);
		expectNoUnhandledRejection();
	});

	it('every fault at once, with retries: every row still enriched, nothing paid twice', async () => {
		const chaos = await runChaos({
			sim: { faults: { error500: 0.1, malformed: 0.05, reset: 0.05, hang: 0.05 } },
			service: { maxAttempts: 8, requestTimeoutMs: 1_000, syncEnrichTimeoutMs: 1_000 }
		});
		expect(chaos.result.status).toBe('completed');
		const faults = chaos.stats.faults;
		expect(faults.error_500 + faults.malformed + faults.reset + faults.hung).toBeGreaterThanOrEqual(10);
		expect(chaos.rows.filter((r) => r._error).map((r) => r._error)).toEqual([]);
		expect(apiErrors(chaos)).toBe(0);
		expectEveryRowAccounted(chaos.rows, /^$/);
		expect(chaos.stats.duplicates_paid).toBe(0);
		expectCountersAddUp(chaos, true);
		expectNoUnhandledRejection();
	});

	it('a 401 mid-run fails the job at once with a message naming the key; rows already out are whole', async () => {
		const chaos = await runChaos({
			sim: { latency: { default: { medianMs: 25, p99Ms: 40 } } },
			concurrency: 4,
			during: { afterMs: 200, act: (sim) => sim.configure({ apiKey: 'another-key' }) }
		});
		expect(chaos.result.status).toBe('failed');
		expect(chaos.result.error).toMatch(/rejected the API key \(401\).*SIXTYFOUR_API_KEY/);
		// It really was mid-run: some answers came before the switch, and not every row got one.
		expect(chaos.stats.paid_answers).toBeGreaterThan(0);
		expect(chaos.stats.paid_answers).toBeLessThan(KEPT + KEPT_WITHOUT_EMAIL);
		expect(chaos.stats.statuses['401']).toBeGreaterThan(0);
		// One 401 is enough: the job stops instead of sending every remaining row to be refused.
		expect(chaos.stats.statuses['401']).toBeLessThanOrEqual(2 * 4);
		for (const block of ['enrich', 'mail', 'save']) expect(['failed', 'completed']).toContain(chaos.byId[block].status);
		expect(chaos.byId.enrich.status).toBe('failed');
		expectEveryRowAccounted(chaos.rows, /^$/);
		expectCountersAddUp(chaos, false);
		expectNoUnhandledRejection();
	});
});
