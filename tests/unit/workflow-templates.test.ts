/**
 * The template gallery (issue 16): every template is a valid workflow whose column flow has no
 * problem over its bundled sample, the gallery lists them all with their sample sizes, and each
 * opens as a new shared workflow through the API; an unknown template is a 404 that names the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { openCsv, readCsvHeader } from '../../server/files/csv-source';
import { TemplatesAnswerSchema, type TemplateSummary } from '../../server/routes/responses';
import { analyzeColumns } from '../../src/lib/workflow/columns';
import { compileExpression } from '../../src/lib/workflow/expression';
import { WorkflowSchema, type Row } from '../../src/lib/workflow/schema';
import { bearer, createSharedTestApp, type SharedTestApp } from '../helpers/shared-test-app';

const DATA = join(import.meta.dirname, '../../data');
const EXPECTED_CHAINS: Record<string, string[]> = {
	'basic-emails': ['read_csv', 'enrich_lead', 'find_email', 'save_csv'],
	filtered: ['read_csv', 'filter', 'enrich_lead', 'filter', 'save_csv'],
	companies: ['read_csv', 'enrich_company', 'filter', 'find_email', 'save_csv'],
	clean: ['read_csv', 'filter', 'find_email', 'save_csv']
};

let t: SharedTestApp;
let templates: TemplateSummary[];

beforeAll(async () => {
	t = await createSharedTestApp();
	const res = await t.app.request('/api/workflows/templates');
	expect(res.status).toBe(200);
	templates = v.parse(TemplatesAnswerSchema, await res.json()).templates;
});
afterAll(() => t?.close());

const post = (body: unknown) =>
	t.app.request('/api/workflows', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('GET /api/workflows/templates', () => {
	it('lists the four gallery templates, simplest first, with their block chains', async () => {
		const onDisk = (await readdir(join(DATA, 'examples'))).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
		expect(templates.map((x) => x.id)).toEqual(['basic-emails', 'filtered', 'companies', 'clean']);
		expect(onDisk).toEqual(expect.arrayContaining(templates.map((x) => x.id)));
		for (const template of templates) {
			if (EXPECTED_CHAINS[template.id]) expect(template.blocks.map((b) => b.type)).toEqual(EXPECTED_CHAINS[template.id]);
			expect(template.name.length).toBeGreaterThan(0);
			expect(template.description.length).toBeGreaterThan(10);
			expect(template.blocks.every((b) => b.label.length > 0 && b.label !== b.type)).toBe(true);
		}
		expect(templates.find((x) => x.id === 'basic-emails')?.blocks.map((b) => b.label)).toEqual([
			'Read CSV',
			'Enrich Lead',
			'Find Email',
			'Save CSV'
		]);
	});

	it('gives each template its bundled sample and the sample’s row count (small: at most 50 rows)', () => {
		expect(templates.find((x) => x.id === 'filtered')?.sample).toEqual({ path: 'samples/leads.csv', rows: 10 });
		expect(templates.find((x) => x.id === 'clean')?.sample).toEqual({ path: 'samples/messy-leads.csv', rows: 12 });
		for (const template of templates) {
			expect(template.sample).not.toBeNull();
			expect(template.sample!.rows).toBeGreaterThan(0);
			expect(template.sample!.rows).toBeLessThanOrEqual(50);
		}
	});
});

describe('each template', () => {
	it.each(Object.keys(EXPECTED_CHAINS))(
		'%s opens as a shared workflow on its sample, with no column-flow problem, and estimates',
		async (id) => {
			const template = templates.find((x) => x.id === id)!;
			const res = await post({ template: id });
			expect(res.status).toBe(201);
			const created = (await res.json()) as { id: string; name: string; edit_url: string; edit_token: string };
			expect(created.name).toBe(template.name);
			expect(created.edit_url).toBe(`/w/${created.id}?token=${created.edit_token}`);

			// The new shared workflow is the template, its Read CSV on the bundled sample.
			const info = await t.app.request(`/api/workflows/${created.id}`, { headers: bearer(created.edit_token) });
			expect(info.status).toBe(200);
			const workflow = v.parse(WorkflowSchema, ((await info.json()) as { workflow: unknown }).workflow);
			expect(workflow.blocks.map((b) => b.type)).toEqual(EXPECTED_CHAINS[id]);
			const read = workflow.blocks[0];
			if (read?.type !== 'read_csv') throw new Error('the first block is not Read CSV');
			expect(read.params.path).toBe(template.sample!.path);

			const { columns: header } = await readCsvHeader(join(DATA, read.params.path));
			const flow = analyzeColumns(workflow, { sourceColumns: () => header });
			expect(flow.problems).toEqual([]);

			// The server accepts it as it is for a run: the estimate reads the bundled sample.
			const estimate = await t.app.request('/api/workflows/estimate', {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...bearer(created.edit_token) },
				body: JSON.stringify({ workflow_id: created.id })
			});
			const answer = await estimate.text();
			expect(estimate.status, answer).toBe(200);
			expect((JSON.parse(answer) as { input_rows: number }).input_rows).toBe(template.sample!.rows);
		}
	);

	it('the clean template drops exactly the sample rows without a name or a company', async () => {
		const file: unknown = JSON.parse(await readFile(join(DATA, 'examples', 'clean.json'), 'utf8'));
		const filter = v.parse(WorkflowSchema, file).blocks[1];
		if (filter?.type !== 'filter') throw new Error('the second block is not a filter');
		const compiled = compileExpression(filter.params.expression ?? '');
		if (!compiled.ok) throw new Error(compiled.error.message);
		const source = await openCsv(join(DATA, 'samples', 'messy-leads.csv'));
		const rows: Row[] = [];
		for await (const batch of source.batches) rows.push(...batch);
		const kept = rows.filter((r) => compiled.expression.evaluate(r));
		expect(kept).toHaveLength(8);
		expect(kept.every((r) => String(r.name).trim() !== '' && String(r.company).trim() !== '')).toBe(true);
		// Some kept rows already have an email: find_email's only_missing skips those.
		expect(kept.filter((r) => String(r.email) !== '').length).toBe(2);
	});
});

describe('POST /api/workflows { template }', () => {
	it('answers 404 naming the templates for an unknown id, and creates nothing', async () => {
		// `basic` is an example (for `from`), not a gallery template.
		for (const id of ['nope', 'basic', '../basic-emails', 'x'.repeat(64)]) {
			const res = await post({ template: id });
			expect(res.status).toBe(404);
			const body = (await res.json()) as { error: { message: string } } & Record<string, unknown>;
			expect(JSON.stringify(body)).toContain('There is no template');
			expect(JSON.stringify(body)).toContain('basic-emails, filtered, companies, clean');
		}
	});

	it('refuses a template together with from (400 on template)', async () => {
		const res = await post({ template: 'basic', from: 'filtered' });
		expect(res.status).toBe(400);
		expect(JSON.stringify(await res.json())).toContain('template');
	});
});
