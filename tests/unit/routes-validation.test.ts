import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_TYPES } from '../../src/lib/workflow/schema';
import { createTestApp, uploadForm, type TestApp } from '../helpers/test-app';

let t: TestApp;
let filePath: string;

beforeAll(async () => {
	t = await createTestApp();
	const res = await t.app.request('/api/workflows/upload', {
		method: 'POST',
		body: uploadForm('name,company,email\nAda,Analytical Engines,\nGrace,Navy,grace@navy.example\n')
	});
	filePath = (await res.json()).file_path;
});
afterAll(() => t.close());

const post = (path: string, body: unknown, contentType = 'application/json') =>
	t.app.request(path, {
		method: 'POST',
		body: typeof body === 'string' ? body : JSON.stringify(body),
		headers: { 'content-type': contentType }
	});

const read = (path = filePath) => ({ id: 'read', type: 'read_csv', params: { path } });
const save = { id: 'save', type: 'save_csv', params: {} };

describe('the API error shape', () => {
	it.each([
		['GET', '/api/nope'],
		['GET', '/api/workflows/jobs/00000000-0000-4000-8000-000000000000'],
		['GET', '/api/workflows/jobs/not-a-uuid'],
		['GET', '/api/workflows/jobs/00000000-0000-4000-8000-000000000000/rows'],
		['GET', '/api/workflows/jobs/00000000-0000-4000-8000-000000000000/download'],
		['POST', '/api/workflows/jobs/00000000-0000-4000-8000-000000000000/cancel'],
		['POST', '/api/workflows/jobs/00000000-0000-4000-8000-000000000000/retry']
	])('%s %s → 404 JSON', async (method, path) => {
		const res = await t.app.request(path, { method });
		expect(res.status).toBe(404);
		expect(res.headers.get('content-type')).toMatch(/application\/json/);
		const body = await res.json();
		expect(body.error.code).toBe('not_found');
		expect(typeof body.error.message).toBe('string');
	});

	it('GET /api/workflows/blocks lists every block with its params as JSON Schema', async () => {
		const res = await t.app.request('/api/workflows/blocks');
		expect(res.status).toBe(200);
		const { blocks } = await res.json();
		expect(blocks.map((b: { type: string }) => b.type)).toEqual([...BLOCK_TYPES]);
		expect(BLOCK_TYPES).toEqual(expect.arrayContaining(['read_csv', 'filter', 'enrich_lead', 'find_email', 'save_csv']));
		for (const b of blocks) {
			expect(b.label).toBeTruthy();
			expect(b.category).toBeTruthy();
			expect(b.params.type).toBe('object');
		}
	});

	it('GET /api/status says the simulator answers, and never carries a key', async () => {
		const body = await (await t.app.request('/api/status')).json();
		expect(body).toEqual({ enrichment: 'simulator', upload_limit_bytes: 1024 * 1024 });
	});
});

