import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import type { RunningServer } from '../../server/index';
import type { JobProgress } from '../../server/jobs/job-progress';
import { runServerToExit, startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import { leadRow, LEAD_COLUMNS } from '../helpers/leads-csv';

let sim: RunningSimulator;
let temp: TempDir;
let server: RunningServer;

const ROWS = 60;
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
	sim = await startSimulator({ latency: { default: { medianMs: 5, p99Ms: 20 } } });
	temp = await makeTempDir();
	// One attempt per request: the fault test below needs failures, not retries.
	server = await startTestServer(testServerEnv(temp.dir, sim.url, { SIXTYFOUR_ASYNC: 'false', SIXTYFOUR_MAX_ATTEMPTS: '1' }));
});
afterAll(async () => {
	await server?.close();
	await sim?.close();
	await temp?.cleanup();
});

const api = (path: string, init?: RequestInit) => fetch(`${server.url}/api${path}`, init);
const postJson = (path: string, body: unknown) =>
	api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
async function settle(id: string, timeoutMs = 20_000): Promise<JobProgress> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const job = (await (await api(`/workflows/jobs/${id}`)).json()) as JobProgress;
		if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
		if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}
async function upload(content: string, name = 'leads.csv') {
	const form = new FormData();
	form.append('file', new Blob([content], { type: 'text/csv' }), name);
	return api('/workflows/upload', { method: 'POST', body: form });
}

