/**
 * Version history through the API and the real server (issue 13): automatic versions after a pause
 * (the idle timer fired by hand: no waiting, no timing), named by the presence names of the people
 * who edited; named versions; versions surviving a restart (and edits pending a version taken at
 * shutdown); restore answering the version and saving the state before it; who started each run;
 * and every bad input refused with the field at fault, a view link refused naming or restoring.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VersionTimers } from '../../server/history/version-history';
import type { RunningServer } from '../../server/index';
import { docToWorkflow, getBlock, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import type { WorkflowInput } from '../../src/lib/workflow/schema';
import { connectProvider, waitFor, type CollabClient } from '../helpers/collab';
import { startTestServer, testServerEnv } from '../helpers/server';
import { bearer, createSharedTestApp, type SharedTestApp, type TestWorkflow } from '../helpers/shared-test-app';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import { waitForJob } from '../helpers/test-app';
import type * as Y from 'yjs';

/** An expression is a whole value (issue 13): an edit replaces it. */
function prefixExpression(doc: Y.Doc, blockId: string, prefix: string): void {
	setParam(
		doc,
		blockId,
		'expression',
		prefix + String((getBlock(doc, blockId)?.params as Record<string, unknown> | undefined)?.expression ?? '')
	);
}

interface Version {
	id: number;
	kind: string;
	name: string | null;
	authors: string[];
	created_by: string | null;
	job_id: string | null;
	bytes: number;
}

/** Timers the test fires itself: an automatic version is taken exactly when the test says so. */
function manualTimers() {
	const waiting = new Set<() => void>();
	const timers: VersionTimers = {
		setTimeout: (fn) => {
			waiting.add(fn);
			return fn;
		},
		clearTimeout: (handle) => void waiting.delete(handle as () => void)
	};
	return {
		timers,
		get size() {
			return waiting.size;
		},
		fire() {
			for (const fn of [...waiting]) {
				waiting.delete(fn);
				fn();
			}
		}
	};
}

