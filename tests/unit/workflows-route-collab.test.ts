import { afterEach, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { join } from 'node:path';
import * as v from 'valibot';
import { createCollabServer, type CollabServer } from '../../server/collab';
import { toErrorResponse } from '../../server/http-error';
import { collabWorkflowDocs } from '../../server/routes/workflow-docs';
import { createWorkflowRoutes } from '../../server/routes/workflows';
import { openDatabase } from '../../server/store/db';
import { createSqliteWorkflowsRepo } from '../../server/store/workflows-repo';
import { WorkflowSchema, type WorkflowInput } from '../../src/lib/workflow/schema';
import { setName } from '../../src/lib/workflow/doc';

const EXAMPLES_DIR = join(import.meta.dirname, '../../data/examples');

let collab: CollabServer | null = null;
afterEach(async () => {
	await collab?.close();
	collab = null;
});

function setup() {
	const db = openDatabase(':memory:');
	const workflows = createSqliteWorkflowsRepo(db);
	collab = createCollabServer({ db, authorize: (id, token) => workflows.authorize(id, token) });
	const app = new Hono().route(
		'/api/workflows',
		createWorkflowRoutes({ workflows, docs: collabWorkflowDocs(collab), examplesDir: EXAMPLES_DIR })
	);
	app.onError((err, c) => {
		const { status, body } = toErrorResponse(err);
		return c.json(body, status);
	});
	return { app, collab };
}

const everyParam: WorkflowInput = {
	name: 'Every kind of param',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
		{ id: 'by_expr', type: 'filter', params: { expression: 'employees >= 50 and country != "US"' } },
		{ id: 'by_column', type: 'filter', params: { column: 'employees', operator: 'gte', value: 50 } },
		{ id: 'by_bool', type: 'filter', params: { column: 'vip', operator: 'equals', value: true } },
		{
			id: 'enrich',
			type: 'enrich_lead',
			params: {
				struct: {
					title: 'Job title',
					edu: { description: 'American education?', type: 'bool' },
					plain: { description: 'No type' }
				},
				research_plan: 'Line one\nLine "two"',
				input_columns: ['name', 'company'],
				tier: 'medium',
				concurrency: 8
			}
		},
		{ id: 'mail', type: 'find_email', params: { mode: 'PERSONAL', only_missing: false } },
		{ id: 'save', type: 'save_csv', params: {} }
	]
};

describe('workflow routes over the real collaboration documents', () => {
	it.each([
		['an example', 'basic' as const],
		['an import using every kind of param', everyParam]
	])('create from %s → export → re-import gives the same workflow', async (_label, from) => {
		const { app } = setup();
		const post = (body: unknown) =>
			app.request('/api/workflows', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
		const created = await (await post({ from })).json();
		const exported = await (await app.request(`/api/workflows/${created.id}/export?token=${created.view_token}`)).json();
		const expected =
			typeof from === 'string'
				? v.parse(WorkflowSchema, (await import(`../../data/examples/${from}.json`)).default)
				: v.parse(WorkflowSchema, from);
		expect(v.parse(WorkflowSchema, exported)).toEqual(expected);

		const copy = await (await post({ from: exported })).json();
		const again = await (await app.request(`/api/workflows/${copy.id}/export?token=${copy.edit_token}`)).json();
		expect(again).toEqual(exported);
	});

	it('shows edits made in the room', async () => {
		const { app, collab } = setup();
		const created = await (
			await app.request('/api/workflows', {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: '{"from":"basic"}'
			})
		).json();
		setName(await collab.getDoc(created.id), 'Renamed live');
		const body = await (await app.request(`/api/workflows/${created.id}?token=${created.view_token}`)).json();
		expect(body.name).toBe('Renamed live');
		expect(body.workflow.name).toBe('Renamed live');
	});
});
