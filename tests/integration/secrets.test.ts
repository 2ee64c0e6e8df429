/**
 * The Sixtyfour API key never leaves the server: not in a response (body or header) of any route,
 * page or operational endpoint, not in a live WebSocket frame, not in a log line (pino output
 * captured at trace level), not in an error message — even when the API itself echoes the key back
 * in its errors — and not in the web build made with the key in its environment.
 *
 * The key is recognisable (`sk-test-LEAKCHECK-123`) and really in use: the simulator accepts no
 * other, so the successful runs below prove the server held it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ConfigError, loadConfig } from '../../server/config';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import type { RunningServer } from '../../server/index';
import { createLogger } from '../../server/log';
import { startFakeSixtyfour, type FakeHandler, type FakeSixtyfour } from '../helpers/fake-sixtyfour';
import { isolatedBuild, type IsolatedBuild } from '../helpers/isolated-build';
import { LEAD_COLUMNS, leadRow } from '../helpers/leads-csv';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const KEY = 'sk-test-LEAKCHECK-123';
const ADMIN = 'operator-token-of-the-leak-check';

/** Everything the servers said: responses, frames, log lines. Checked by every test and at the end. */
const seen: { what: string; text: string }[] = [];
const logLines: string[] = [];
const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void logLines.push(line) }, secret: KEY });

let build: IsolatedBuild;
let sim: RunningSimulator;
let fake: FakeSixtyfour;
let temps: TempDir[] = [];
let server: RunningServer;
/** A server whose "API" echoes the key back in every error it gives. */
let echoServer: RunningServer;

const ROWS = 6;
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
	build = await isolatedBuild('leakcheck', { SIXTYFOUR_API_KEY: KEY });
	sim = await startSimulator({ apiKey: KEY, latency: { default: { medianMs: 5, p99Ms: 20 } } });
	fake = await startFakeSixtyfour(() => ({ status: 500, body: { detail: 'not scripted' } }));
	temps = [await makeTempDir(), await makeTempDir()];
	const env = {
		SIXTYFOUR_API_KEY: KEY,
		SIXTYFOUR_POLL_INITIAL_MS: '20',
		SIXTYFOUR_MAX_ATTEMPTS: '1',
		LOG_LEVEL: 'trace',
		ADMIN_TOKEN: ADMIN
	};
	server = await startTestServer(testServerEnv(temps[0].dir, sim.url, env), {
		logger,
		pages: () => build.loadHandler()
	});
	echoServer = await startTestServer(testServerEnv(temps[1].dir, fake.url, env), { logger });
}, 180_000);

afterAll(async () => {
	await server?.close();
	await echoServer?.close();
	await sim?.close();
	await fake?.close();
	for (const t of temps) await t.cleanup();
});

interface Answer {
	status: number;
	text: string;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of every route, probed field by field
	json: any;
}

/** One HTTP exchange, recorded whole (status, every header, body). */
async function call(base: RunningServer, what: string, path: string, init: RequestInit = {}): Promise<Answer> {
	const res = await fetch(`${base.url}${path}`, init);
	const text = await res.text();
	seen.push({ what: `${what} (${init.method ?? 'GET'} ${path})`, text: `${res.status}\n${JSON.stringify([...res.headers])}\n${text}` });
	let json: unknown = null;
	try {
		json = JSON.parse(text);
	} catch {
		// not JSON (a page, a CSV, metrics)
	}
	return { status: res.status, text, json };
}

const postJson = (base: RunningServer, what: string, path: string, body: unknown) =>
	call(base, what, path, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: typeof body === 'string' ? body : JSON.stringify(body)
	});

function uploadForm(content: string, name = 'leads.csv', workflowId?: string): FormData {
	const form = new FormData();
	form.append('file', new Blob([content], { type: 'text/csv' }), name);
	if (workflowId) form.append('workflow_id', workflowId);
	return form;
}

function leaks(): string[] {
	return seen.filter((s) => s.text.includes(KEY)).map((s) => s.what);
}

