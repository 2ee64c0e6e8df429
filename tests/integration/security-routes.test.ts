/**
 * Every route and socket of a shared workflow against every kind of token, on the real server
 * (rooms, live channel and workflow routes, SQLite, job manager, a simulator that holds enrichment calls so a job
 * stays running): the exact status, nothing changed by a refusal, and no answer carrying another
 * workflow's data. Plus a run by workflow_id that snapshots the document a browser edited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import type { RunningServer } from '../../server/index';
import type { JobProgress } from '../../server/jobs/job-progress';
import { docToWorkflow, setName, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import { WorkflowSchema, type WorkflowInput } from '../../src/lib/workflow/schema';
import { rawClient } from '../helpers/collab';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

interface Shared {
	id: string;
	editToken: string;
	viewToken: string;
}

const SECRET_A = 'SecretCellOfA';
const SECRET_B = 'SecretCellOfB';
const csvOf = (secret: string) => `name,company,employees\n${secret},Ariglad Inc,120\nGrace Hopper,Navy,4000\nAda Lovelace,Engines,12\n`;

let sim: RunningSimulator;
let temp: TempDir;
let server: RunningServer;
let a: Shared;
let b: Shared;
let aFile: string;
let bFile: string;
/** A finished job of A, and one held running by the simulator. */
let finished: JobProgress;
let runningId: string;
const docs: { doc: Y.Doc; provider: WebsocketProvider }[] = [];