describe('versions on the real server', () => {
	let dir: TempDir;
	let server: RunningServer | null = null;
	const clients: CollabClient[] = [];
	beforeAll(async () => {
		dir = await makeTempDir();
	});
	afterEach(async () => {
		for (const c of clients.splice(0)) c.destroy();
		await server?.close();
		server = null;
	});
	afterAll(() => dir.cleanup());

	async function start(timers: VersionTimers) {
		server = await startTestServer(testServerEnv(dir.dir, null), { resumeJobs: false, versions: { timers } });
		return server;
	}

	async function api<T>(path: string, init: { method?: string; token?: string; json?: unknown } = {}) {
		const res = await fetch(`${server!.url}${path}`, {
			method: init.method ?? 'GET',
			headers: { ...bearer(init.token ?? null), ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
			body: init.json === undefined ? undefined : JSON.stringify(init.json)
		});
		return { status: res.status, body: (await res.json()) as T };
	}

	async function versionsOf(w: { id: string; token: string }) {
		const { status, body } = await api<{ versions: Version[] }>(`/api/workflows/${w.id}/versions`, { token: w.token });
		expect(status).toBe(200);
		return body.versions;
	}

	/** A browser-like editor: stock y-websocket client showing `name` in presence. */
	async function editor(id: string, token: string, name: string) {
		const client = connectProvider(`${server!.url.replace(/^http/, 'ws')}/yjs`, id, token);
		clients.push(client);
		await client.synced();
		client.provider.awareness.setLocalState({ user: { name, color: '#4f46e5' } });
		return client;
	}

	it('takes automatic versions after a pause naming the editors, keeps them across a restart, and a view link cannot name or restore', async () => {
		const idle = manualTimers();
		await start(idle.timers);
		const created = await api<{ id: string; edit_token: string; view_token: string }>('/api/workflows', {
			method: 'POST',
			json: { from: 'filtered' }
		});
		const edit = { id: created.body.id, token: created.body.edit_token };
		const view = { id: created.body.id, token: created.body.view_token };
		// The server wrote the new document: a pause later, version 1 (nobody's edits by name).
		await waitFor(() => idle.size > 0, 'an idle timer after the creation');
		idle.fire();
		await expect.poll(() => versionsOf(view)).toHaveLength(1);

		const ada = await editor(edit.id, edit.token, 'Ada');
		prefixExpression(ada.doc, 'only_ariglad', 'lower(');
		await waitFor(() => idle.size > 0, 'an idle timer after Ada’s edit');
		// No pause yet: no version.
		expect(await versionsOf(view)).toHaveLength(1);
		idle.fire();
		await expect.poll(async () => (await versionsOf(view))[0]?.authors).toEqual(['Ada']);
		const afterAda = docToWorkflow(ada.doc);

		const named = await api<Version>(`/api/workflows/${edit.id}/versions`, {
			method: 'POST',
			token: edit.token,
			json: { name: 'Checkpoint', author: 'Ada' }
		});
		expect(named).toMatchObject({ status: 201, body: { kind: 'named', name: 'Checkpoint', created_by: 'Ada', authors: [] } });

		// A view link browses but neither names nor restores; nothing is stored for it.
		const refusedName = await api(`/api/workflows/${view.id}/versions`, { method: 'POST', token: view.token, json: { name: 'Mine' } });
		const refusedRestore = await api(`/api/workflows/${view.id}/versions/${named.body.id}/restore`, {
			method: 'POST',
			token: view.token,
			json: {}
		});
		expect([refusedName.status, refusedRestore.status]).toEqual([403, 403]);
		expect(await versionsOf(view)).toHaveLength(3);

		// An edit pending its pause when the server stops is taken at shutdown.
		prefixExpression(ada.doc, 'only_ariglad', 'x');
		await waitFor(() => idle.size > 0, 'an idle timer after the last edit');
		const last = docToWorkflow(ada.doc);
		for (const c of clients.splice(0)) c.destroy();
		await server!.close();
		server = null;

		await start(manualTimers().timers);
		const listed = await versionsOf(view);
		expect(listed.map((v) => [v.kind, v.name, v.authors])).toEqual([
			['auto', null, ['Ada']],
			['named', 'Checkpoint', []],
			['auto', null, ['Ada']],
			['auto', null, []]
		]);
		const at = async (id: number) =>
			(await api<{ workflow: WorkflowInput }>(`/api/workflows/${view.id}/versions/${id}`, { token: view.token })).body.workflow;
		expect(await at(listed[0]!.id)).toEqual(last);
		expect(await at(named.body.id)).toEqual(afterAda);
		const diff = await api<{ lines: string[]; summary: string }>(`/api/workflows/${view.id}/versions/${listed[3]!.id}/diff`, {
			token: view.token
		});
		expect(diff.body.lines).toEqual([
			'Filter (only_ariglad): expression “contains(company, "Ariglad Inc")” → “xlower(contains(company, "Ariglad Inc")”'
		]);
		expect(diff.body.summary).toBe('1 setting changed');
	});
});

describe('versions API', () => {
	const CSV = 'name,company,employees\nAda,Analytical Engines,120\nGrace,Navy,4000\n';
	let t: SharedTestApp;
	let w: TestWorkflow;
	let other: TestWorkflow;
	let file: string;

	beforeAll(async () => {
		t = await createSharedTestApp();
		w = await t.createWorkflow({ name: 'Kept', blocks: [] });
		file = await t.uploadFor(w, CSV);
		workflowToDoc(
			{
				name: 'Kept',
				blocks: [
					{ id: 'read', type: 'read_csv', params: { path: file } },
					{ id: 'keep', type: 'filter', params: { expression: 'employees >= 100' } },
					{ id: 'save', type: 'save_csv', params: { filename: 'kept' } }
				]
			},
			await t.doc(w.id)
		);
		other = await t.createWorkflow({ name: 'Other', blocks: [] });
	});
	afterAll(() => t?.close());

	function call(method: string, url: string, token: string | null, json?: unknown) {
		return t.app.request(url, {
			method,
			headers: { ...bearer(token), ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
			body: json === undefined ? undefined : JSON.stringify(json)
		});
	}

	async function named(name: string) {
		const res = await call('POST', `/api/workflows/${w.id}/versions`, w.editToken, { name });
		expect(res.status).toBe(201);
		return (await res.json()) as Version;
	}

	it('refuses bad input with the field at fault, wrong tokens with 401/403, unknown versions with 404', async () => {
		const v = await named('Base');
		const base = `/api/workflows/${w.id}/versions`;
		const cases: [string, string, string | null, unknown, number, string | null][] = [
			['POST', base, w.editToken, {}, 400, 'name'],
			['POST', base, w.editToken, { name: '   ' }, 400, 'name'],
			['POST', base, w.editToken, { name: 'x'.repeat(81) }, 400, 'name'],
			['POST', base, w.editToken, { name: 42 }, 400, 'name'],
			['POST', base, w.editToken, { name: 'ok', author: 'x'.repeat(41) }, 400, 'author'],
			['POST', base, w.editToken, { name: 'ok', extra: true }, 400, 'extra'],
			['POST', base, w.viewToken, { name: 'ok' }, 403, null],
			['POST', base, other.editToken, { name: 'ok' }, 403, null],
			['POST', base, null, { name: 'ok' }, 401, null],
			['GET', `${base}?limit=0`, w.viewToken, undefined, 400, 'limit'],
			['GET', `${base}?limit=abc`, w.viewToken, undefined, 400, 'limit'],
			['GET', `${base}?before=-1`, w.viewToken, undefined, 400, 'before'],
			['GET', `${base}/abc`, w.viewToken, undefined, 400, 'version'],
			['GET', `${base}/0`, w.viewToken, undefined, 400, 'version'],
			['GET', `${base}/1.5/diff`, w.viewToken, undefined, 400, 'version'],
			['GET', `${base}/999999`, w.viewToken, undefined, 404, null],
			['GET', `${base}/${v.id}`, other.viewToken, undefined, 403, null],
			['GET', `/api/workflows/${other.id}/versions/${v.id}`, other.viewToken, undefined, 404, null],
			['GET', `/api/workflows/${other.id}/versions/${v.id}/diff`, other.viewToken, undefined, 404, null],
			['POST', `${base}/${v.id}/restore`, w.viewToken, {}, 403, null],
			['POST', `${base}/${v.id}/restore`, w.editToken, { author: '' }, 400, 'author'],
			['POST', `${base}/${v.id}/restore`, w.editToken, { by: 'Ada' }, 400, 'by'],
			['POST', `${base}/999999/restore`, w.editToken, {}, 404, null],
			['POST', `/api/workflows/${other.id}/versions/${v.id}/restore`, other.editToken, {}, 404, null]
		];
		const before = await t.versions.list(w.id, { limit: 100 });
		for (const [method, url, token, json, status, path] of cases) {
			const res = await call(method, url, token, json);
			const body = (await res.json()) as { error: { issues?: { path: string }[] } };
			expect(res.status, `${method} ${url} ${JSON.stringify(json)}`).toBe(status);
			if (path) expect(body.error.issues?.map((i) => i.path)).toContain(path);
		}
		// Nothing refused was stored.
		expect(await t.versions.list(w.id, { limit: 100 })).toEqual(before);
		expect(await t.versions.list(other.id, { limit: 100 })).toEqual([]);
	});

	it('pages the list newest first', async () => {
		for (const name of ['p1', 'p2', 'p3']) await named(name);
		const first = (await (await call('GET', `/api/workflows/${w.id}/versions?limit=2`, w.viewToken)).json()) as {
			versions: Version[];
			next_before: number;
		};
		expect(first.versions.map((v) => v.name)).toEqual(['p3', 'p2']);
		const next = (await (
			await call('GET', `/api/workflows/${w.id}/versions?limit=2&before=${first.next_before}`, w.viewToken)
		).json()) as {
			versions: Version[];
		};
		expect(next.versions.map((v) => v.name)).toEqual(['p1', 'Base']);
	});

	it('restore answers the version, saves the state before it, and the result is that version once applied', async () => {
		const doc = await t.doc(w.id);
		const kept = await named('Before edits');
		const then = docToWorkflow(doc);
		prefixExpression(doc, 'keep', '!(');
		const edited = docToWorkflow(doc);
		const res = await call('POST', `/api/workflows/${w.id}/versions/${kept.id}/restore`, w.editToken, { author: 'Grace' });
		expect(res.status).toBe(200);
		const answer = (await res.json()) as { restored: Version; saved: Version; workflow: WorkflowInput };
		expect(answer.restored.id).toBe(kept.id);
		expect(answer.workflow).toEqual(then);
		expect(answer.saved).toMatchObject({ kind: 'restore', name: `Before restoring version ${kept.id}`, created_by: 'Grace' });
		expect(await t.versions.workflowAt(w.id, answer.saved.id)).toEqual(edited);
		// What the editor does with the answer: one transaction over the live document.
		workflowToDoc(answer.workflow, doc);
		expect(docToWorkflow(doc)).toEqual(then);
	});

	it('a run records who started it, on the job and as a run version', async () => {
		const run = await call('POST', '/api/workflows/run', w.editToken, { workflow_id: w.id, started_by: '  Ada  ' });
		expect(run.status).toBe(200);
		const { job_id } = (await run.json()) as { job_id: string };
		await waitForJob(
			async () => (await call('GET', `/api/workflows/jobs/${job_id}`, w.viewToken)).json() as Promise<{ status: string }>
		);
		const jobs = (await (await call('GET', `/api/workflows/jobs?workflow_id=${w.id}`, w.viewToken)).json()) as {
			jobs: { job_id: string; started_by: string | null; started_at: string | null; finished_at: string | null; status: string }[];
		};
		expect(jobs.jobs[0]).toMatchObject({ job_id, started_by: 'Ada', status: 'completed' });
		expect(jobs.jobs[0]!.started_at).not.toBeNull();
		expect(jobs.jobs[0]!.finished_at).not.toBeNull();
		const [latest] = await t.versions.list(w.id, { limit: 1 });
		expect(latest).toMatchObject({ kind: 'run', jobId: job_id, createdBy: 'Ada' });

		for (const [startedBy, path] of [
			['', 'started_by'],
			['x'.repeat(41), 'started_by'],
			[7, 'started_by']
		] as const) {
			const bad = await call('POST', '/api/workflows/run', w.editToken, { workflow_id: w.id, started_by: startedBy });
			const body = (await bad.json()) as { error: { issues: { path: string }[] } };
			expect(bad.status).toBe(400);
			expect(body.error.issues.map((i) => i.path)).toContain(path);
		}
	});
});
