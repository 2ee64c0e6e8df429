import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { EnrichmentError, type EnrichmentService } from '../../server/enrichment/types';
import type { JobProgress } from '../../server/jobs/job-progress';
import { docToWorkflow, setName, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import { WorkflowSchema, type WorkflowInput } from '../../src/lib/workflow/schema';
import { bearer, createSharedTestApp, type SharedTestApp, type TestWorkflow } from '../helpers/shared-test-app';
import { noEnrichment, uploadForm, waitForJob } from '../helpers/test-app';

/** Answers every lead except those whose name starts with "B": those rows get an `_error`. */
const picky: EnrichmentService = {
	...noEnrichment,
	async enrichLead(request, { meter }) {
		meter.calls++;
		const name = String(request.lead_info.name ?? '');
		if (name.startsWith('B')) throw new EnrichmentError(`No answer for ${name}`, 500, false);
		return { notes: null, structured_data: { title: `Title of ${name}` }, findings: [], references: null, confidence_score: 7 };
	}
};

const CSV =
	'name,company,employees\nAda,Analytical Engines,120\nBabbage,Difference Ltd,8\nGrace,Navy,4000\nBoole,Logic Co,30\nAlan,Bletchley,900\n';

let t: SharedTestApp;
const ADMIN = 'operator-token-for-shared-runs';
let a: TestWorkflow;
let b: TestWorkflow;
let aFile: string;
let bFile: string;

const flow = (path: string, expression = 'employees >= 100'): WorkflowInput => ({
	name: 'Flow',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path } },
		{ id: 'keep', type: 'filter', params: { expression } },
		{ id: 'save', type: 'save_csv', params: { filename: 'kept' } }
	]
});

beforeAll(async () => {
	t = await createSharedTestApp({ enrichment: picky, adminToken: ADMIN });
	a = await t.createWorkflow({ name: 'A', blocks: [] });
	b = await t.createWorkflow({ name: 'B', blocks: [] });
	aFile = await t.uploadFor(a, CSV);
	bFile = await t.uploadFor(b, CSV);
});
afterAll(() => t.close());

const post = (path: string, body: unknown, token: string | null) =>
	t.app.request(path, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...bearer(token) },
		body: JSON.stringify(body)
	});
const get = (path: string, token: string | null) => t.app.request(path, { headers: bearer(token) });
const job = async (id: string, token: string | null): Promise<JobProgress> => (await get(`/api/workflows/jobs/${id}`, token)).json();
const settle = (id: string, token: string | null) => waitForJob(() => job(id, token));
const jobCount = async () => (await t.jobStore.list({ offset: 0, limit: 1 })).total;

/** Makes workflow `w`'s live document hold `content` (reconciled, as an import over a room is). */
async function setDoc(w: TestWorkflow, content: WorkflowInput) {
	return workflowToDoc(content, await t.doc(w.id));
}

