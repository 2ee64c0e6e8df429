/**
 * Progress counts answers: an API block's `answered` rises as calls settle, in whatever order,
 * while an early slow row still holds the ordered output back; `in_flight` stays within the
 * block's concurrency; `requests` (polls included) is apart from billable `calls`; the ETA is null
 * until it means something; a finished block keeps its average rows/s and total time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as v from 'valibot';
import { RUNNERS } from '../../server/blocks';
import { BlockTracker } from '../../server/engine/progress';
import { runJob } from '../../server/engine/run-job';
import type { BlockProgress, RunEvent } from '../../server/engine/types';
import { createScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService } from '../../server/enrichment/service';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import type { EnrichmentService } from '../../server/enrichment/types';
import { openDatabase } from '../../server/store/db';
import { BlockProgressSchema } from '../../src/lib/workflow/protocol';
import { WorkflowSchema, type Row } from '../../src/lib/workflow/schema';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const ROWS = 30;
const CONCURRENCY = 8;
let tmp: TempDir;
beforeAll(async () => {
	tmp = await makeTempDir();
	await writeLeadsCsv(join(tmp.dir, 'uploads/leads.csv'), ROWS);
});
afterAll(() => tmp.cleanup());

const workflow = v.parse(WorkflowSchema, {
	name: 'progress',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' }, concurrency: CONCURRENCY } }
	]
});

/**
 * A fake API whose first row answers only when the test says so; every other row answers at once
 * (on a timer turn), so answers complete out of order.
 */
function gatedEnrichment() {
	let releaseFirst = () => {};
	const first = new Promise<void>((resolve) => (releaseFirst = resolve));
	let inFlight = 0;
	let peak = 0;
	const service: EnrichmentService = {
		async enrichLead(request, { meter }) {
			meter.calls++;
			meter.requests += 2; // a submit and a poll
			inFlight++;
			peak = Math.max(peak, inFlight);
			try {
				if (String(request.lead_info.name).endsWith(' 0')) await first;
				else await new Promise((resolve) => setTimeout(resolve, 0));
				meter.costCents += 1;
				return { notes: null, structured_data: { title: 'CTO' }, findings: [], references: null, confidence_score: 7 };
			} finally {
				inFlight--;
			}
		},
		enrichCompany: () => Promise.reject(new Error('not used')),
		findEmail: () => Promise.reject(new Error('not used')),
		findPhone: () => Promise.reject(new Error('not used'))
	};
	return { service, releaseFirst, peak: () => peak };
}

function enrichBlocks(events: RunEvent[]): BlockProgress[] {
	const out: BlockProgress[] = [];
	for (const e of events) if ('block' in e && e.block.block_id === 'enrich') out.push(e.block);
	return out;
}

describe('progress of an API block', () => {
	it('counts answers as they complete, before any row leaves the ordered output', async () => {
		const fake = gatedEnrichment();
		const events: RunEvent[] = [];
		let released = false;
		const rows: Row[] = [];
		const result = await runJob({
			runners: RUNNERS,
			jobId: 'j',
			workflow,
			dataDir: tmp.dir,
			enrichment: fake.service,
			progressIntervalMs: 1,
			onEvent: (e) => {
				events.push(e);
				// Every row but the first has answered: now let the first one answer too.
				if (!released && 'block' in e && e.block.block_id === 'enrich' && (e.block.answered ?? 0) >= ROWS - 1) {
					released = true;
					fake.releaseFirst();
				}
			},
			onRows: (batch) => void rows.push(...batch)
		});
		expect(result.status).toBe('completed');
		expect(rows).toHaveLength(ROWS);
		const seen = enrichBlocks(events);
		for (const block of seen) expect(v.parse(BlockProgressSchema, JSON.parse(JSON.stringify(block)))).toEqual(block);

		// Answers were counted while the slow first row kept every row in the output window.
		const early = seen.find((b) => (b.answered ?? 0) >= ROWS - 1 && b.status === 'running');
		expect(early).toBeDefined();
		expect(early!.rows_out).toBe(0);
		expect(early!.in_flight).toBe(1);
		// Never more rows in flight than the block's concurrency.
		expect(Math.max(...seen.map((b) => b.in_flight ?? 0))).toBeLessThanOrEqual(CONCURRENCY);
		expect(fake.peak()).toBe(CONCURRENCY);
		// No ETA from the first second's nothing.
		expect(seen[0].eta_s).toBeNull();

		const final = result.blocks[1];
		expect(final).toMatchObject({ status: 'completed', answered: ROWS, in_flight: 0, calls: ROWS, requests: 2 * ROWS, eta_s: 0 });
		expect(final.duration_ms).toBeGreaterThan(0);
		expect(final.rows_per_s).toBeCloseTo(ROWS / (final.duration_ms / 1000), 0);
	});
});