describe('POST /api/workflows/run refuses what cannot run, with every problem and its path', () => {
	it('malformed JSON → 400', async () => {
		const res = await post('/api/workflows/run', '{"workflow": {');
		expect(res.status).toBe(400);
		expect((await res.json()).error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/JSON/) });
	});

	// Bodies are built lazily: the uploaded file's path is known only once beforeAll has run.
	const cases: [string, () => unknown, number, string, RegExp | null][] = [
		['a body that is not an object', () => '[1,2,3]', 400, 'workflow', null],
		['no workflow', () => ({}), 400, 'workflow', null],
		['a workflow of the wrong type', () => ({ workflow: 5 }), 400, 'workflow', null],
		['blocks of the wrong type', () => ({ workflow: { blocks: 'read' } }), 400, 'workflow.blocks', null],
		[
			'an unknown block type',
			() => ({ workflow: { blocks: [read(), { id: 'x', type: 'delete_all', params: {} }] } }),
			400,
			'workflow.blocks.1.type',
			null
		],
		[
			'bad params',
			() => ({ workflow: { blocks: [read(), { id: 'f', type: 'filter', params: { column: 'name', operator: 'resembles' } }] } }),
			400,
			'workflow.blocks.1.params.operator',
			null
		],
		[
			'unknown params',
			() => ({ workflow: { blocks: [read(), { id: 's', type: 'save_csv', params: { dir: '/etc' } }] } }),
			400,
			'workflow.blocks.1.params.dir',
			null
		],
		[
			'a bad filter expression',
			() => ({ workflow: { blocks: [read(), { id: 'f', type: 'filter', params: { expression: 'company == ' } }, save] } }),
			400,
			'workflow.blocks.1.params.expression',
			/character/
		],
		[
			'a filter on a missing column',
			() => ({ workflow: { blocks: [read(), { id: 'f', type: 'filter', params: { expression: 'title == "CEO"' } }, save] } }),
			400,
			'workflow.blocks.1.params.expression',
			/title/
		],
		['a block before the read', () => ({ workflow: { blocks: [save, read()] } }), 400, 'workflow.blocks', null],
		['bad run options', () => ({ workflow: { blocks: [read(), save] }, options: { row_limit: -3 } }), 400, 'options.row_limit', null],
		['unknown run options', () => ({ workflow: { blocks: [read(), save] }, options: { turbo: true } }), 400, 'options.turbo', null],
		['duplicate block ids', () => ({ workflow: { blocks: [read(), { ...save, id: 'read' }] } }), 400, 'workflow', /unique/]
	];
	it.each(cases)('%s', async (_name, body, status, path, message) => {
		const res = await post('/api/workflows/run', body());
		expect(res.status).toBe(status);
		const json = await res.json();
		expect(['invalid_request', 'invalid_workflow']).toContain(json.error.code);
		const paths = json.error.issues.map((i: { path: string }) => i.path);
		expect(paths.some((p: string) => p === path || p.startsWith(path + '.'))).toBe(true);
		if (message) expect(json.error.issues.map((i: { message: string }) => i.message).join(' ')).toMatch(message);
	});

	it.each([
		['../../../etc/passwd'],
		['/etc/passwd'],
		['uploads/../../secret.csv'],
		['%2e%2e/%2e%2e/etc/passwd'],
		['uploads\\..\\..\\x.csv'],
		['uploads/missing.csv'],
		['app.db']
	])('refuses read_csv.path %j', async (path) => {
		const res = await post('/api/workflows/run', { workflow: { blocks: [read(path), save] } });
		expect(res.status).toBe(400);
		const json = await res.json();
		expect(json.error.issues.map((i: { path: string }) => i.path)).toContain('workflow.blocks.0.params.path');
		expect(JSON.stringify(json)).not.toMatch(/root:/);
	});

	it('reports every problem at once, not just the first', async () => {
		const res = await post('/api/workflows/run', {
			workflow: {
				blocks: [
					read('../x.csv'),
					{ id: 'f', type: 'filter', params: { expression: '(((' } },
					{ id: 'e', type: 'enrich_lead', params: { struct: { '1bad': 'x' } } }
				]
			}
		});
		expect(res.status).toBe(400);
		const paths = (await res.json()).error.issues.map((i: { path: string }) => i.path);
		expect(paths.some((p: string) => p.startsWith('workflow.blocks.2.params.struct'))).toBe(true);
	});

	it('refuses a workflow of 1,000 blocks with a short answer', async () => {
		const blocks = [
			read(),
			...Array.from({ length: 999 }, (_, i) => ({ id: `f${i}`, type: 'filter', params: { expression: 'true' } }))
		];
		const res = await post('/api/workflows/run', { workflow: { blocks } });
		expect(res.status).toBe(400);
		const json = await res.json();
		expect(json.error.issues.map((i: { path: string }) => i.path)).toContain('workflow.blocks');
		expect(JSON.stringify(json).length).toBeLessThan(20_000);
	});

	it('refuses a huge body with 413', async () => {
		const res = await post('/api/workflows/run', { workflow: { name: 'x'.repeat(3 * 1024 * 1024), blocks: [] } });
		expect(res.status).toBe(413);
		expect((await res.json()).error.code).toBe('payload_too_large');
	});

	it.each([
		['deeply nested arrays', `{"workflow":{"blocks":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`],
		['deeply nested objects', `{"workflow":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`],
		[
			'a NUL byte in a path',
			JSON.stringify({ workflow: { blocks: [{ id: 'r', type: 'read_csv', params: { path: 'uploads/a\u0000.csv' } }] } })
		]
	])('refuses %s with a 400, nothing crashes', async (_name, body) => {
		const res = await post('/api/workflows/run', body);
		expect(res.status).toBe(400);
		expect((await res.json()).error.code).toMatch(/^invalid_/);
	});

	it('refuses a body that is not JSON with 415', async () => {
		const res = await post('/api/workflows/run', 'workflow=1', 'application/x-www-form-urlencoded');
		expect(res.status).toBe(415);
	});

	it.each([
		['?limit=5000', 'limit'],
		['?limit=0', 'limit'],
		['?offset=-1', 'offset'],
		['?limit=abc', 'limit']
	])('GET /jobs%s → 400 naming %s', async (query, field) => {
		const res = await t.app.request(`/api/workflows/jobs${query}`);
		expect(res.status).toBe(400);
		expect((await res.json()).error.issues[0].path).toBe(field);
	});

	it('still serves after all of that', async () => {
		const res = await post('/api/workflows/run', { workflow: { blocks: [read(), save] } });
		expect(res.status).toBe(200);
		expect((await res.json()).job_id).toMatch(/^[0-9a-f-]{36}$/);
	});
});

