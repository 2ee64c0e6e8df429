/**
 * `GET /metrics` on a real server (rooms and live hub included) against a simulator that answers
 * some 500s and rate-limits: every metric is exposed, and the figures move as sockets open and a
 * small run goes through — checked against what the simulator itself counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import type { RunningServer } from '../../server/index';
import { METRIC_NAMES } from '../../server/metrics';
import { LEAD_COLUMNS, leadRow } from '../helpers/leads-csv';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let sim: RunningSimulator;
let temp: TempDir;
let server: RunningServer;

const ROWS = 12;
const csv =
	[
		LEAD_COLUMNS.join(','),
		...Array.from({ length: ROWS }, (_, i) =>
			leadRow(i)
				.map((c) => (c.includes(',') ? `"${c}"` : c))
				.join(',')
		)
	].join('\n') + '\n';

beforeAll(async () => {
	sim = await startSimulator({
		latency: { default: { medianMs: 5, p99Ms: 20 } },
		faults: { error500: 0.2 },
		rateLimit: { requests: 6, windowMs: 300 }
	});
	temp = await makeTempDir();
	server = await startTestServer(testServerEnv(temp.dir, sim.url, { SIXTYFOUR_ASYNC: 'false', SIXTYFOUR_MAX_ATTEMPTS: '10' }));
});
afterAll(async () => {
	await server?.close();
	await sim?.close();
	await temp?.cleanup();
});

interface Sample {
	name: string;
	labels: Record<string, string>;
	value: number;
}

/** Parses the Prometheus text format (enough of it for these checks). */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
	const types = new Map<string, string>();
	const samples: Sample[] = [];
	for (const line of text.split('\n')) {
		const type = /^# TYPE (\S+) (\S+)$/.exec(line);
		if (type) types.set(type[1], type[2]);
		if (!line || line.startsWith('#')) continue;
		const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
		if (!m) throw new Error(`not an exposition line: ${line}`);
		const labels: Record<string, string> = {};
		for (const [, key, value] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
		samples.push({ name: m[1], labels, value: Number(m[3]) });
	}
	return { types, samples };
}

async function scrape() {
	const res = await fetch(`${server.url}/metrics`);
	expect(res.status).toBe(200);
	expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
	const { types, samples } = parseExposition(await res.text());
	/** The sum of a metric's samples whose labels include `labels`. */
	const value = (name: string, labels: Record<string, string> = {}) =>
		samples
			.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
			.reduce((sum, s) => sum + s.value, 0);
	const has = (name: string, labels: Record<string, string> = {}) =>
		samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
	return { types, samples, value, has };
}

function openSocket(url: string): Promise<WebSocket> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url);
		ws.once('open', () => resolve(ws));
		ws.once('error', reject);
	});
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

async function runJob(filePath: string): Promise<{ status: string }> {
	const res = await fetch(`${server.url}/api/workflows/run`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({
			workflow: {
				name: 'Metrics run',
				blocks: [
					{ id: 'read', type: 'read_csv', params: { path: filePath } },
					{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' } } },
					{ id: 'save', type: 'save_csv', params: { filename: 'metrics' } }
				]
			}
		})
	});
	expect(res.status).toBe(200);
	const { job_id } = (await res.json()) as { job_id: string };
	const job = await server.jobs.settled(job_id);
	return { status: job?.status ?? 'missing' };
}

