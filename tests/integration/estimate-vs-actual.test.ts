/**
 * An estimate that matches the bill (issue 12): every bundled example (data/examples/*.json) runs
 * against the simulator through the real client, scheduler, poll policy and cache, and for every
 * API block the requests actually sent lie within the estimate's bounds for the calls paid; the
 * estimate-vs-actual table is printed for the README.
 *
 * The simulator's demo latencies (enrich ≈ 3 s median, 8 s p99; find-email 1.5 s) are scaled down
 * 10× with the poll policy (first poll at the expected latency, 200 ms before anything is seen):
 * the number of polls depends on latency ÷ expected latency, which the scaling keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { RUNNERS } from '../../server/blocks';
import { runJob } from '../../server/engine/run-job';
import { createEnrichmentService } from '../../server/enrichment/service';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import { compareWithEstimate } from '../../server/jobs/estimate-vs-actual';
import type { RequestModel } from '../../server/jobs/estimate';
import type { JobRecord } from '../../server/store/job-store';
import { openDatabase } from '../../server/store/db';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const DATA = join(import.meta.dirname, '../../data');
const EXAMPLES = readdirSync(join(DATA, 'examples')).filter((f) => f.endsWith('.json'));
const MODEL: RequestModel = { asyncEnrich: true, webhooks: false, findEmailBulk: true };

let sim: RunningSimulator;
let tmp: TempDir;
beforeAll(async () => {
	tmp = await makeTempDir();
	sim = await startSimulator({
		seed: 64,
		latency: {
			default: { medianMs: 300, p99Ms: 800 },
			find_email: { medianMs: 150, p99Ms: 400 },
			find_phone: { medianMs: 150, p99Ms: 400 },
			async_submit: { medianMs: 6, p99Ms: 25 },
			job_status: { medianMs: 4, p99Ms: 20 }
		},
		rateLimit: { requests: 600_000, windowMs: 60_000 }
	});
});
afterAll(async () => {
	await sim.close();
	await tmp.cleanup();
});

describe('estimate vs actual on the bundled examples', () => {
	it.each(EXAMPLES)('%s: actual requests lie within the estimate’s bounds', async (file) => {
		const workflow = v.parse(WorkflowSchema, JSON.parse(readFileSync(join(DATA, 'examples', file), 'utf8')));
		const db = openDatabase(':memory:');
		try {
			const enrichment = createEnrichmentService({
				apiKey: 'sk-test',
				baseUrl: sim.url,
				db,
				rateLimitPerMinute: 600_000,
				polling: { initialMs: 200, minIntervalMs: 10, maxIntervalMs: 1_500 },
				findEmailBulk: MODEL.findEmailBulk
			});
			const result = await runJob({
				runners: RUNNERS,
				jobId: file,
				workflow,
				dataDir: DATA,
				outputDir: tmp.dir,
				enrichment
			});
			expect(result.status, result.error ?? '').toBe('completed');
			const job = { id: file, workflow, options: {} } as unknown as JobRecord;
			const report = compareWithEstimate(job, result.blocks, MODEL);
			expect(report.blocks.length).toBeGreaterThan(0);
			for (const b of report.blocks) {
				const e = b.estimate;
				console.log(
					`[estimate] ${file} ${b.block_id} (${b.block_type}): rows ${b.actual.rows}/${e.max_rows ?? '∞'}, calls ${b.actual.calls}/${e.max_calls ?? '∞'}, ` +
						`cached ${b.actual.cached}, errors ${b.actual.errors}, requests ${b.actual.requests} (estimate ${e.expected_requests ?? '?'}, ` +
						`bounds ${e.requests_low ?? '?'}–${e.requests_high ?? '?'}; per call ${b.requests_per_call.actual} vs ${b.requests_per_call.low}–${b.requests_per_call.high}), ` +
						`cost ${b.actual.cost_cents}¢/${e.max_cost_cents ?? '∞'}¢ — ${b.explanation.join('; ') || 'as estimated'}`
				);
				expect(b.within_bounds, `${file} ${b.block_id}: ${b.actual.requests} requests for ${b.actual.calls} calls`).toBe(true);
				// The estimate is an upper bound on calls and cost.
				if (e.max_calls !== null) expect(b.actual.calls).toBeLessThanOrEqual(e.max_calls);
				if (e.max_cost_cents !== null) expect(b.actual.cost_cents).toBeLessThanOrEqual(e.max_cost_cents + 1e-9);
				if (e.requests_high !== null) expect(b.actual.requests).toBeLessThanOrEqual(e.requests_high);
			}
		} finally {
			db.close();
		}
	});
});
