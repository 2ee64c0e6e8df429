/**
 * Jobs posted as raw JSON (no workflow) on a production server: the job id is the capability for
 * its own job, but nobody who does not hold an id, an upload path or an output path is handed one.
 * The open history list is gone: listing every job needs the operator's ADMIN_TOKEN, and a client
 * lists only the ids it names (`?ids=`). Everything the holder could do before still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import type { RunningServer } from '../../server/index';
import type { JobProgress } from '../../server/jobs/job-progress';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const ADMIN = 'operator-secret-0123456789abcdef';
const SECRET_CELL = 'SecretCellOfAlice';

let temp: TempDir;
let server: RunningServer;
/** Alice's anonymous upload and the finished job that read it (with a save_csv output). */
let uploadPath: string;
let jobId: string;
let outputPath: string;
/** A shared workflow (Bob's) with a finished job. */
let shared: { id: string; edit_token: string; view_token: string };
let sharedJobId: string;

const url = (path: string) => `${server.url}${path}`;
const auth = (token: string | null): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
const postJson = (path: string, body: unknown, token: string | null = null) =>
	fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...auth(token) }, body: JSON.stringify(body) });

async function settle(id: string, token: string | null = null): Promise<JobProgress> {
	const deadline = Date.now() + 15_000;
	for (;;) {
		const job = (await (await fetch(url(`/api/workflows/jobs/${id}`), { headers: auth(token) })).json()) as JobProgress;
		if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
		if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

/** The identifiers of Alice's anonymous job that must not reach anyone else. */
const aliceSecrets = () => [jobId, uploadPath, outputPath, SECRET_CELL, uploadPath.replace(/^uploads\//, '').replace(/\.csv$/, '')];

beforeAll(async () => {
	temp = await makeTempDir();
	server = await startTestServer(
		testServerEnv(temp.dir, null, {
			NODE_ENV: 'production',
			ADMIN_TOKEN: ADMIN,
			RATE_LIMIT_WORKFLOWS_PER_MIN: '0',
			RATE_LIMIT_UPLOADS_PER_MIN: '0',
			RATE_LIMIT_RUNS_PER_MIN: '0'
		})
	);
	const form = new FormData();
	form.append('file', new Blob([`name,company\n${SECRET_CELL},Acme\nGrace Hopper,Navy\n`], { type: 'text/csv' }), 'alice.csv');
	const upload = await (await fetch(url('/api/workflows/upload'), { method: 'POST', body: form })).json();
	uploadPath = upload.file_path;
	const run = await postJson('/api/workflows/run', {
		workflow: {
			name: 'Alice private',
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: uploadPath } },
				{ id: 'save', type: 'save_csv', params: { filename: 'alice' } }
			]
		}
	});
	expect(run.status).toBe(200);
	jobId = (await run.json()).job_id;
	const done = await settle(jobId);
	expect(done.status).toBe('completed');
	outputPath = done.output_path!;
	expect(outputPath).toMatch(/^outputs\//);

	shared = await (await postJson('/api/workflows', { name: 'Bob', from: 'filtered' })).json();
	const sharedRun = await postJson('/api/workflows/run', { workflow_id: shared.id, options: { row_limit: 1 } }, shared.edit_token);
	expect(sharedRun.status).toBe(200);
	sharedJobId = (await sharedRun.json()).job_id;
}, 60_000);

afterAll(async () => {
	await server?.close();
	await temp?.cleanup();
});

describe('the job history list', () => {
	it.each([
		{ what: 'no token', path: '/api/workflows/jobs', token: null, status: 401 },
		{ what: 'no token, paged', path: '/api/workflows/jobs?limit=100&offset=0', token: null, status: 401 },
		{ what: 'a wrong operator token', path: '/api/workflows/jobs', token: 'not-the-operator-token-at-all', status: 403 },
		{ what: "a shared workflow's edit token", path: '/api/workflows/jobs?limit=100', token: 'SHARED_EDIT', status: 403 },
		{ what: 'an empty ids list', path: '/api/workflows/jobs?ids=', token: null, status: 400 }
	])('lists nothing to $what ($status)', async ({ path, token, status }) => {
		const res = await fetch(url(path), { headers: auth(token === 'SHARED_EDIT' ? shared.edit_token : token) });
		const text = await res.text();
		expect(res.status, text).toBe(status);
		for (const secret of [...aliceSecrets(), sharedJobId]) expect(text).not.toContain(secret);
	});

	it("lists every job to the operator's ADMIN_TOKEN (anonymous and shared alike)", async () => {
		const res = await fetch(url('/api/workflows/jobs?limit=100'), { headers: auth(ADMIN) });
		expect(res.status).toBe(200);
		const body = await res.json();
		const ids = body.jobs.map((j: { job_id: string }) => j.job_id);
		expect(ids).toEqual(expect.arrayContaining([jobId, sharedJobId]));
		expect(body.total).toBe(ids.length);
	});

	it('lists only the ids a client names, and of them only those it may read', async () => {
		const unknown = randomUUID();
		const res = await fetch(url(`/api/workflows/jobs?ids=${jobId},${unknown},${sharedJobId}`));
		expect(res.status).toBe(200);
		const body = await res.json();
		// The shared workflow's job needs its token, the unknown id is nobody's: both are left out.
		expect(body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([jobId]);
		expect(body.total).toBe(1);
		expect(body.jobs[0]).toMatchObject({ job_id: jobId, status: 'completed', output_path: outputPath, workflow_id: null });

		const withToken = await (
			await fetch(url(`/api/workflows/jobs?ids=${jobId},${sharedJobId}`), { headers: auth(shared.view_token) })
		).json();
		expect(withToken.jobs.map((j: { job_id: string }) => j.job_id).sort()).toEqual([jobId, sharedJobId].sort());
	});

	it.each([
		{ what: 'a malformed id', ids: 'not-a-job' },
		{ what: 'too many ids', ids: Array.from({ length: 101 }, () => randomUUID()).join(',') }
	])('refuses $what with 400 naming ids', async ({ ids }) => {
		const res = await fetch(url(`/api/workflows/jobs?ids=${ids}`));
		expect(res.status).toBe(400);
		expect(JSON.stringify(await res.json())).toContain('ids');
	});
});

describe('no other answer hands out an anonymous job', () => {
	it.each([
		['/api/status'],
		['/api/workflows/blocks'],
		['/metrics'],
		['/healthz'],
		['/api/workflows/source?path=samples/leads.csv'],
		['SHARED_WORKFLOW'],
		['SHARED_HISTORY']
	])('%s', async (which) => {
		const path =
			which === 'SHARED_WORKFLOW'
				? `/api/workflows/${shared.id}?token=${shared.edit_token}`
				: which === 'SHARED_HISTORY'
					? `/api/workflows/jobs?workflow_id=${shared.id}&token=${shared.edit_token}`
					: which;
		const res = await fetch(url(path));
		expect(res.status).toBe(200);
		const text = await res.text();
		for (const secret of aliceSecrets()) expect(text).not.toContain(secret);
	});

	it("a shared workflow's live socket", async () => {
		const frames: string[] = [];
		const ws = new WebSocket(`${server.url.replace('http', 'ws')}/live/${shared.id}?token=${shared.view_token}`);
		ws.on('message', (data) => frames.push(String(data)));
		await new Promise((resolve, reject) => {
			ws.once('open', resolve);
			ws.once('error', reject);
		});
		// A new anonymous run while watching: its events are not broadcast to anyone.
		const run = await postJson('/api/workflows/run', {
			workflow: { name: 'again', blocks: [{ id: 'read', type: 'read_csv', params: { path: uploadPath } }] }
		});
		const again = (await run.json()).job_id as string;
		await settle(again);
		await new Promise((r) => setTimeout(r, 200));
		ws.close();
		expect(frames.length).toBeGreaterThan(0);
		for (const frame of frames) for (const secret of [...aliceSecrets(), again]) expect(frame).not.toContain(secret);
	});
});

describe('the holder of the id keeps the seed’s capability', () => {
	it('reads progress, rows, the CSV and the source preview, and cancels and retries', async () => {
		expect((await settle(jobId)).status).toBe('completed');
		const rows = await (await fetch(url(`/api/workflows/jobs/${jobId}/rows`))).json();
		expect(rows.rows.map((r: { name: string }) => r.name)).toEqual([SECRET_CELL, 'Grace Hopper']);
		expect(await (await fetch(url(`/api/workflows/jobs/${jobId}/download`))).text()).toContain(SECRET_CELL);
		expect((await fetch(url(`/api/workflows/source?path=${encodeURIComponent(uploadPath)}`))).status).toBe(200);
		expect((await fetch(url(`/api/workflows/jobs/${jobId}/cancel`), { method: 'POST' })).status).toBe(200);
		const retry = await fetch(url(`/api/workflows/jobs/${jobId}/retry`), { method: 'POST' });
		expect(retry.status).toBe(200);
		expect((await settle((await retry.json()).job_id)).status).toBe('completed');
	});
});
