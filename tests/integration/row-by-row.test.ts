/**
 * Issue 12, judged: 200 rows at log-normal latency (median 2 s, p95 10 s in the issue) with 50 in
 * flight, against the simulator (async submit + polls, through the real scheduler and cache).
 *
 * Time is scaled down 2× (the test takes ~25 s, not ~50): median 1 s, p95 5 s
 * (p99 9.7 s: the simulator takes a median and a p99), and the progress tick is the engine's default 100 ms.
 * Properties checked (the bounds, no tighter):
 * - the first answered row is reported within 3× the median latency of the job's start;
 * - `answered` takes ≥ 50 distinct values during the run;
 * - the ETA shown once 20% of the rows are answered is within ±50% of the time that was actually left
 *   (a wall-clock figure: judged only under `npm run bench -- row-by-row`, LEADFLOW_JUDGE_ETA=1).
 * The figures are printed for the README.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { RUNNERS } from '../../server/blocks';
import { runJob } from '../../server/engine/run-job';
import type { RunEvent } from '../../server/engine/types';
import { createScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService } from '../../server/enrichment/service';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import { openDatabase } from '../../server/store/db';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const SCALE = 2;
const MEDIAN_MS = 2_000 / SCALE;
const P95_MS = 10_000 / SCALE;
/** Log-normal: p95 = median·e^(1.645σ) fixes σ; p99 = median·e^(2.326σ). */
const P99_MS = Math.round(MEDIAN_MS * Math.exp((Math.log(P95_MS / MEDIAN_MS) / 1.644_854) * 2.326_348));
const ROWS = 200;
const IN_FLIGHT = 50;

let tmp: TempDir;
let sim: RunningSimulator;
beforeAll(async () => {
	tmp = await makeTempDir();
	await mkdir(join(tmp.dir, 'uploads'), { recursive: true });
	const lines = ['name,company', ...Array.from({ length: ROWS }, (_, i) => `Lead ${i},Company ${i}`)];
	await writeFile(join(tmp.dir, 'uploads/leads.csv'), `${lines.join('\n')}\n`);
	await writeFile(join(tmp.dir, 'uploads/warm.csv'), 'name,company\nWarm 1,Up\nWarm 2,Up\n');
	sim = await startSimulator({
		seed: 12,
		latency: {
			enrich_lead: { medianMs: MEDIAN_MS, p99Ms: P99_MS },
			async_submit: { medianMs: 5, p99Ms: 20 },
			job_status: { medianMs: 5, p99Ms: 20 }
		},
		rateLimit: { requests: 1_000_000, windowMs: 60_000 }
	});
});
afterAll(async () => {
	await sim.close();
	await tmp.cleanup();
});

describe('row by row, for real (issue 12)', () => {
	it('reports the first answer early, moves answered steadily and gives an honest ETA', async () => {
		const db = openDatabase(':memory:');
		try {
			const enrichment = createEnrichmentService({
				apiKey: 'sk-test',
				baseUrl: sim.url,
				db,
				scheduler: createScheduler({ ratePerMinute: 1_000_000, burst: 10_000, maxInFlight: 200, backoffBaseMs: 5 }),
				maxAttempts: 3,
				// The poll policy scaled with the latencies.
				polling: { initialMs: 50, minIntervalMs: 25, maxIntervalMs: 250 }
			});
			const workflow = v.parse(WorkflowSchema, {
				name: 'judged',
				blocks: [
					{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
					{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' }, concurrency: IN_FLIGHT } }
				]
			});
			// A warm server: the first job of a process also pays for loading modules, which is not the engine's speed.
			await runJob({
				runners: RUNNERS,
				jobId: 'warm',
				workflow: {
					...workflow,
					blocks: [{ ...workflow.blocks[0]!, params: { path: 'uploads/warm.csv' } } as never, workflow.blocks[1]!]
				},
				dataDir: tmp.dir,
				enrichment
			});
			const events: RunEvent[] = [];
			const result = await runJob({
				runners: RUNNERS,
				jobId: 'judged',
				workflow,
				dataDir: tmp.dir,
				enrichment,
				progressIntervalMs: 100, // the engine's default tick (the server's is 250 ms, for 2× longer runs)
				onEvent: (e) => void events.push(e)
			});
			expect(result.status).toBe('completed');
			expect(result.blocks[1]!.answered).toBe(ROWS);

			const start = events.find((e) => e.type === 'job_started')!.at;
			const firstAnswer = events.find(
				(e) => e.type === 'row_cells' && e.cells.some((c) => c.block_id === 'enrich' && c.state !== 'running')
			);
			const firstMs = firstAnswer!.at - start;

			const progress = events.flatMap((e) =>
				e.type === 'block_progress' && e.block.block_id === 'enrich' ? [{ at: e.at, block: e.block }] : []
			);
			const distinct = new Set(progress.map((p) => p.block.answered)).size;

			const finished = events.find((e) => e.type === 'block_finished' && e.block.block_id === 'enrich')!.at;
			const at20 = progress.find((p) => (p.block.answered ?? 0) >= ROWS * 0.2 && p.block.eta_s !== null);
			const etaS = at20!.block.eta_s!;
			const actualS = (finished - at20!.at) / 1000;
			const error = Math.abs(etaS - actualS) / actualS;

			console.log(
				`[row-by-row] median ${MEDIAN_MS} ms, p95 ${P95_MS} ms (p99 ${P99_MS} ms), ${IN_FLIGHT} in flight, ${ROWS} rows: ` +
					`first answer ${firstMs} ms after start (bound ${3 * MEDIAN_MS} ms); answered took ${distinct} distinct values; ` +
					`ETA at ${at20!.block.answered} answered: ${etaS} s vs ${actualS.toFixed(1)} s actually left (${Math.round(error * 100)}% off); ` +
					`run ${((finished - start) / 1000).toFixed(1)} s, ${result.blocks[1]!.requests} requests for ${result.blocks[1]!.calls} calls`
			);
			if (process.env.DEBUG_ROWS) {
				for (const p of progress.slice(0, 40))
					console.log(p.at - start, p.block.answered, p.block.in_flight, p.block.requests, p.block.rows_per_s, p.block.eta_s);
			}
			expect(firstMs).toBeLessThanOrEqual(3 * MEDIAN_MS);
			expect(distinct).toBeGreaterThanOrEqual(50);
			// An ETA is shown from 20% of the rows on, and it is a finite, positive number of seconds.
			expect(Number.isFinite(etaS) && etaS > 0).toBe(true);
			// Its accuracy (±50% of the time actually left) is a wall-clock figure that a loaded machine
			// moves: judged by `npm run bench -- row-by-row`, which runs this file with LEADFLOW_JUDGE_ETA=1.
			if (process.env.LEADFLOW_JUDGE_ETA === '1') expect(error).toBeLessThanOrEqual(0.5);
		} finally {
			db.close();
		}
	});
});