describe('POST /api/workflows/run refuses paid blocks that cannot tell what to look up', () => {
	let bare: string;
	beforeAll(async () => {
		const res = await t.app.request('/api/workflows/upload', {
			method: 'POST',
			body: uploadForm('id,notes\n1,met at a fair\n2,call back\n')
		});
		bare = (await res.json()).file_path;
	});

	it('id,notes → Enrich Lead: nothing identifies a person, refused at the block', async () => {
		const res = await post('/api/workflows/run', {
			workflow: { blocks: [read(bare), { id: 'e', type: 'enrich_lead', params: { struct: { title: 'Current job title' } } }, save] }
		});
		expect(res.status).toBe(400);
		const issues: { path: string; message: string }[] = (await res.json()).error.issues;
		expect(issues).toContainEqual(
			expect.objectContaining({
				path: 'workflow.blocks.1',
				message: expect.stringMatching(/^Enrich Lead needs a column that identifies a person/)
			})
		);
	});

	it('an empty "What to find" description is refused at its field', async () => {
		const res = await post('/api/workflows/run', {
			workflow: {
				blocks: [read(), { id: 'e', type: 'enrich_lead', params: { struct: { title: 'Current job title', school: ' ' } } }, save]
			}
		});
		expect(res.status).toBe(400);
		const paths = (await res.json()).error.issues.map((i: { path: string }) => i.path);
		expect(paths).toEqual(['workflow.blocks.1.params.struct.school']);
	});
});

describe('POST /api/workflows/run refuses a Save CSV name that cannot be a file name', () => {
	it.each([
		['basic leads/out?', /cannot contain .* \(found "\/"\)/],
		['.hidden', /cannot start with a dot/],
		['x'.repeat(201), /at most 200 characters/]
	])('%j, with the rule', async (filename, rule) => {
		const res = await post('/api/workflows/run', {
			workflow: { blocks: [read(), { id: 's', type: 'save_csv', params: { filename } }] }
		});
		expect(res.status).toBe(400);
		const issues: { path: string; message: string }[] = (await res.json()).error.issues;
		expect(issues).toEqual([
			expect.objectContaining({ path: 'workflow.blocks.1.params.filename', message: expect.stringMatching(rule) })
		]);
	});
});
