import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { join } from 'node:path';
import { toErrorResponse } from '../../server/http-error';
import { openDatabase } from '../../server/store/db';
import { createSqliteWorkflowsRepo, type WorkflowsRepo } from '../../server/store/workflows-repo';
import { createWorkflowRoutes, listExamples, type WorkflowDocs } from '../../server/routes/workflows';
import { WorkflowSchema, type Workflow, type WorkflowInput } from '../../src/lib/workflow/schema';
import * as v from 'valibot';

const EXAMPLES_DIR = join(import.meta.dirname, '../../data/examples');

/** Documents kept as JSON text, as a collab server would keep them: nothing shared by reference. */
function memoryDocs(): WorkflowDocs & { docs: Map<string, string> } {
	const docs = new Map<string, string>();
	return {
		docs,
		async createDoc(id, workflow) {
			docs.set(id, JSON.stringify(workflow));
		},
		async snapshot(id) {
			const text = docs.get(id);
			if (!text) throw new Error(`no document ${id}`);
			return JSON.parse(text) as WorkflowInput;
		}
	};
}

function setup(options: { docs?: WorkflowDocs; maxBodyBytes?: number } = {}) {
	const db = openDatabase(':memory:');
	const workflows = createSqliteWorkflowsRepo(db);
	const docs = options.docs ?? memoryDocs();
	const app = new Hono().route(
		'/api/workflows',
		createWorkflowRoutes({ workflows, docs, examplesDir: EXAMPLES_DIR, maxBodyBytes: options.maxBodyBytes })
	);
	app.onError((err, c) => {
		const { status, body } = toErrorResponse(err);
		return c.json(body, status);
	});
	const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
		app.request('/api/workflows', { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
	const create = async (body: unknown = {}) => {
		const res = await post(body);
		expect(res.status).toBe(201);
		return (await res.json()) as Created;
	};
	const get = (path: string, token?: string, how: 'query' | 'bearer' = 'query') => {
		const url = token && how === 'query' ? `${path}?token=${encodeURIComponent(token)}` : path;
		const headers: Record<string, string> = token && how === 'bearer' ? { authorization: `Bearer ${token}` } : {};
		return app.request(url, { headers });
	};
	return { app, db, workflows, docs, post, create, get };
}

interface Created {
	id: string;
	name: string;
	edit_url: string;
	view_url: string;
	edit_token: string;
	view_token: string;
}

const validImport: WorkflowInput = {
	name: 'Imported',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
		{ id: 'keep', type: 'filter', params: { column: 'country', operator: 'equals', value: 'US' } },
		{
			id: 'enrich',
			type: 'enrich_lead',
			params: {
				struct: { title: 'Job title', is_us: { description: 'Is in the US', type: 'bool' } },
				research_plan: 'LinkedIn first',
				tier: 'low'
			}
		},
		{ id: 'mail', type: 'find_email', params: { mode: 'PERSONAL', only_missing: false } },
		{ id: 'save', type: 'save_csv', params: { filename: 'out' } }
	]
};

describe('POST /api/workflows', () => {
	it('creates an empty workflow with unguessable id and distinct tokens', async () => {
		const { create, docs } = setup();
		const created = await create({});
		expect(created.id).toMatch(/^[A-Za-z0-9_-]{22,}$/);
		expect(created.edit_token).toMatch(/^[A-Za-z0-9_-]{32,}$/);
		expect(created.view_token).toMatch(/^[A-Za-z0-9_-]{32,}$/);
		expect(created.edit_token).not.toBe(created.view_token);
		expect(created.edit_url).toBe(`/w/${created.id}?token=${created.edit_token}`);
		expect(created.view_url).toBe(`/w/${created.id}?token=${created.view_token}`);
		expect(created.name).toBe('Untitled workflow');
		expect(JSON.parse((docs as ReturnType<typeof memoryDocs>).docs.get(created.id)!)).toEqual({
			name: 'Untitled workflow',
			blocks: []
		});
	});

	it('gives every workflow its own id and tokens', async () => {
		const { create } = setup();
		const all = await Promise.all(Array.from({ length: 20 }, () => create({})));
		const secrets = all.flatMap((c) => [c.id, c.edit_token, c.view_token]);
		expect(new Set(secrets).size).toBe(secrets.length);
	});

	it('names a workflow, trimming the name', async () => {
		const { create, get } = setup();
		const created = await create({ name: '  Q3 leads  ' });
		expect(created.name).toBe('Q3 leads');
		const body = await (await get(`/api/workflows/${created.id}`, created.view_token)).json();
		expect(body.workflow.name).toBe('Q3 leads');
	});

	it.each(['basic', 'filtered'])('creates from the example "%s" with its blocks', async (name) => {
		const { create, get } = setup();
		const example = v.parse(WorkflowSchema, (await import(`../../data/examples/${name}.json`)).default);
		const created = await create({ from: name });
		expect(created.name).toBe(example.name);
		const body = await (await get(`/api/workflows/${created.id}`, created.edit_token)).json();
		expect(body.workflow).toEqual(example);
	});

	it('loads every example on disk (a broken example fails here, not in front of a user)', async () => {
		const names = await listExamples(EXAMPLES_DIR);
		expect(names.length).toBeGreaterThan(0);
		const { post } = setup();
		for (const name of names) expect((await post({ from: name })).status, name).toBe(201);
	});

	it('imports a workflow object; a given name wins over the imported one', async () => {
		const { create, get } = setup();
		const plain = await create({ from: validImport });
		const plainBody = await (await get(`/api/workflows/${plain.id}`, plain.view_token)).json();
		expect(plainBody.workflow).toEqual(v.parse(WorkflowSchema, validImport));
		const renamed = await create({ from: validImport, name: 'Mine' });
		expect(renamed.name).toBe('Mine');
	});

	it.each([
		['unknown example', { from: 'nope' }, 400, 'from'],
		['example name with a path', { from: '../../package' }, 400, 'from'],
		['block of unknown type', { from: { blocks: [{ id: 'a', type: 'send_fax', params: {} }] } }, 400, 'from.blocks.0.type'],
		['read_csv without a path', { from: { blocks: [{ id: 'a', type: 'read_csv', params: {} }] } }, 400, 'from.blocks.0.params.path'],
		[
			'duplicate block ids',
			{
				from: {
					blocks: [
						{ id: 'a', type: 'save_csv', params: {} },
						{ id: 'a', type: 'save_csv', params: {} }
					]
				}
			},
			400,
			'from'
		],
		['blocks not a list', { from: { blocks: 'x' } }, 400, 'from.blocks'],
		['from is a number', { from: 42 }, 400, 'from'],
		['empty name', { name: '   ' }, 400, 'name'],
		['name not a string', { name: 7 }, 400, 'name'],
		['unknown key', { nme: 'typo' }, 400, 'nme']
	])('refuses %s', async (_label, body, status, path) => {
		const { post, db } = setup();
		const res = await post(body);
		expect(res.status).toBe(status);
		const json = await res.json();
		expect(json.error.code).toBe('invalid_request');
		expect(json.error.issues.map((i: { path: string }) => i.path)).toContain(path);
		expect(db.prepare('SELECT count(*) AS n FROM workflows').get()).toEqual({ n: 0 });
	});

	it.each([
		['malformed JSON', '{"from": ', { 'content-type': 'application/json' }, 400],
		['a non-JSON body', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }, 415]
	])('refuses %s', async (_label, body, headers, status) => {
		const { post } = setup();
		const res = await post(body, headers);
		expect(res.status).toBe(status);
		expect((await res.json()).error.message).toBeTruthy();
	});

	it('refuses a huge body with 413 before parsing it', async () => {
		const { post, db } = setup({ maxBodyBytes: 64 * 1024 });
		const huge = { from: { name: 'x', blocks: [] }, padding: 'x'.repeat(200 * 1024) };
		const res = await post(huge);
		expect(res.status).toBe(413);
		expect((await res.json()).error.code).toBe('payload_too_large');
		expect(db.prepare('SELECT count(*) AS n FROM workflows').get()).toEqual({ n: 0 });
	});

	it('leaves no workflow behind when its document cannot be created', async () => {
		const failing: WorkflowDocs = {
			createDoc: async () => {
				throw new Error('disk full');
			},
			snapshot: async () => ({ blocks: [] })
		};
		const { post, db } = setup({ docs: failing });
		const res = await post({});
		expect(res.status).toBe(500);
		expect(db.prepare('SELECT count(*) AS n FROM workflows').get()).toEqual({ n: 0 });
	});
});

