/**
 * Benchmark 1 — enrichment throughput against the standalone simulator.
 *
 * For each scenario: rows/s of read_csv → enrich_lead over distinct leads, as a fraction of the
 * ideal `min(concurrency / median latency, rate limit)`, the share of 429 answers, and requests per
 * row; beside it the seed's one-row-at-a-time baseline. Runnable alone: `npx tsx tests/bench/throughput.ts`.
 */
import { RUNNERS } from '../../server/blocks';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as v from 'valibot';
import { runJob } from '../../server/engine/run-job';
import { createEnrichmentService } from '../../server/enrichment/service';
import { openDatabase } from '../../server/store/db';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { generateLeadsFile } from '../../scripts/generate-leads';
import { spawnSimulator } from './sim-process';

export interface ThroughputScenario {
	name: string;
	rows: number;
	latencyMs: number;
	p99Ms: number;
	ratePerMinute: number;
	concurrency: number;
	asyncMode: boolean;
}

export interface ThroughputResult extends ThroughputScenario {
	seconds: number;
	rowsPerSecond: number;
	idealRowsPerSecond: number;
	ratioOfIdeal: number;
	requests: number;
	requestsPerRow: number;
	share429: number;
	errors: number;
}

const DATA_DIR = resolve('data/bench');

export async function measureThroughput(s: ThroughputScenario): Promise<ThroughputResult> {
	mkdirSync(join(DATA_DIR, 'uploads'), { recursive: true });
	const file = `uploads/throughput-${s.rows}.csv`;
	await generateLeadsFile({ rows: s.rows, path: join(DATA_DIR, file), seed: 7 });
	const sim = await spawnSimulator([
		'--latency-ms', String(s.latencyMs),
		'--p99-ms', String(s.p99Ms),
		'--poll-latency-ms', '5',
		'--rate-limit', String(s.ratePerMinute)
	]);
	const db = openDatabase(':memory:');
	try {
		const enrichment = createEnrichmentService({
			apiKey: 'bench-key',
			baseUrl: sim.url,
			db,
			rateLimitPerMinute: s.ratePerMinute,
			maxInFlight: s.concurrency,
			asyncMode: { enrichLead: s.asyncMode },
			polling: s.asyncMode ? { initialMs: s.latencyMs, minIntervalMs: 20 } : undefined
		});
		const workflow = v.parse(WorkflowSchema, {
			name: s.name,
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: file } },
				{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' }, concurrency: s.concurrency } }
			]
		});
		const started = performance.now();
		const result = await runJob({ runners: RUNNERS, jobId: `bench-${s.name}`, workflow, dataDir: DATA_DIR, enrichment });
		const seconds = (performance.now() - started) / 1000;
		if (result.status !== 'completed') throw new Error(`${s.name}: job ${result.status}: ${result.error}`);
		const stats = await sim.stats();
		const rowsPerSecond = s.rows / seconds;
		const requestsPerRow = stats.requests / s.rows;
		const idealRequests = Math.min(s.concurrency / (s.latencyMs / 1000), s.ratePerMinute / 60);
		// Async rows cost submit + polls: the ideal row rate is the ideal request rate ÷ requests per row
		// when the rate limit binds.
		const idealRowsPerSecond = s.asyncMode
			? Math.min(s.concurrency / (s.latencyMs / 1000), s.ratePerMinute / 60 / requestsPerRow)
			: idealRequests;
		return {
			...s,
			seconds,
			rowsPerSecond,
			idealRowsPerSecond,
			ratioOfIdeal: rowsPerSecond / idealRowsPerSecond,
			requests: stats.requests,
			requestsPerRow,
			share429: stats.rate_limited / Math.max(1, stats.requests),
			errors: result.blocks[1].errors
		};
	} finally {
		db.close();
		await sim.close();
	}
}

export const THROUGHPUT_SCENARIOS: ThroughputScenario[] = [
	{ name: 'concurrency-bound (200 ms, 50 in flight, 30k/min)', rows: 2_000, latencyMs: 200, p99Ms: 400, ratePerMinute: 30_000, concurrency: 50, asyncMode: false },
	{ name: 'rate-bound (200 ms, 50 in flight, 6k/min)', rows: 2_000, latencyMs: 200, p99Ms: 400, ratePerMinute: 6_000, concurrency: 50, asyncMode: false },
	{ name: 'rate-bound, async + polls (200 ms, 6k/min)', rows: 2_000, latencyMs: 200, p99Ms: 400, ratePerMinute: 6_000, concurrency: 50, asyncMode: true }
];

/** The seed's sequential baseline: one row at a time (measured on fewer rows: it is slow). */
export const SEQUENTIAL_BASELINE: ThroughputScenario = {
	name: 'sequential baseline (200 ms, 1 at a time)', rows: 40, latencyMs: 200, p99Ms: 400, ratePerMinute: 30_000, concurrency: 1, asyncMode: false
};

export async function benchThroughput(): Promise<ThroughputResult[]> {
	const results: ThroughputResult[] = [];
	for (const scenario of [...THROUGHPUT_SCENARIOS, SEQUENTIAL_BASELINE]) results.push(await measureThroughput(scenario));
	return results;
}

export function formatThroughput(results: ThroughputResult[]): string {
	const baseline = results.find((r) => r.concurrency === 1);
	const lines = ['| scenario | rows | rows/s | ideal | of ideal | req/row | 429s | speed-up vs sequential |', '|---|---:|---:|---:|---:|---:|---:|---:|'];
	for (const r of results) {
		lines.push(
			`| ${r.name} | ${r.rows} | ${r.rowsPerSecond.toFixed(1)} | ${r.idealRowsPerSecond.toFixed(1)} | ${(r.ratioOfIdeal * 100).toFixed(0)}% | ${r.requestsPerRow.toFixed(2)} | ${(r.share429 * 100).toFixed(1)}% | ${baseline ? `${(r.rowsPerSecond / baseline.rowsPerSecond).toFixed(1)}×` : '–'} |`
		);
	}
	return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
	benchThroughput().then((r) => console.log(formatThroughput(r)));
}
