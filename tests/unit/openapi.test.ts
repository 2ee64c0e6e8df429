/**
 * The OpenAPI document against the API it describes: valid OpenAPI 3.1, the same routes as the
 * app's router, and every path+method called on a test app the way a generated client would call
 * it (path and query from the document's parameters, the document's example bodies), each answer
 * checked against the schema the document declares for its status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '@readme/openapi-parser';
import * as v from 'valibot';
import { createTaskWebhooks, type TaskWebhooks } from '../../server/enrichment/task-webhooks';
import { createOpenApiDocument, type OpenApiOperation } from '../../server/openapi/document';
import { ANSWER_SCHEMAS, type AnswerName } from '../../server/openapi/operations';
import { REFERENCE_PAGE_CSP } from '../../server/openapi/reference-page';
import { ErrorBodySchema } from '../../server/routes/responses';
import { bearer, createSharedTestApp, type SharedTestApp, type TestWorkflow } from '../helpers/shared-test-app';
import { uploadForm, waitForJob } from '../helpers/test-app';

const SECRET = 'openapi-test-secret-0123456789-abcdefghijkl';
const CSV = 'name,company,employees\nAda,Analytical Engines,120\nGrace,Navy,4000\nAlan,Bletchley,90\n';

const doc = createOpenApiDocument({ version: '0.0.0-test' });
const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
	Object.entries(methods).map(([method, op]) => ({ path, method, op }))
);

let t: SharedTestApp;
let hooks: TaskWebhooks;
let shared: TestWorkflow;
let file: string;
let jobId: string;
let versionId: number;

beforeAll(async () => {
	hooks = createTaskWebhooks({ url: `http://127.0.0.1/api/sixtyfour/webhook/${SECRET}` });
	t = await createSharedTestApp({ webhooks: { hooks, secret: SECRET } });
	const upload = await t.app.request('/api/workflows/upload', { method: 'POST', body: uploadForm(CSV) });
	file = ((await upload.json()) as { file_path: string }).file_path;
	shared = await t.createWorkflow({
		name: 'Kept',
		blocks: [
			{ id: 'read', type: 'read_csv', params: { path: file } },
			{ id: 'keep', type: 'filter', params: { expression: 'employees >= 100' } },
			{ id: 'save', type: 'save_csv', params: { filename: 'kept' } }
		]
	});
	const run = await call('POST', '/api/workflows/run', { json: { workflow_id: shared.id }, token: shared.editToken });
	jobId = ((await run.json()) as { job_id: string }).job_id;
	versionId = (await t.versions.list(shared.id, { limit: 1 }))[0]!.id;
	await waitForJob(
		async () => (await call('GET', `/api/workflows/jobs/${jobId}`, { token: shared.viewToken })).json() as Promise<{ status: string }>
	);
});
afterAll(() => t?.close());

function call(method: string, url: string, how: { json?: unknown; form?: FormData; token?: string | null } = {}) {
	const headers: Record<string, string> = { ...bearer(how.token ?? null) };
	let body: BodyInit | undefined;
	if (how.json !== undefined) {
		headers['content-type'] = 'application/json';
		body = JSON.stringify(how.json);
	} else if (how.form) body = how.form;
	return t.app.request(url, { method, headers, body });
}

describe('the OpenAPI document', () => {
	it('is a valid OpenAPI 3.1 document', async () => {
		const result = await validate(structuredClone(doc) as unknown as Parameters<typeof validate>[0]);
		expect(result).toMatchObject({ valid: true });
		expect(doc.openapi).toBe('3.1.0');
	});

	it('describes exactly the routes the app serves', () => {
		// Each middleware of a route is listed too, under the same method and path; `use` is ALL.
		const served = new Set(
			t.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
		);
		const documented = new Set(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`));
		expect([...documented].sort()).toEqual([...served].sort());
	});

	it('declares the error shape for every error status and marks the webhook as PUBLIC_URL-only', () => {
		for (const { op } of operations) {
			for (const [status, answer] of Object.entries(op.responses)) {
				if (Number(status) >= 400)
					expect(answer.content?.['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
			}
		}
		expect(doc.paths['/api/sixtyfour/webhook/{secret}'].post['x-mounted-with']).toBe('PUBLIC_URL');
	});

	it('is served as JSON, and as a reference page with no script and its own strict policy', async () => {
		const json = await t.app.request('/api/openapi.json');
		expect(json.status).toBe(200);
		expect(json.headers.get('content-type')).toMatch(/^application\/json/);
		const served = (await json.json()) as typeof doc;
		expect(served.paths).toEqual(doc.paths);

		const page = await t.app.request('/api/docs');
		expect(page.status).toBe(200);
		expect(page.headers.get('content-type')).toMatch(/^text\/html/);
		expect(page.headers.get('content-security-policy')).toBe(REFERENCE_PAGE_CSP);
		expect(REFERENCE_PAGE_CSP).not.toMatch(/script-src|unsafe/);
		const html = await page.text();
		expect(html).not.toMatch(/<script/i);
		for (const { op } of operations) expect(html).toContain(`id="${op.operationId}"`);
		for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
	});
});

/** How each operation is called: path parameters, query, token, body; and the status it must give. */
interface Call {
	params?: Record<string, string>;
	query?: Record<string, string>;
	token?: string | null;
	/** Multipart form (the upload). JSON bodies are the document's own example, `patch`ed. */
	form?: () => FormData;
	patch?: Record<string, unknown>;
	status: number;
}