describe('GET /api/workflows/:id', () => {
	it.each([
		['edit token in the query', 'edit', 'query', 200, 'edit'],
		['edit token as Bearer', 'edit', 'bearer', 200, 'edit'],
		['view token in the query', 'view', 'query', 200, 'view'],
		['view token as Bearer', 'view', 'bearer', 200, 'view'],
		['no token', 'none', 'query', 401, null],
		['a wrong token', 'wrong', 'query', 403, null],
		["another workflow's edit token", 'other', 'bearer', 403, null]
	] as const)('with %s (%s via %s) → %i', async (_label, which, how, status, access) => {
		const { create, get } = setup();
		const created = await create({ from: 'basic' });
		const other = await create({});
		const token = {
			edit: created.edit_token,
			view: created.view_token,
			none: undefined,
			wrong: created.edit_token.slice(0, -1) + (created.edit_token.endsWith('A') ? 'B' : 'A'),
			other: other.edit_token
		}[which];
		const res = await get(`/api/workflows/${created.id}`, token, how);
		expect(res.status).toBe(status);
		const body = await res.json();
		if (access) {
			expect(body).toMatchObject({ id: created.id, access, view_url: created.view_url });
			expect(body.workflow.blocks.map((b: { id: string }) => b.id)).toEqual(['read', 'enrich', 'save']);
			// Only editors get the edit link back.
			expect(body.edit_url).toBe(access === 'edit' ? created.edit_url : undefined);
		} else {
			expect(body.error.code).toBe(status === 401 ? 'unauthorized' : 'forbidden');
			expect(JSON.stringify(body)).not.toContain(created.edit_token);
		}
	});

	it.each([
		['an unknown id', 'AAAAAAAAAAAAAAAAAAAAAA'],
		['a malformed id', 'not..an id']
	])('answers 404 for %s', async (_label, id) => {
		const { get, create } = setup();
		const created = await create({});
		const res = await get(`/api/workflows/${encodeURIComponent(id)}`, created.edit_token);
		expect(res.status).toBe(404);
		expect((await res.json()).error.code).toBe('not_found');
	});
});