async function settle(base: RunningServer, jobId: string) {
	const job = await base.jobs.settled(jobId);
	expect(job, `job ${jobId}`).not.toBeNull();
	return job!;
}

describe('the API key', () => {
	it('is not in the web build made with the key in its environment (client bundle, server output)', async () => {
		async function* files(dir: string): AsyncGenerator<string> {
			for (const entry of await readdir(dir, { withFileTypes: true })) {
				const path = join(dir, entry.name);
				if (entry.isDirectory()) yield* files(path);
				else yield path;
			}
		}
		let checked = 0;
		for (const dir of [join(build.dir, 'build'), join(build.dir, '.svelte-kit', 'output')]) {
			for await (const file of files(dir)) {
				const bytes = await readFile(file);
				expect(bytes.includes(KEY), file).toBe(false);
				checked++;
			}
		}
		expect(checked).toBeGreaterThan(20);
	});

	it('is in no answer of any route while workflows are made, uploaded to, run, read and downloaded', async () => {
		const created = await postJson(server, 'create', '/api/workflows', { from: 'basic' });
		expect(created.status).toBe(201);
		const { id, edit_token: edit, view_token: view } = created.json as { id: string; edit_token: string; view_token: string };

		// Live frames of the workflow while it runs.
		const frames: string[] = [];
		const live = new WebSocket(`${server.url.replace(/^http/, 'ws')}/live/${id}?token=${view}`);
		live.on('message', (data) => frames.push(String(data)));
		await new Promise((resolve, reject) => live.once('open', resolve).once('error', reject));

		const anon = await call(server, 'anonymous upload', '/api/workflows/upload', { method: 'POST', body: uploadForm(csv) });
		expect(anon.status).toBe(200);
		const owned = await call(server, 'workflow upload', `/api/workflows/upload?token=${edit}`, {
			method: 'POST',
			body: uploadForm(csv, 'mine.csv', id)
		});
		expect(owned.status).toBe(200);
		const blocks = [
			{ id: 'read', type: 'read_csv', params: { path: anon.json.file_path } },
			{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' } } },
			{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } },
			{ id: 'save', type: 'save_csv', params: { filename: 'leak' } }
		];
		expect((await postJson(server, 'estimate', '/api/workflows/estimate', { workflow: { name: 'Leak', blocks } })).status).toBe(200);
		const posted = await postJson(server, 'run', '/api/workflows/run', { workflow: { name: 'Leak', blocks } });
		expect(posted.status).toBe(200);
		const postedJob = await settle(server, posted.json.job_id);
		expect(postedJob.status).toBe('completed');

		const shared = await postJson(server, 'shared run', `/api/workflows/run?token=${edit}`, {
			workflow_id: id,
			options: { row_limit: 3 }
		});
		expect(shared.status).toBe(200);
		expect((await settle(server, shared.json.job_id)).status).toBe('completed');

		const job = posted.json.job_id as string;
		const sharedJob = shared.json.job_id as string;
		const reads: [string, string][] = [
			['status', '/api/status'],
			['blocks', '/api/workflows/blocks'],
			['workflow (edit)', `/api/workflows/${id}?token=${edit}`],
			['workflow (view)', `/api/workflows/${id}?token=${view}`],
			['export', `/api/workflows/${id}/export?token=${view}`],
			['source', `/api/workflows/source?path=${encodeURIComponent(anon.json.file_path)}`],
			['sample source', '/api/workflows/source?path=samples/leads.csv'],
			['history (named ids)', `/api/workflows/jobs?ids=${job},${sharedJob}&token=${view}`],
			['workflow history', `/api/workflows/jobs?workflow_id=${id}&token=${view}`],
			['job', `/api/workflows/jobs/${job}`],
			['rows', `/api/workflows/jobs/${job}/rows`],
			['error rows', `/api/workflows/jobs/${job}/rows?errors=only`],
			['download', `/api/workflows/jobs/${job}/download`],
			['shared job', `/api/workflows/jobs/${sharedJob}?token=${view}`],
			['shared rows', `/api/workflows/jobs/${sharedJob}/rows?token=${view}`],
			['shared download', `/api/workflows/jobs/${sharedJob}/download?token=${view}`],
			['health', '/healthz'],
			['metrics', '/metrics'],
			['home page', '/'],
			['workflow page', `/w/${id}?token=${edit}`],
			['favicon', '/favicon.svg']
		];
		for (const [what, path] of reads) expect((await call(server, what, path)).status, what).toBe(200);
		const history = await call(server, 'history (the operator)', '/api/workflows/jobs', {
			headers: { authorization: `Bearer ${ADMIN}` }
		});
		expect(history.status).toBe(200);
		expect((await call(server, 'retry', `/api/workflows/jobs/${job}/retry`, { method: 'POST' })).status).toBe(200);
		expect((await call(server, 'cancel finished', `/api/workflows/jobs/${job}/cancel`, { method: 'POST' })).status).toBe(200);

		await new Promise((r) => setTimeout(r, 200));
		live.close();
		expect(frames.length).toBeGreaterThan(3);
		for (const frame of frames) seen.push({ what: 'live frame', text: frame });
		expect(leaks()).toEqual([]);
	});

	it.each([
		{ what: 'unknown API route', method: 'GET', path: '/api/nope' },
		{ what: 'malformed JSON', method: 'POST', path: '/api/workflows/run', body: '{"workflow":' },
		{ what: 'invalid workflow', method: 'POST', path: '/api/workflows/run', body: '{"workflow":{"blocks":[{"type":"nope"}]}}' },
		{
			what: 'missing file',
			method: 'POST',
			path: '/api/workflows/run',
			body: '{"workflow":{"name":"x","blocks":[{"id":"r","type":"read_csv","params":{"path":"uploads/none.csv"}}]}}'
		},
		{ what: 'path traversal', method: 'GET', path: '/api/workflows/source?path=../../etc/passwd' },
		{ what: 'bad import', method: 'POST', path: '/api/workflows', body: '{"from":{"blocks":7}}' },
		{ what: 'unknown workflow', method: 'GET', path: '/api/workflows/AAAAAAAAAAAAAAAAAAAAAA?token=x' },
		{ what: 'unknown job', method: 'GET', path: '/api/workflows/jobs/nope/rows' },
		{ what: 'bad paging', method: 'GET', path: '/api/workflows/jobs?limit=-1' },
		{
			what: 'upload without a file',
			method: 'POST',
			path: '/api/workflows/upload',
			body: 'x',
			type: 'multipart/form-data; boundary=zz'
		},
		{ what: 'unknown page', method: 'GET', path: '/no/such/page' },
		{ what: 'metrics by POST', method: 'POST', path: '/metrics' }
	])('is in no error answer: $what', async ({ what, method, path, body, type }) => {
		const res = await call(server, what, path, {
			method,
			...(body ? { body, headers: { 'content-type': type ?? 'application/json' } } : {})
		});
		if (path.startsWith('/api/')) expect(res.status).toBeGreaterThanOrEqual(400);
		expect(leaks()).toEqual([]);
	});

	it('is in no job error when the API refuses the key (401), nor in the logs of it', async () => {
		sim.configure({ apiKey: 'someone-elses-key' });
		try {
			const run = await postJson(server, 'run refused', '/api/workflows/run', {
				workflow: {
					name: 'Refused',
					blocks: [
						{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
						{ id: 'enrich', type: 'enrich_lead', params: { struct: { refused_field: 'Something not cached yet' } } }
					]
				}
			});
			const job = await settle(server, run.json.job_id);
			expect(job.status).toBe('failed');
			expect(job.error).toMatch(/401/);
			const answer = await call(server, 'failed job', `/api/workflows/jobs/${job.id}`);
			expect(answer.text).toMatch(/401/);
		} finally {
			sim.configure({ apiKey: KEY });
		}
		expect(leaks()).toEqual([]);
	});

	it('is in no message even when the API echoes it back in its errors (400, failed task, 401)', async () => {
		const echo =
			(status: number): FakeHandler =>
			(req) => ({ status, body: { detail: `Invalid API key: ${String(req.headers['x-api-key'])}` } });
		const up = await call(echoServer, 'echo upload', '/api/workflows/upload', { method: 'POST', body: uploadForm(csv) });
		const read = { id: 'read', type: 'read_csv', params: { path: up.json.file_path } };
		const cases: { name: string; handler: FakeHandler; block: object; status: string }[] = [
			{
				name: 'find-email 400',
				handler: echo(400),
				block: { id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } },
				status: 'completed'
			},
			{
				name: 'async task failed',
				handler: (req) =>
					req.path.startsWith('/job-status/')
						? { body: { status: 'failed', id: 't1', error: `key ${String(req.headers['x-api-key'])} is not allowed` } }
						: { body: { task_id: 't1', status: 'RUNNING' } },
				block: { id: 'enrich', type: 'enrich_lead', params: { struct: { echoed: 'A' } } },
				status: 'completed'
			},
			{
				name: 'enrich 401',
				handler: echo(401),
				block: { id: 'enrich', type: 'enrich_lead', params: { struct: { echoed: 'B' } } },
				status: 'failed'
			}
		];
		for (const c of cases) {
			fake.setHandler(c.handler);
			const run = await postJson(echoServer, `echo run ${c.name}`, '/api/workflows/run', {
				workflow: { name: c.name, blocks: [read, c.block] }
			});
			expect(run.status, c.name).toBe(200);
			const job = await settle(echoServer, run.json.job_id);
			expect(job.status, c.name).toBe(c.status);
			expect(fake.requests.at(-1)?.headers['x-api-key'], 'the fake saw the key').toBe(KEY);
			const answer = await call(echoServer, `echo job ${c.name}`, `/api/workflows/jobs/${job.id}`);
			const rows = await call(echoServer, `echo rows ${c.name}`, `/api/workflows/jobs/${job.id}/rows`);
			if (c.status === 'completed')
				expect(
					rows.json.rows.some(
						(r: Record<string, unknown>) =>
							String(r._error ?? '').includes('Invalid') || String(r._error ?? '').includes('not allowed')
					),
					c.name
				).toBe(true);
			else expect(answer.json.error, c.name).toMatch(/401/);
		}
		expect(leaks()).toEqual([]);
	});

	it('is in no row, CSV, live frame or _error when the API puts it into task ids and results', async () => {
		// The same key as a JSON string with every character \u-escaped: it parses to the key.
		const escaped = [...KEY].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
		const result = `{"notes":"seen ${KEY}","structured_data":{"leaked_title":"CTO ${KEY}","leaked_escaped":"${escaped}","${KEY}":"as a field name"},"findings":["${KEY}"],"references":{"${escaped}":"ref"},"confidence_score":7}`;
		const up = await call(echoServer, 'echo upload 2', '/api/workflows/upload', { method: 'POST', body: uploadForm(csv) });
		const read = { id: 'read', type: 'read_csv', params: { path: up.json.file_path } };
		const save = { id: 'save', type: 'save_csv', params: { filename: 'echoed' } };
		const cases = [
			{
				name: 'key in results',
				handler: ((req) => {
					if (req.path.startsWith('/job-status/'))
						return { body: `{"status":"completed","id":"task-ok","result":${result},"charge_amount":1}` };
					if (req.path === '/find-email')
						return {
							body: `{"email":[["${escaped}@example.com","OK","WORK"]],"personal_email":"${KEY}@example.com","note":"${KEY}"}`
						};
					return { body: { task_id: 'task-ok', status: 'RUNNING' } };
				}) as FakeHandler,
				blocks: [
					read,
					{ id: 'enrich', type: 'enrich_lead', params: { struct: { leaked_title: 'Job title', leaked_escaped: 'Anything' } } },
					{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } },
					save
				]
			},
			{
				name: 'key in the task id',
				handler: ((req) =>
					req.path.startsWith('/job-status/')
						? { body: { status: 'completed', result: JSON.parse(result) } }
						: { body: { task_id: `task-${KEY}`, status: 'RUNNING' } }) as FakeHandler,
				blocks: [read, { id: 'enrich', type: 'enrich_lead', params: { struct: { leaked_task: 'Job title' } } }, save]
			}
		];
		for (const c of cases) {
			fake.setHandler(c.handler);
			const created = await postJson(echoServer, `echo create ${c.name}`, '/api/workflows', {
				from: { name: c.name, blocks: c.blocks }
			});
			expect(created.status, c.name).toBe(201);
			const { id, edit_token: edit, view_token: view } = created.json as { id: string; edit_token: string; view_token: string };
			const frames: string[] = [];
			const live = new WebSocket(`${echoServer.url.replace(/^http/, 'ws')}/live/${id}?token=${view}`);
			live.on('message', (data) => frames.push(String(data)));
			await new Promise((resolve, reject) => live.once('open', resolve).once('error', reject));
			const before = fake.requests.length;
			const run = await postJson(echoServer, `echo run ${c.name}`, `/api/workflows/run?token=${edit}`, { workflow_id: id });
			expect(run.status, c.name).toBe(200);
			const job = await settle(echoServer, run.json.job_id);
			expect(fake.requests.length, `${c.name}: the fake was called`).toBeGreaterThan(before);
			await call(echoServer, `echo job ${c.name}`, `/api/workflows/jobs/${job.id}?token=${view}`);
			const rows = await call(echoServer, `echo rows ${c.name}`, `/api/workflows/jobs/${job.id}/rows?token=${view}`);
			expect(rows.status, c.name).toBe(200);
			await call(echoServer, `echo error rows ${c.name}`, `/api/workflows/jobs/${job.id}/rows?errors=only&token=${view}`);
			await call(echoServer, `echo history ${c.name}`, `/api/workflows/jobs?workflow_id=${id}&token=${view}`);
			if (job.status === 'completed')
				await call(echoServer, `echo download ${c.name}`, `/api/workflows/jobs/${job.id}/download?token=${view}`);
			await new Promise((r) => setTimeout(r, 100));
			live.close();
			expect(frames.length, c.name).toBeGreaterThan(0);
			for (const frame of frames) seen.push({ what: `echo live frame ${c.name}`, text: frame });
			if (c.name === 'key in results') {
				expect(job.status).toBe('completed');
				expect(rows.text, 'the answers reached the rows, scrubbed').toContain('CTO [redacted]');
			} else {
				// The key is never sent back to the API in a poll URL, nor kept as a task to resume.
				expect(
					fake.requests
						.slice(before)
						.filter((r) => r.path.includes(KEY))
						.map((r) => r.path)
				).toEqual([]);
				expect(`${job.error ?? ''} ${rows.text}`).toMatch(/task id/);
			}
			expect(leaks(), c.name).toEqual([]);
		}
	});

	it('is in no configuration error', () => {
		for (const env of [
			{ SIXTYFOUR_API_KEY: KEY, PORT: 'not-a-port' },
			{ SIXTYFOUR_API_KEY: KEY, SIXTYFOUR_BASE_URL: 'ftp://nope' },
			{ SIXTYFOUR_API_KEY: KEY, RATE_LIMIT_UPLOADS_PER_MIN: '-1' }
		]) {
			let message = '';
			try {
				loadConfig({ env, envFile: null });
			} catch (err) {
				expect(err).toBeInstanceOf(ConfigError);
				message = (err as Error).message;
			}
			expect(message).toMatch(/Invalid configuration/);
			expect(message).not.toContain(KEY);
		}
	});

	it('is in no log line, though the logs saw every run, refusal and failure', () => {
		expect(logLines.length).toBeGreaterThan(20);
		expect(logLines.some((l) => l.includes('"job started"'))).toBe(true);
		expect(logLines.some((l) => l.includes('401'))).toBe(true);
		expect(logLines.filter((l) => l.includes(KEY))).toEqual([]);
		expect(leaks()).toEqual([]);
	});
});