describe('against the simulator (async tasks: submit, then polls)', () => {
	let sim: RunningSimulator;
	beforeAll(async () => {
		sim = await startSimulator({ seed: 4, latency: { enrich_lead: { medianMs: 30, p99Ms: 60 } } });
	});
	afterAll(() => sim.close());

	it('counts one billable call per row and every request apart, polls included', async () => {
		const db = openDatabase(':memory:');
		try {
			const enrichment = createEnrichmentService({
				apiKey: 'sk-test',
				baseUrl: sim.url,
				db,
				scheduler: createScheduler({ ratePerMinute: 600_000, burst: 1_000, maxInFlight: 20, backoffBaseMs: 5 }),
				maxAttempts: 3,
				polling: { initialMs: 10, minIntervalMs: 5, maxIntervalMs: 40 }
			});
			const result = await runJob({ runners: RUNNERS, jobId: 'sim', workflow, dataDir: tmp.dir, enrichment });
			expect(result.status).toBe('completed');
			const block = result.blocks[1];
			expect(block.calls).toBe(ROWS);
			expect(block.requests).toBe(sim.stats().requests);
			expect(block.requests).toBeGreaterThan(block.calls);
			expect(block.answered).toBe(ROWS);
		} finally {
			db.close();
		}
	});
});

describe('BlockTracker rows/s and ETA (explicit clock)', () => {
	/** An enrich_lead tracker fed `perSecond` answers a second for `seconds`, snapshotted every 100 ms. */
	function feed(tracker: BlockTracker, from: number, seconds: number, perSecond: number): BlockProgress[] {
		const out: BlockProgress[] = [];
		let owed = 0;
		for (let t = from + 100; t <= from + seconds * 1000; t += 100) {
			owed += perSecond / 10;
			const whole = Math.floor(owed);
			tracker.counters.answered += whole;
			owed -= whole;
			out.push(tracker.snapshot(t));
		}
		return out;
	}

	it('shows no ETA at first, then a steady one; a stall moves it at most ×2 a second', () => {
		const tracker = new BlockTracker('enrich', 'enrich_lead');
		tracker.counters.total = 10_000;
		tracker.start(0);
		expect(tracker.snapshot(0).eta_s).toBeNull();
		const steady = feed(tracker, 0, 20, 50);
		expect(steady[0].eta_s).toBeNull(); // 5 answers in 100 ms say nothing yet
		const last = steady.at(-1)!;
		expect(last.rows_per_s).toBeCloseTo(50, 0);
		expect(last.eta_s).toBeGreaterThanOrEqual(170); // 9,000 rows left at 50/s
		expect(last.eta_s).toBeLessThan(200);
		// The answers nearly stop (1 a second): the raw estimate would leap to ~9,000 s.
		const stalled = feed(tracker, 20_000, 5, 1);
		let previous = last.eta_s!;
		for (const snap of stalled) {
			expect(snap.eta_s).not.toBeNull();
			expect(snap.eta_s!).toBeLessThanOrEqual(Math.ceil(previous * 2 ** 0.1) + 1);
			previous = snap.eta_s!;
		}
		expect(previous).toBeLessThan(9_000);
	});

	it('a finished block keeps its average rows/s and total time', () => {
		const tracker = new BlockTracker('enrich', 'enrich_lead');
		tracker.counters.total = 100;
		tracker.start(1_000);
		tracker.counters.answered = 100;
		tracker.counters.rowsOut = 100;
		tracker.finish('completed', 5_000);
		expect(tracker.snapshot(9_000)).toMatchObject({ rows_per_s: 25, eta_s: 0, duration_ms: 4_000, answered: 100 });
	});
});