describe('GET /api/workflows/:id/export', () => {
	it('downloads JSON that re-imports to the same workflow', async () => {
		const { create, get, post } = setup();
		const created = await create({ from: validImport });
		const res = await get(`/api/workflows/${created.id}/export`, created.view_token);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toMatch(/^application\/json/);
		expect(res.headers.get('content-disposition')).toBe('attachment; filename="imported.json"');
		const exported = JSON.parse(await res.text());

		const again = await post({ from: exported });
		expect(again.status).toBe(201);
		const copy = (await again.json()) as Created;
		expect(copy.id).not.toBe(created.id);
		const original = (await (await get(`/api/workflows/${created.id}`, created.view_token)).json()).workflow as Workflow;
		const reimported = (await (await get(`/api/workflows/${copy.id}`, copy.view_token)).json()).workflow as Workflow;
		expect(reimported).toEqual(original);
		expect(reimported).toEqual(v.parse(WorkflowSchema, validImport));
	});

	it.each([
		['no token', undefined, 401],
		['a wrong token', 'x'.repeat(32), 403]
	])('refuses %s', async (_label, token, status) => {
		const { create, get } = setup();
		const created = await create({});
		expect((await get(`/api/workflows/${created.id}/export`, token)).status).toBe(status);
	});
});

describe('requireWorkflowAccess through the repository', () => {
	it('keeps a view token from passing an edit check', async () => {
		const db = openDatabase(':memory:');
		const workflows: WorkflowsRepo = createSqliteWorkflowsRepo(db);
		const { requireWorkflowAccess } = await import('../../server/access');
		const record = await workflows.create({ name: 'w' });
		const app = new Hono()
			.post('/w/:id/run', requireWorkflowAccess({ workflows, level: 'edit' }), (c) => c.json({ access: c.var.access }))
			.onError((err, c) => {
				const { status, body } = toErrorResponse(err);
				return c.json(body, status);
			});
		const run = (token: string) =>
			app.request(`/w/${record.id}/run`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
		expect(await (await run(record.editToken)).json()).toEqual({ access: 'edit' });
		const refused = await run(record.viewToken);
		expect(refused.status).toBe(403);
		expect((await refused.json()).error.message).toMatch(/view-only/);
	});
});