describe('a real server on an ephemeral port, against the simulator', () => {
	let filePath: string;
	let firstJob: JobProgress;

	it('upload → run → poll → rows → download', async () => {
		const up = await upload(csv);
		expect(up.status).toBe(200);
		const described = await up.json();
		expect(described).toMatchObject({ columns: LEAD_COLUMNS, row_count: ROWS });
		filePath = described.file_path;

		const res = await postJson('/workflows/run', {
			workflow: {
				name: 'Full pipeline',
				blocks: [
					{ id: 'read', type: 'read_csv', params: { path: filePath } },
					{ id: 'big', type: 'filter', params: { expression: 'employees >= 100' } },
					{
						id: 'enrich',
						type: 'enrich_lead',
						params: { struct: { title: 'Job title', is_american_education: { description: 'US undergrad', type: 'bool' } } }
					},
					{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: true } },
					{ id: 'save', type: 'save_csv', params: { filename: 'full' } }
				]
			}
		});
		expect(res.status).toBe(200);
		const { job_id, estimate } = await res.json();
		expect(estimate.max_calls).toBe(ROWS * 2);

		firstJob = await settle(job_id);
		expect(firstJob.status).toBe('completed');
		const kept = Array.from({ length: ROWS }, (_, i) => Number(leadRow(i)[5])).filter((n) => n >= 100).length;
		expect(firstJob.row_count).toBe(kept);
		const [read, filter, enrich, email] = firstJob.results;
		expect(read.rows_out).toBe(ROWS);
		expect(filter.rows_out).toBe(kept);
		expect(enrich).toMatchObject({ rows_in: kept, rows_out: kept, errors: 0 });
		expect(enrich.calls).toBeGreaterThanOrEqual(kept);
		expect(email.skipped).toBeGreaterThan(0); // rows that had an email were not sent

		const rows = await (await api(`/workflows/jobs/${job_id}/rows?limit=1000`)).json();
		expect(rows.rows).toHaveLength(kept);
		for (const row of rows.rows) {
			expect(typeof row.title === 'string' || row._error).toBeTruthy();
			expect(row.email).toBeTruthy();
		}

		const download = await api(`/workflows/jobs/${job_id}/download`);
		expect(download.headers.get('content-disposition')).toMatch(/attachment/);
		const text = await download.text();
		const records = parse(text, { columns: true }) as Record<string, string>[];
		expect(records).toHaveLength(kept);
		expect(Object.keys(records[0])).toEqual(rows.columns);
		expect(text).toBe(await readFile(join(temp.dir, firstJob.output_path!), 'utf8'));
	});

	it('a re-run is served by the cache: no new paid calls', async () => {
		const before = sim.stats().paid_answers;
		const retry = await (await api(`/workflows/jobs/${firstJob.job_id}/retry`, { method: 'POST' })).json();
		const job = await settle(retry.job_id);
		expect(job.status).toBe('completed');
		expect(sim.stats().paid_answers).toBe(before);
		expect(job.results[2].cached).toBe(job.results[2].rows_in);
		expect(job.totals.calls).toBe(0);
	});

	it('retry sends only the rows that failed', async () => {
		const fresh = csv.replace(/\.example/g, '.test'); // new leads: nothing cached
		const { file_path } = await (await upload(fresh)).json();
		const workflow = {
			name: 'flaky',
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: file_path } },
				{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } }
			]
		};
		// Every find-email answer is a 500 for this run: with one attempt per request, every row fails.
		sim.configure({ faults: { error500: 1 } });
		const failedRun = await settle((await (await postJson('/workflows/run', { workflow })).json()).job_id);
		sim.configure({ faults: { error500: 0 } });
		expect(failedRun.status).toBe('completed');
		const failedRows = failedRun.results[1].errors;
		expect(failedRows).toBe(ROWS);

		const before = sim.stats().paid_answers;
		const retried = await settle((await (await api(`/workflows/jobs/${failedRun.job_id}/retry`, { method: 'POST' })).json()).job_id);
		expect(retried.results[1].errors).toBe(0);
		expect(sim.stats().paid_answers - before).toBe(failedRows);

		// And a second retry costs nothing: every row is now cached.
		const again = await settle((await (await api(`/workflows/jobs/${retried.job_id}/retry`, { method: 'POST' })).json()).job_id);
		expect(again.results[1].cached).toBe(ROWS);
		expect(sim.stats().paid_answers - before).toBe(failedRows);
	});

	it('bad input over HTTP: clear 4xx, the server keeps serving, earlier jobs and files intact', async () => {
		const outputBefore = await readFile(join(temp.dir, firstJob.output_path!), 'utf8');
		const bad: [string, () => Promise<Response>, number][] = [
			[
				'traversal',
				() =>
					postJson('/workflows/run', {
						workflow: { blocks: [{ id: 'r', type: 'read_csv', params: { path: '../../../../etc/passwd' } }] }
					}),
				400
			],
			['huge body', () => postJson('/workflows/run', { workflow: { name: 'x'.repeat(5 * 1024 * 1024), blocks: [] } }), 413],
			[
				'malformed',
				() => api('/workflows/run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{{{' }),
				400
			],
			['unknown job', () => api('/workflows/jobs/11111111-1111-4111-8111-111111111111'), 404],
			['unknown route', () => api('/workflows/nope/deeper'), 404],
			['binary upload', () => upload('\u0000\u0001\u0002PNG', 'x.csv'), 415]
		];
		for (const [name, call, status] of bad) {
			const res = await call();
			expect(res.status, name).toBe(status);
			expect((await res.json()).error.code, name).toBeTruthy();
		}
		const job = (await (await api(`/workflows/jobs/${firstJob.job_id}`)).json()) as JobProgress;
		expect(job.status).toBe('completed');
		expect(await readFile(join(temp.dir, firstJob.output_path!), 'utf8')).toBe(outputBefore);
		expect(await readFile(join(temp.dir, filePath), 'utf8')).toBe(csv);
	});

	it('serves the web app (or, before a build, a plain page) outside /api, and refuses unknown upgrades', async () => {
		const built = existsSync(fileURLToPath(new URL('../../build/handler.js', import.meta.url)));
		const page = await fetch(`${server.url}/`);
		expect(page.status).toBe(200);
		expect(await page.text()).toMatch(built ? /<html/i : /API is running/);
		const answer = await rawUpgrade(server.port, '/nowhere');
		expect(answer).toMatch(/^HTTP\/1\.1 404 /);
	});
});

/** Sends a WebSocket upgrade request by hand and returns the first bytes of the answer. */
function rawUpgrade(port: number, path: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket = connect(port, '127.0.0.1', () => {
			socket.write(
				`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
					'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
			);
		});
		let data = '';
		socket.on('data', (d) => (data += d));
		socket.on('close', () => resolve(data));
		socket.on('error', reject);
	});
}

describe('start-up', () => {
	it('a bad setting stops the start with one line naming it, exit code 1', async () => {
		const { code, stderr, stdout } = await runServerToExit({ ...testServerEnv(temp.dir, null), PORT: 'eighty' });
		expect(code).toBe(1);
		expect(stderr.trim().split('\n')).toHaveLength(1);
		expect(stderr).toMatch(/^Invalid configuration: PORT: /);
		expect(stdout).toBe('');
	});
});