describe('POST /run and /estimate with a workflow_id', () => {
	it('runs the room document as it is now, ignores a posted workflow, and records the snapshot', async () => {
		const doc = await setDoc(a, flow(aFile));
		// Edits as people make them: a rename and typing into the filter expression.
		setName(doc, 'Big companies only');
		setParam(doc, 'keep', 'expression', 'employees >= 500');
		const expected = v.parse(WorkflowSchema, docToWorkflow(doc));

		const res = await post(
			'/api/workflows/run',
			{
				workflow_id: a.id,
				workflow: { name: 'Stale', blocks: [{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } }] }
			},
			a.editToken
		);
		expect(res.status).toBe(200);
		const started = await res.json();
		expect(started).toMatchObject({ workflow_id: a.id, estimate: { input_rows: 5 } });
		// An edit after the start does not reach the job: it runs the snapshot it recorded.
		setName(doc, 'Renamed after the start');

		const done = await settle(started.job_id, a.viewToken);
		expect(done).toMatchObject({ status: 'completed', workflow_id: a.id, workflow_name: 'Big companies only', row_count: 2 });
		expect(done.workflow).toEqual(expected);
		expect(done.sample_data.map((r) => r.name)).toEqual(['Grace', 'Alan']);
		expect((await t.jobStore.get(started.job_id))!.workflow).toEqual(expected);
	});

	it('estimates the document with a view token', async () => {
		await setDoc(a, flow(aFile));
		const res = await post('/api/workflows/estimate', { workflow_id: a.id }, a.viewToken);
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ input_rows: 5, max_calls: 0 });
	});

	it.each([
		['a filter expression that does not compile', 'keep', 'expression', 'employees >>> 3', 'workflow.blocks.1.params.expression'],
		['an empty file path (schema)', 'read', 'path', '', 'workflow.blocks.0.params.path']
	])('refuses a document with %s: 400, no job', async (_label, block, key, value, path) => {
		const doc = await setDoc(a, flow(aFile));
		setParam(doc, block, key, value);
		const before = await jobCount();
		for (const route of ['/api/workflows/run', '/api/workflows/estimate']) {
			const res = await post(route, { workflow_id: a.id }, a.editToken);
			expect(res.status).toBe(400);
			const body = await res.json();
			expect(body.error.code).toBe('invalid_workflow');
			expect(body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
		}
		expect(await jobCount()).toBe(before);
	});

	const tokens: [string, number, number, () => string | null][] = [
		['no token', 401, 401, () => null],
		['a wrong token', 403, 403, () => 'x'.repeat(32)],
		["another workflow's edit token", 403, 403, () => b.editToken],
		['the view token', 403, 200, () => a.viewToken],
		['the edit token', 200, 200, () => a.editToken]
	];
	it.each(tokens)('with %s: run → %i, estimate → %i; a refused run creates no job', async (_label, runStatus, estimateStatus, token) => {
		await setDoc(a, flow(aFile));
		const before = await jobCount();
		const run = await post('/api/workflows/run', { workflow_id: a.id }, token());
		expect(run.status).toBe(runStatus);
		expect(await jobCount()).toBe(before + (runStatus === 200 ? 1 : 0));
		const text = await run.text();
		if (runStatus !== 200) expect(text).not.toContain(aFile);
		expect((await post('/api/workflows/estimate', { workflow_id: a.id }, token())).status).toBe(estimateStatus);
	});

	it.each([
		['an unknown workflow', { workflow_id: 'A'.repeat(22) }, 404],
		['a malformed workflow id', { workflow_id: '../etc' }, 400],
		['a workflow_id of the wrong type', { workflow_id: 42 }, 400],
		['unknown run options', { workflow_id: 'A'.repeat(22), options: { turbo: true } }, 400]
	])('answers %s with the status given', async (_label, body, status) => {
		const before = await jobCount();
		const res = await post('/api/workflows/run', body, a.editToken);
		expect(res.status).toBe(status);
		expect(await jobCount()).toBe(before);
	});
});