describe('/metrics', () => {
	it('exposes every metric, with its type, and the Node process metrics (event-loop lag)', async () => {
		const { types, has, value } = await scrape();
		for (const name of METRIC_NAMES) expect(types.has(name), name).toBe(true);
		expect(types.get('leadflow_jobs')).toBe('gauge');
		expect(types.get('leadflow_api_requests_total')).toBe('counter');
		expect(types.get('leadflow_cache_hits_total')).toBe('counter');
		for (const name of ['nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
			expect(has(name), name).toBe(true);
		}
		for (const state of ['pending', 'running', 'completed', 'failed', 'cancelled']) {
			expect(has('leadflow_jobs', { state }), state).toBe(true);
			expect(value('leadflow_jobs', { state })).toBe(0);
		}
		expect(value('leadflow_rows_processed_total')).toBe(0);
	});

	it('counts WebSocket connections per channel and loaded rooms, and lets them go', async () => {
		const created = (await (
			await fetch(`${server.url}/api/workflows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
		).json()) as {
			id: string;
			edit_token: string;
		};
		const origin = server.url.replace(/^http/, 'ws');
		const sockets = [
			await openSocket(`${origin}/yjs/${created.id}?token=${created.edit_token}`),
			await openSocket(`${origin}/live/${created.id}?token=${created.edit_token}`),
			await openSocket(`${origin}/live/${created.id}?token=${created.edit_token}`)
		];
		try {
			await until(
				async () => (await scrape()).value('leadflow_websocket_connections', { channel: 'live' }) === 2,
				'two live clients'
			);
			const m = await scrape();
			expect(m.value('leadflow_websocket_connections', { channel: 'collab' })).toBe(1);
			expect(m.value('leadflow_collab_rooms_loaded')).toBe(1);
			expect(m.value('leadflow_live_rooms')).toBe(1);
		} finally {
			for (const ws of sockets) ws.close();
		}
		await until(async () => (await scrape()).value('leadflow_websocket_connections') === 0, 'sockets to close');
	});

	it('moves with a run: jobs by state, rows, API calls by endpoint and status, 429s, retries, cache', async () => {
		const form = new FormData();
		form.append('file', new Blob([csv], { type: 'text/csv' }), 'leads.csv');
		const upload = await fetch(`${server.url}/api/workflows/upload`, { method: 'POST', body: form });
		expect(upload.status).toBe(200);
		const { file_path } = (await upload.json()) as { file_path: string };

		expect(await runJob(file_path)).toEqual({ status: 'completed' });
		const after = await scrape();
		const simStats = sim.stats();
		expect(after.value('leadflow_jobs', { state: 'completed' })).toBe(1);
		expect(after.value('leadflow_jobs_finished_total', { status: 'completed' })).toBe(1);
		expect(after.value('leadflow_rows_processed_total')).toBe(ROWS);
		expect(after.value('leadflow_block_rows_total', { block_type: 'read_csv' })).toBe(ROWS);
		expect(after.value('leadflow_block_rows_total', { block_type: 'enrich_lead' })).toBe(ROWS);
		// Every answer the simulator sent is counted once, under its endpoint and status.
		expect(after.value('leadflow_api_requests_total')).toBe(simStats.requests);
		for (const [status, n] of Object.entries(simStats.statuses)) {
			expect(after.value('leadflow_api_requests_total', { endpoint: '/enrich-lead', status }), `status ${status}`).toBe(n);
		}
		expect(after.value('leadflow_api_requests_total', { status: '200' })).toBe(ROWS);
		expect(simStats.rate_limited).toBeGreaterThan(0);
		expect(after.value('leadflow_api_rate_limited_total')).toBe(simStats.rate_limited);
		expect(simStats.faults.error_500).toBeGreaterThan(0);
		expect(after.value('leadflow_api_retries_total')).toBe(simStats.requests - ROWS);
		expect(after.value('leadflow_cache_misses_total')).toBe(ROWS);
		expect(after.value('leadflow_cache_hits_total')).toBe(0);
		expect(after.value('leadflow_api_in_flight')).toBe(0);
		expect(after.value('leadflow_api_concurrency_limit')).toBeGreaterThan(0);

		// The same rows again: all from the cache, no new API call.
		expect(await runJob(file_path)).toEqual({ status: 'completed' });
		const again = await scrape();
		expect(again.value('leadflow_cache_hits_total')).toBe(ROWS);
		expect(again.value('leadflow_api_requests_total')).toBe(simStats.requests);
		expect(again.value('leadflow_jobs', { state: 'completed' })).toBe(2);
		expect(again.value('leadflow_rows_processed_total')).toBe(2 * ROWS);
	});

	it.each([
		{ method: 'HEAD', status: 200 },
		{ method: 'POST', status: 405 },
		{ method: 'PUT', status: 405 }
	])('answers $method with $status', async ({ method, status }) => {
		const res = await fetch(`${server.url}/metrics`, { method });
		expect(res.status).toBe(status);
		if (method === 'HEAD') expect(await res.text()).toBe('');
	});
});
