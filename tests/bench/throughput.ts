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
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { createTaskWebhooks, type TaskWebhooks } from '../../server/enrichment/task-webhooks';
import { WEBHOOK_PATH, createWebhookRoutes } from '../../server/routes/sixtyfour-webhook';

export interface ThroughputScenario {
	name: string;
	rows: number;
	latencyMs: number;
	p99Ms: number;
	ratePerMinute: number;
	concurrency: number;
	asyncMode: boolean;
	/** The limit the client is configured with (default: the key's real one); it learns the real one from the headers. */
	clientRatePerMinute?: number;
	/** Async answers by webhook to a local listener (as with PUBLIC_URL). */
	webhooks?: boolean;
	/** The API block measured (default enrich_lead); find_email with `bulk` groups rows into /find-email-bulk. */
	block?: 'enrich_lead' | 'find_email';
	bulk?: boolean;
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
		'--latency-ms',
		String(s.latencyMs),
		'--p99-ms',
		String(s.p99Ms),
		'--poll-latency-ms',
		'5',
		'--rate-limit',
		String(s.ratePerMinute)
	]);
	const db = openDatabase(':memory:');
	const listener = s.webhooks ? await startWebhookListener() : null;
	try {
		const enrichment = createEnrichmentService({
			apiKey: 'bench-key',
			baseUrl: sim.url,
			db,
			rateLimitPerMinute: s.clientRatePerMinute ?? s.ratePerMinute,
			maxInFlight: s.concurrency,
			asyncMode: { enrichLead: s.asyncMode },
			polling: s.asyncMode ? { initialMs: s.latencyMs, minIntervalMs: 20 } : undefined,
			webhooks: listener?.hooks,
			findEmailBulk: s.bulk ?? false
		});
		const apiBlock =
			s.block === 'find_email'
				? { id: 'enrich', type: 'find_email', params: { only_missing: false, concurrency: s.concurrency } }
				: { id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' }, concurrency: s.concurrency } };
		const workflow = v.parse(WorkflowSchema, {
			name: s.name,
			blocks: [{ id: 'read', type: 'read_csv', params: { path: file } }, apiBlock]
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
		const idealRowsPerSecond =
			s.asyncMode || s.bulk ? Math.min(s.concurrency / (s.latencyMs / 1000), s.ratePerMinute / 60 / requestsPerRow) : idealRequests;
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
		await listener?.close();
	}
}

/** The webhook route on a loopback port, as a server with PUBLIC_URL serves it. */
async function startWebhookListener(): Promise<{ hooks: TaskWebhooks; close(): Promise<void> }> {
	const secret = randomBytes(32).toString('base64url');
	let app: Hono | null = null;
	// The URL needs the port, the routes need the URL: listen first, then build the app.
	const server = createAdaptorServer({ fetch: (req) => app!.fetch(req) }) as Server;
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const hooks = createTaskWebhooks({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${WEBHOOK_PATH}/${secret}` });
	app = new Hono().route('/api/sixtyfour', createWebhookRoutes({ hooks, secret }));
	return { hooks, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export const THROUGHPUT_SCENARIOS: ThroughputScenario[] = [
	{
		name: 'concurrency-bound (200 ms, 50 in flight, 30k/min)',
		rows: 2_000,
		latencyMs: 200,
		p99Ms: 400,
		ratePerMinute: 30_000,
		concurrency: 50,
		asyncMode: false
	},
	{
		name: 'rate-bound (200 ms, 50 in flight, 6k/min)',
		rows: 2_000,
		latencyMs: 200,
		p99Ms: 400,
		ratePerMinute: 6_000,
		concurrency: 50,
		asyncMode: false
	},
	{
		name: 'rate-bound, async + polls (200 ms, 6k/min)',
		rows: 2_000,
		latencyMs: 200,
		p99Ms: 400,
		ratePerMinute: 6_000,
		concurrency: 50,
		asyncMode: true
	},
	{
		name: 'limit configured: async + polls, 6k/min key, 6k/min configured',
		rows: 1_000,
		latencyMs: 200,
		p99Ms: 400,
		ratePerMinute: 6_000,
		concurrency: 50,
		asyncMode: true
	},
	{
		name: 'limit from headers: async + polls, 6k/min key, 500/min configured',
		rows: 1_000,
		latencyMs: 200,
		p99Ms: 400,
		ratePerMinute: 6_000,
		concurrency: 50,
		asyncMode: true,
		clientRatePerMinute: 500
	},
	{
		name: 'rate-bound, async + webhooks (200 ms, 6k/min)',
		rows: 2_000,
		latencyMs: 200,
		p99Ms: 400,
		ratePerMinute: 6_000,
		concurrency: 50,
		asyncMode: true,
		webhooks: true
	},
	{
		name: 'bulk find-email (200 ms, 50 in flight, 6k/min)',
		rows: 2_000,
		latencyMs: 200,
		p99Ms: 400,
		ratePerMinute: 6_000,
		concurrency: 50,
		asyncMode: false,
		block: 'find_email',
		bulk: true
	}
];

/** The seed's sequential baseline: one row at a time (measured on fewer rows: it is slow). */
export const SEQUENTIAL_BASELINE: ThroughputScenario = {
	name: 'sequential baseline (200 ms, 1 at a time)',
	rows: 40,
	latencyMs: 200,
	p99Ms: 400,
	ratePerMinute: 30_000,
	concurrency: 1,
	asyncMode: false
};

export async function benchThroughput(): Promise<ThroughputResult[]> {
	const results: ThroughputResult[] = [];
	for (const scenario of [...THROUGHPUT_SCENARIOS, SEQUENTIAL_BASELINE]) results.push(await measureThroughput(scenario));
	return results;
}

export function formatThroughput(results: ThroughputResult[]): string {
	const baseline = results.find((r) => r.concurrency === 1);
	const lines = [
		'| scenario | rows | rows/s | ideal | of ideal | req/row | 429s | speed-up vs sequential |',
		'|---|---:|---:|---:|---:|---:|---:|---:|'
	];
	for (const r of results) {
		lines.push(
			`| ${r.name} | ${r.rows} | ${r.rowsPerSecond.toFixed(1)} | ${r.idealRowsPerSecond.toFixed(1)} | ${(r.ratioOfIdeal * 100).toFixed(0)}% | ${r.requestsPerRow.toFixed(2)} | ${(r.share429 * 100).toFixed(1)}% | ${baseline ? `${(r.rowsPerSecond / baseline.rowsPerSecond).toFixed(1)}×` : '–'} |`
		);
	}
	const configured = results.find((r) => r.name.startsWith('limit configured'));
	const learnt = results.find((r) => r.name.startsWith('limit from headers'));
	if (configured && learnt) {
		const ratio = learnt.seconds / configured.seconds;
		lines.push(
			'',
			`Limit from headers vs configured: ${learnt.seconds.toFixed(1)} s vs ${configured.seconds.toFixed(1)} s = ${ratio.toFixed(2)}× (target ≤ 1.15×: ${ratio <= 1.15 ? 'met' : 'not met'})`
		);
	}
	return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
	benchThroughput().then((r) => console.log(formatThroughput(r)));
}