describe('files that belong to another workflow', () => {
	const spellings = (file: string) => [file, `./${file}`, file.replace('/', '//'), () => join(t.dataDir, file)];

	it("refuses a run of A that reads B's upload, however the path is spelt", async () => {
		const before = await jobCount();
		for (const spelling of spellings(bFile)) {
			const path = typeof spelling === 'function' ? spelling() : spelling;
			await setDoc(a, flow(path));
			for (const route of ['/api/workflows/run', '/api/workflows/estimate']) {
				const res = await post(route, { workflow_id: a.id }, a.editToken);
				expect(res.status, `${route} ${path}`).toBe(400);
				const body = await res.json();
				expect(body.error.issues).toContainEqual({
					path: 'workflow.blocks.0.params.path',
					message: 'this file belongs to another workflow'
				});
				expect(JSON.stringify(body)).not.toMatch(/Analytical|Babbage|employees/);
			}
		}
		expect(await jobCount()).toBe(before);
	});

	it("refuses a run of A that reads the output of B's job", async () => {
		await setDoc(b, flow(bFile));
		const started = await (await post('/api/workflows/run', { workflow_id: b.id }, b.editToken)).json();
		const done = await settle(started.job_id, b.viewToken);
		expect(done.output_path).toMatch(/^outputs\//);
		await setDoc(a, flow(done.output_path!));
		const res = await post('/api/workflows/run', { workflow_id: a.id }, a.editToken);
		expect(res.status).toBe(400);
		expect((await res.json()).error.issues[0]).toEqual({
			path: 'workflow.blocks.0.params.path',
			message: 'this file belongs to another workflow'
		});
		// B itself may chain its own output.
		await setDoc(b, flow(done.output_path!));
		expect((await post('/api/workflows/estimate', { workflow_id: b.id }, b.viewToken)).status).toBe(200);
	});

	// A posted workflow makes an anonymous job anyone with its id can read: no token lets it in.
	it.each([
		['no token', () => null],
		["A's edit token", () => a.editToken],
		["B's view token", () => b.viewToken],
		["B's edit token", () => b.editToken]
	])("refuses a posted workflow reading B's upload, with %s", async (_label, token) => {
		const before = await jobCount();
		for (const route of ['/api/workflows/run', '/api/workflows/estimate']) {
			const res = await post(route, { workflow: flow(bFile) }, token());
			expect(res.status).toBe(400);
			expect((await res.json()).error.issues).toContainEqual({
				path: 'workflow.blocks.0.params.path',
				message: 'this file belongs to another workflow'
			});
		}
		expect(await jobCount()).toBe(before);
	});

	it.each([
		['the database', 'app.db'],
		['its write-ahead log', 'app.db-wal']
	])('never reads %s of the data directory as a CSV', async (_label, name) => {
		const path = join(t.dataDir, name);
		const res = await post('/api/workflows/estimate', { workflow: flow(path) }, null);
		expect(res.status).toBe(400);
		const body = await res.json();
		expect(body.error.issues[0].path).toBe('workflow.blocks.0.params.path');
		expect(JSON.stringify(body)).not.toContain(a.editToken);
		expect((await get(`/api/workflows/source?path=${encodeURIComponent(path)}`, null)).status).toBe(400);
	});

	it('samples and anonymous uploads stay open to every run', async () => {
		const anonymous = (await (await t.app.request('/api/workflows/upload', { method: 'POST', body: uploadForm(CSV) })).json())
			.file_path;
		for (const path of ['samples/leads.csv', anonymous]) {
			await setDoc(a, flow(path, 'not is_empty(name)'));
			expect((await post('/api/workflows/estimate', { workflow_id: a.id }, a.viewToken)).status).toBe(200);
			expect((await post('/api/workflows/estimate', { workflow: flow(path, 'not is_empty(name)') }, null)).status).toBe(200);
		}
	});
});

describe('POST /upload with a workflow_id', () => {
	const uploaded = async () => (await readdir(join(t.dataDir, 'uploads'))).sort();
	const form = (workflowId: string | null) => {
		const f = uploadForm(CSV);
		if (workflowId) f.set('workflow_id', workflowId);
		return f;
	};

	it.each([
		['no token', 401, () => a.id, () => null],
		['a wrong token', 403, () => a.id, () => 'y'.repeat(32)],
		['the view token', 403, () => a.id, () => a.viewToken],
		["another workflow's edit token", 403, () => a.id, () => b.editToken],
		['an unknown workflow', 404, () => 'Z'.repeat(22), () => a.editToken]
	])('refuses %s with %i and keeps nothing', async (_label, status, workflowId, token) => {
		const files = await uploaded();
		const rows = t.db.prepare('SELECT COUNT(*) AS n FROM uploads').get();
		const res = await t.app.request('/api/workflows/upload', { method: 'POST', body: form(workflowId()), headers: bearer(token()) });
		expect(res.status).toBe(status);
		expect(await uploaded()).toEqual(files);
		expect(t.db.prepare('SELECT COUNT(*) AS n FROM uploads').get()).toEqual(rows);
		// The same refusal when the workflow is named in the query, before any byte is stored.
		const early = await t.app.request(`/api/workflows/upload?workflow_id=${workflowId()}`, {
			method: 'POST',
			body: form(null),
			headers: bearer(token())
		});
		expect(early.status).toBe(status);
		expect(await uploaded()).toEqual(files);
	});

	it('stores the owner with the edit token', async () => {
		const res = await t.app.request('/api/workflows/upload', { method: 'POST', body: form(a.id), headers: bearer(a.editToken) });
		expect(res.status).toBe(200);
		const body = await res.json();
		expect(body.workflow_id).toBe(a.id);
		expect((await t.uploads.getByPath(body.file_path))!.workflowId).toBe(a.id);
	});

	it('refuses a form and a query that name different workflows', async () => {
		const files = await uploaded();
		const res = await t.app.request(`/api/workflows/upload?workflow_id=${a.id}`, {
			method: 'POST',
			body: form(b.id),
			headers: bearer(a.editToken)
		});
		expect(res.status).toBe(400);
		expect(await uploaded()).toEqual(files);
	});

	it('refuses an oversized workflow_id field as a malformed form', async () => {
		const res = await t.app.request('/api/workflows/upload', {
			method: 'POST',
			body: form('w'.repeat(5000)),
			headers: bearer(a.editToken)
		});
		expect(res.status).toBe(400);
	});
});

describe('GET /source', () => {
	const source = (path: string, token: string | null) => get(`/api/workflows/source?path=${encodeURIComponent(path)}`, token);

	it.each([
		['no token', 401, () => null],
		['a wrong token', 403, () => 'q'.repeat(32)],
		["another workflow's edit token", 403, () => b.editToken],
		['the view token', 200, () => a.viewToken],
		['the edit token', 200, () => a.editToken]
	])("describes A's upload to %s → %i", async (_label, status, token) => {
		const res = await source(aFile, token());
		expect(res.status).toBe(status);
		const body = await res.json();
		if (status === 200) {
			expect(body).toEqual({
				file_path: aFile,
				columns: ['name', 'company', 'employees'],
				row_count: 5,
				preview: expect.arrayContaining([{ name: 'Ada', company: 'Analytical Engines', employees: '120' }]),
				dialect: expect.objectContaining({ format: 'csv', delimiter: ',' }),
				original_name: 'leads.csv'
			});
			expect(body.preview).toHaveLength(5);
		} else {
			expect(JSON.stringify(body)).not.toMatch(/Analytical|employees/);
		}
	});

	it('describes a sample to anyone', async () => {
		const res = await source('samples/leads.csv', null);
		expect(res.status).toBe(200);
		const body = await res.json();
		expect(body.file_path).toBe('samples/leads.csv');
		expect(body.columns).toContain('name');
		expect(body.row_count).toBeGreaterThan(0);
		expect(body.preview.length).toBeGreaterThan(0);
	});

	it.each([
		['a missing file', 'uploads/00000000-0000-4000-8000-000000000000.csv', 404],
		['a traversal', '../../etc/passwd', 400],
		['an empty path', '', 400],
		['a NUL byte', 'uploads/a\u0000.csv', 400]
	])('answers %s with %i', async (_label, path, status) => {
		expect((await source(path, a.editToken)).status).toBe(status);
	});
});

describe('jobs of a workflow', () => {
	let jobId: string;

	it('pages only the rows with an _error when asked (errors=only)', async () => {
		await setDoc(a, {
			name: 'Enrich',
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: aFile } },
				{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' } } }
			]
		});
		const started = await (await post('/api/workflows/run', { workflow_id: a.id }, a.editToken)).json();
		jobId = started.job_id;
		expect((await settle(jobId, a.viewToken)).status).toBe('completed');

		const all = await (await get(`/api/workflows/jobs/${jobId}/rows`, a.viewToken)).json();
		expect(all.total).toBe(5);
		const errors = await (await get(`/api/workflows/jobs/${jobId}/rows?errors=only`, a.viewToken)).json();
		expect(errors).toMatchObject({ total: 2, offset: 0, errors: 'only' });
		expect(errors.columns).toEqual(['name', 'company', 'employees', 'title', '_confidence', '_error']);
		expect(errors.rows.map((r: { name: string }) => r.name)).toEqual(['Babbage', 'Boole']);
		expect(errors.rows.every((r: { _error: string }) => r._error.length > 0)).toBe(true);
		const second = await (await get(`/api/workflows/jobs/${jobId}/rows?errors=only&offset=1&limit=1`, a.viewToken)).json();
		expect(second.rows.map((r: { name: string }) => r.name)).toEqual(['Boole']);
		expect((await get(`/api/workflows/jobs/${jobId}/rows?errors=all`, a.viewToken)).status).toBe(400);
	});

	it("lists a workflow's jobs with its token, and nothing without a workflow_id unless to the operator", async () => {
		const mine = await (await get(`/api/workflows/jobs?workflow_id=${a.id}&limit=100`, a.viewToken)).json();
		expect(mine.jobs.length).toBeGreaterThan(0);
		expect(mine.jobs.every((j: { workflow_id: string }) => j.workflow_id === a.id)).toBe(true);
		expect(mine.jobs.map((j: { job_id: string }) => j.job_id)).toContain(jobId);
		expect(mine.total).toBe((await t.jobStore.list({ offset: 0, limit: 1, workflowId: a.id })).total);

		// A workflow's token is no key to the list of every job.
		const unlisted = await get('/api/workflows/jobs?limit=100', a.editToken);
		expect(unlisted.status).toBe(403);
		expect(await unlisted.text()).not.toContain(jobId);
		const operator = await (await get('/api/workflows/jobs?limit=100', ADMIN)).json();
		expect(operator.jobs.map((j: { job_id: string }) => j.job_id)).toContain(jobId);
		expect(operator.total).toBe((await t.jobStore.list({ offset: 0, limit: 1 })).total);
		// Named ids: those the token may read are listed, the others left out.
		expect((await (await get(`/api/workflows/jobs?ids=${jobId}`, a.viewToken)).json()).total).toBe(1);
		expect((await (await get(`/api/workflows/jobs?ids=${jobId}`, b.editToken)).json()).total).toBe(0);

		expect((await get(`/api/workflows/jobs?workflow_id=${a.id}`, b.editToken)).status).toBe(403);
		expect((await get(`/api/workflows/jobs?workflow_id=${a.id}`, null)).status).toBe(401);
	});

	it('a retry stays with its workflow', async () => {
		const res = await post(`/api/workflows/jobs/${jobId}/retry`, {}, a.editToken);
		expect(res.status).toBe(200);
		const retried = await res.json();
		expect(retried).toMatchObject({ retry_of: jobId, workflow_id: a.id });
		const done = await settle(retried.job_id, a.viewToken);
		expect(done).toMatchObject({ workflow_id: a.id, retry_of: jobId });
	});
});