const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}/api${path}`, init);
const auth = (token: string | null): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
const postJson = (path: string, body: unknown, token: string | null) =>
	api(path, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(token) }, body: JSON.stringify(body) });
const getJob = async (id: string, token: string): Promise<JobProgress> =>
	(await api(`/workflows/jobs/${id}`, { headers: auth(token) })).json();
async function settle(id: string, token: string, until = (j: JobProgress) => ['completed', 'failed', 'cancelled'].includes(j.status)) {
	const deadline = Date.now() + 10_000;
	for (;;) {
		const job = await getJob(id, token);
		if (until(job)) return job;
		if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

async function createWorkflow(name: string): Promise<Shared> {
	const res = await postJson('/workflows', { name }, null);
	const body = await res.json();
	return { id: body.id, editToken: body.edit_token, viewToken: body.view_token };
}

function uploadForm(csv: string, workflowId: string | null) {
	const form = new FormData();
	form.append('file', new Blob([csv], { type: 'text/csv' }), 'leads.csv');
	if (workflowId) form.set('workflow_id', workflowId);
	return form;
}

/** Opens the workflow's room as a browser does (real y-websocket provider) and waits for sync. */
async function openRoom(w: Shared): Promise<Y.Doc> {
	const doc = new Y.Doc();
	const provider = new WebsocketProvider(`${server.url.replace('http', 'ws')}/yjs`, w.id, doc, {
		params: { token: w.editToken },
		WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
		disableBc: true
	});
	docs.push({ doc, provider });
	await new Promise<void>((resolve) => (provider.synced ? resolve() : provider.once('sync', () => resolve())));
	return doc;
}

/** Resolves once the server's copy of A's document equals `doc` (edits travel over the socket). */
async function serverHas(w: Shared, doc: Y.Doc) {
	const want = JSON.stringify(docToWorkflow(doc));
	const deadline = Date.now() + 5_000;
	for (;;) {
		const body = await (await api(`/workflows/${w.id}`, { headers: auth(w.viewToken) })).json();
		if (JSON.stringify(body.workflow) === want) return;
		if (Date.now() > deadline) throw new Error('the server never saw the edit');
		await new Promise((r) => setTimeout(r, 20));
	}
}

const flow = (path: string, extra: WorkflowInput['blocks'] = []): WorkflowInput => ({
	name: 'Leads of A',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path } },
		{ id: 'keep', type: 'filter', params: { expression: 'employees >= 100' } },
		...extra,
		{ id: 'save', type: 'save_csv', params: { filename: 'kept' } }
	]
});

beforeAll(async () => {
	// Enrichment answers take a minute: a job that enriches stays `running` for the whole file.
	sim = await startSimulator({ latency: { default: { medianMs: 60_000, p99Ms: 60_000 } } });
	temp = await makeTempDir();
	server = await startTestServer(testServerEnv(temp.dir, sim.url, { SIXTYFOUR_ASYNC: 'false', MAX_CONCURRENT_JOBS: '4' }));
	a = await createWorkflow('Workflow A');
	b = await createWorkflow('Workflow B');
	const up = async (w: Shared, secret: string) =>
		(
			await (
				await api('/workflows/upload', { method: 'POST', body: uploadForm(csvOf(secret), w.id), headers: auth(w.editToken) })
			).json()
		).file_path as string;
	aFile = await up(a, SECRET_A);
	bFile = await up(b, SECRET_B);
});
afterAll(async () => {
	for (const { doc, provider } of docs) {
		provider.destroy();
		doc.destroy();
	}
	await server?.close();
	await sim?.close();
	await temp?.cleanup();
});

describe('a run by workflow_id', () => {
	it('runs the document as the room holds it and records that snapshot with the job', async () => {
		const doc = await openRoom(a);
		workflowToDoc(flow(aFile), doc);
		setName(doc, 'Edited in the room');
		setParam(doc, 'keep', 'expression', 'employees >= 1000');
		await serverHas(a, doc);
		const expected = v.parse(WorkflowSchema, docToWorkflow(doc));

		// The posted workflow is stale: the server must use the room's document.
		const res = await postJson('/workflows/run', { workflow_id: a.id, workflow: flow('samples/leads.csv') }, a.editToken);
		expect(res.status).toBe(200);
		const { job_id } = await res.json();
		finished = await settle(job_id, a.viewToken);
		expect(finished).toMatchObject({ status: 'completed', workflow_id: a.id, row_count: 1 });
		expect(finished.workflow).toEqual(expected);
		expect(finished.sample_data.map((r) => r.name)).toEqual(['Grace Hopper']);

		// A second job that enriches: held running by the simulator for the route table below.
		workflowToDoc(flow(aFile, [{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' } } }]), doc);
		await serverHas(a, doc);
		const second = await (await postJson('/workflows/run', { workflow_id: a.id }, a.editToken)).json();
		runningId = second.job_id;
		await settle(runningId, a.viewToken, (j) => j.status === 'running');
		// Back to a quick document, so runs the table starts finish at once.
		workflowToDoc(flow(aFile), doc);
		await serverHas(a, doc);
	});
});

type Token = 'none' | 'wrong' | 'other' | 'view' | 'edit';
type Via = 'bearer' | 'query';
interface Route {
	name: string;
	level: 'view' | 'edit';
	/** Status with a token good enough. */
	ok: number;
	call: (token: string | null, via: Via) => Promise<Response>;
}

const withToken = (path: string, token: string | null, via: Via) =>
	via === 'query' && token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path;
const send = (path: string, token: string | null, via: Via, init: RequestInit = {}) =>
	api(withToken(path, token, via), {
		...init,
		headers: { ...(init.headers as Record<string, string>), ...(via === 'bearer' ? auth(token) : {}) }
	});
const json = (body: unknown): RequestInit => ({
	method: 'POST',
	headers: { 'content-type': 'application/json' },
	body: JSON.stringify(body)
});

const ROUTES: Route[] = [
	{ name: 'GET /workflows/:id', level: 'view', ok: 200, call: (t, via) => send(`/workflows/${a.id}`, t, via) },
	{ name: 'GET /workflows/:id/export', level: 'view', ok: 200, call: (t, via) => send(`/workflows/${a.id}/export`, t, via) },
	{ name: 'POST /run', level: 'edit', ok: 200, call: (t, via) => send('/workflows/run', t, via, json({ workflow_id: a.id })) },
	{ name: 'POST /estimate', level: 'view', ok: 200, call: (t, via) => send('/workflows/estimate', t, via, json({ workflow_id: a.id })) },
	{ name: 'GET /jobs?workflow_id', level: 'view', ok: 200, call: (t, via) => send(`/workflows/jobs?workflow_id=${a.id}`, t, via) },
	{ name: 'GET /jobs/:id', level: 'view', ok: 200, call: (t, via) => send(`/workflows/jobs/${finished.job_id}`, t, via) },
	{ name: 'GET /jobs/:id/rows', level: 'view', ok: 200, call: (t, via) => send(`/workflows/jobs/${finished.job_id}/rows`, t, via) },
	{
		name: 'GET /jobs/:id/rows?errors=only',
		level: 'view',
		ok: 200,
		call: (t, via) => send(`/workflows/jobs/${finished.job_id}/rows?errors=only`, t, via)
	},
	{
		name: 'GET /jobs/:id/download',
		level: 'view',
		ok: 200,
		call: (t, via) => send(`/workflows/jobs/${finished.job_id}/download`, t, via)
	},
	{ name: 'GET /source', level: 'view', ok: 200, call: (t, via) => send(`/workflows/source?path=${encodeURIComponent(aFile)}`, t, via) },
	{
		name: 'POST /jobs/:id/cancel',
		level: 'edit',
		ok: 200,
		call: (t, via) => send(`/workflows/jobs/${runningId}/cancel`, t, via, { method: 'POST' })
	},
	{
		name: 'POST /jobs/:id/retry',
		level: 'edit',
		ok: 200,
		call: (t, via) => send(`/workflows/jobs/${finished.job_id}/retry`, t, via, { method: 'POST' })
	},
	{
		name: 'POST /upload',
		level: 'edit',
		ok: 200,
		call: (t, via) => send('/workflows/upload', t, via, { method: 'POST', body: uploadForm(csvOf('fresh'), a.id) })
	}
];

const tokenOf = (kind: Token): string | null =>
	({ none: null, wrong: 'W'.repeat(32), other: b.editToken, view: a.viewToken, edit: a.editToken })[kind];
const expected = (route: Route, kind: Token) =>
	kind === 'none' ? 401 : kind === 'wrong' || kind === 'other' ? 403 : kind === 'view' && route.level === 'edit' ? 403 : route.ok;

/** Everything a refused request must leave as it was. */
async function state() {
	const all = await server.jobStore.list({ offset: 0, limit: 1_000 });
	return {
		jobs: all.jobs.map((j) => `${j.id}:${j.status}:${j.workflowId}`).sort(),
		uploads: (await readdir(join(temp.dir, 'uploads'))).sort(),
		uploadRows: server.db.prepare('SELECT id, workflow_id FROM uploads ORDER BY id').all(),
		document: JSON.stringify((await (await api(`/workflows/${a.id}`, { headers: auth(a.editToken) })).json()).workflow)
	};
}

// Refusals first (each must change nothing, so the held job is still running), then the successes.
const cases: [string, Token, Via][] = [];
for (const good of [false, true]) {
	for (const via of ['bearer', 'query'] as Via[]) {
		for (const route of ROUTES) {
			for (const kind of ['none', 'wrong', 'other', 'view', 'edit'] as Token[]) {
				const refused = expected(route, kind) !== route.ok;
				if (refused !== good) cases.push([route.name, kind, via]);
			}
		}
	}
}

describe('every route of a shared workflow × every kind of token', () => {
	it.each(cases)('%s with the %s token (%s)', async (name, kind, via) => {
		const route = ROUTES.find((r) => r.name === name)!;
		const status = expected(route, kind);
		const before = status === route.ok ? null : await state();
		const res = await route.call(tokenOf(kind), via);
		const text = await res.text();
		expect(res.status, text.slice(0, 300)).toBe(status);
		// B's data never appears on A's routes; a view token never sees the edit token.
		expect(text).not.toContain(SECRET_B);
		expect(text).not.toContain(b.viewToken);
		if (kind !== 'edit') expect(text).not.toContain(a.editToken);
		if (before) {
			expect(JSON.parse(text).error.code).toBe(status === 401 ? 'unauthorized' : 'forbidden');
			for (const secret of [SECRET_A, a.viewToken, 'Grace Hopper', 'Edited in the room']) expect(text).not.toContain(secret);
			expect(await state()).toEqual(before);
			expect((await server.jobStore.get(runningId))!.status).toBe('running');
		}
	});

	it('the held job was cancelled by its edit token only, and retries stayed with A', async () => {
		expect((await server.jobStore.get(runningId))!.status).toBe('cancelled');
		const { jobs } = await server.jobStore.list({ offset: 0, limit: 1_000 });
		const retries = jobs.filter((j) => j.retryOf === finished.job_id);
		expect(retries.length).toBe(2); // one per way of sending the edit token
		expect(retries.every((j) => j.workflowId === a.id)).toBe(true);
	});

	it('lists no job of a shared workflow without its workflow_id (the full list is the operator’s)', async () => {
		const res = await api('/workflows/jobs?limit=100', { headers: auth(a.editToken) });
		expect(res.status).toBe(403);
		const text = await res.text();
		expect(text).not.toContain(finished.job_id);
		expect(text).not.toContain(runningId);
		const ofB = await (await api(`/workflows/jobs?workflow_id=${b.id}`, { headers: auth(b.viewToken) })).json();
		expect(ofB.total).toBe(0);
	});

	it("refuses B's token on A's sockets and lets A's view token in", async () => {
		const ws = server.url.replace('http', 'ws');
		for (const path of ['yjs', 'live']) {
			for (const [token, status] of [
				[null, 401],
				['W'.repeat(32), 403],
				[b.editToken, 403]
			] as const) {
				const client = rawClient(`${ws}/${path}/${a.id}${token ? `?token=${token}` : ''}`);
				expect(await client.refused, `${path} ${token}`).toBe(status);
			}
			const viewer = rawClient(`${ws}/${path}/${a.id}?token=${a.viewToken}`);
			await viewer.opened;
			viewer.ws.close();
			await viewer.closed;
		}
	});

	it("refuses A's run of B's upload with the path of the block", async () => {
		const doc = docs[0].doc;
		workflowToDoc(flow(bFile), doc);
		await serverHas(a, doc);
		const before = await state();
		const res = await postJson('/workflows/run', { workflow_id: a.id }, a.editToken);
		expect(res.status).toBe(400);
		const text = await res.text();
		expect(JSON.parse(text).error.issues).toContainEqual({
			path: 'workflow.blocks.0.params.path',
			message: 'this file belongs to another workflow'
		});
		expect(text).not.toContain(SECRET_B);
		expect(await state()).toEqual(before);
	});
});