const CALLS: Record<string, () => Call> = {
	getStatus: () => ({ status: 200 }),
	listBlocks: () => ({ status: 200 }),
	listTemplates: () => ({ status: 200 }),
	createWorkflow: () => ({ status: 201 }),
	getWorkflow: () => ({ params: { id: shared.id }, token: shared.viewToken, status: 200 }),
	exportWorkflow: () => ({ params: { id: shared.id }, token: shared.viewToken, status: 200 }),
	uploadFile: () => ({ query: { workflow_id: shared.id }, form: () => uploadForm(CSV), token: shared.editToken, status: 200 }),
	describeSource: () => ({ query: { path: file, delimiter: ',' }, status: 200 }),
	runWorkflow: () => ({ patch: { workflow_id: shared.id }, token: shared.editToken, status: 200 }),
	estimateRun: () => ({ patch: { workflow_id: shared.id }, token: shared.viewToken, status: 200 }),
	listJobs: () => ({ query: { workflow_id: shared.id, limit: '5' }, token: shared.viewToken, status: 200 }),
	getJob: () => ({ params: { id: jobId }, token: shared.viewToken, status: 200 }),
	cancelJob: () => ({ params: { id: jobId }, token: shared.editToken, status: 200 }),
	retryJob: () => ({ params: { id: jobId }, token: shared.editToken, status: 200 }),
	// Only a job paused at a spend limit resumes: a finished one is the declared 409.
	resumeJob: () => ({ params: { id: jobId }, token: shared.editToken, status: 409 }),
	getJobQueuePlace: () => ({ params: { id: jobId }, token: shared.viewToken, status: 200 }),
	getJobRows: () => ({ params: { id: jobId }, query: { limit: '2', errors: 'only' }, token: shared.viewToken, status: 200 }),
	getJobEstimate: () => ({ params: { id: jobId }, token: shared.viewToken, status: 200 }),
	getJobCells: () => ({ params: { id: jobId }, query: { limit: '2', q: 'a' }, token: shared.viewToken, status: 200 }),
	downloadJob: () => ({ params: { id: jobId }, token: shared.viewToken, status: 200 }),
	deliverWebhook: () => ({ params: { secret: SECRET }, status: 200 }),
	listVersions: () => ({ params: { id: shared.id }, query: { limit: '10' }, token: shared.viewToken, status: 200 }),
	createVersion: () => ({ params: { id: shared.id }, token: shared.editToken, status: 201 }),
	getVersion: () => ({ params: { id: shared.id, version: String(versionId) }, token: shared.viewToken, status: 200 }),
	diffVersion: () => ({ params: { id: shared.id, version: String(versionId) }, token: shared.viewToken, status: 200 }),
	restoreVersion: () => ({ params: { id: shared.id, version: String(versionId) }, token: shared.editToken, status: 200 }),
	getOpenApiDocument: () => ({ status: 200 }),
	getApiReference: () => ({ status: 200 })
};

/** The URL a generated client builds: template filled, only documented query parameters. */
function urlOf(path: string, op: OpenApiOperation, c: Call): string {
	const declared = new Map((op.parameters ?? []).map((p) => [`${p.in}:${p.name}`, p]));
	const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
		expect(declared.has(`path:${name}`), `${name} is a declared path parameter`).toBe(true);
		return encodeURIComponent(c.params?.[name] ?? '');
	});
	for (const name of Object.keys(c.query ?? {}))
		expect(declared.has(`query:${name}`), `${name} is a declared query parameter`).toBe(true);
	const qs = new URLSearchParams(c.query).toString();
	return qs ? `${filled}?${qs}` : filled;
}

describe('every documented operation, called as documented', () => {
	it('has a call in this test', () => {
		expect(operations.map((o) => o.op.operationId).sort()).toEqual(Object.keys(CALLS).sort());
	});

	it.each(operations.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))('%s', async (_name, { path, method, op }) => {
		const c = CALLS[op.operationId]();
		const example = op.requestBody?.content['application/json']?.example;
		if (op.operationId === 'deliverWebhook') hooks.expect((example as { task_id: string }).task_id);
		const json = example === undefined ? undefined : { ...(example as object), ...c.patch };
		const res = await call(method.toUpperCase(), urlOf(path, op, c), { json, form: c.form?.(), token: c.token });
		const type = (res.headers.get('content-type') ?? '').split(';')[0];
		const declared = op.responses[String(res.status)];
		const text = await res.text();
		expect(declared, `status ${res.status} is declared (${text.slice(0, 300)})`).toBeDefined();
		expect(res.status, text.slice(0, 300)).toBe(c.status);
		expect(Object.keys(declared.content ?? {}), 'the media type is declared').toContain(type);
		if (res.status >= 400) {
			expect(v.safeParse(ErrorBodySchema, JSON.parse(text)).success).toBe(true);
			return;
		}
		const schema = declared.content![type].schema;
		// A file or page (CSV, .xlsx, HTML, the OpenAPI document itself): its declared JSON type.
		if (!schema.$ref) return expect(typeof (type === 'application/json' ? JSON.parse(text) : text)).toBe(schema.type);
		const name = schema.$ref!.split('/').pop() as AnswerName;
		const body = JSON.parse(text) as unknown;
		const parsed = v.safeParse(ANSWER_SCHEMAS[name], body);
		expect(parsed.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`) ?? [], `answer is a ${name}`).toEqual([]);
		// Objects drop undeclared keys when parsed: an answer with a field the document lacks differs.
		expect(parsed.output, `${name} declares every field of the answer`).toEqual(body);
	});
});
