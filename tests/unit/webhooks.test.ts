/**
 * Async answers by webhook: the completion route accepts a delivery only for a task this server
 * submitted and still waits for, applies it once, and answers everything else with a clear 4xx;
 * a run against the simulator with half its webhooks dropped (and some sent twice) still completes
 * with the rows a polling run gives, at far fewer requests per row.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as v from 'valibot';
import { createScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService } from '../../server/enrichment/service';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import { createTaskWebhooks, type TaskWebhooks } from '../../server/enrichment/task-webhooks';
import { runJob } from '../../server/engine/run-job';
import { WEBHOOK_BODY_LIMIT, WEBHOOK_PATH } from '../../server/routes/sixtyfour-webhook';
import { openDatabase, type Db } from '../../server/store/db';
import { WorkflowSchema, type Row } from '../../src/lib/workflow/schema';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { createTestApp, type TestApp } from '../helpers/test-app';
import { RUNNERS } from '../../server/blocks';

const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuv';

describe('POST /api/sixtyfour/webhook/:secret', () => {
	let t: TestApp;
	let hooks: TaskWebhooks;
	beforeEach(async () => {
		hooks = createTaskWebhooks({
			url: `http://127.0.0.1:1${WEBHOOK_PATH}/${SECRET}`
		});
		t = await createTestApp({ webhooks: { hooks, secret: SECRET } });
	});
	afterEach(() => t.close());
	const post = (body: string, secret = SECRET) =>
		t.app.request(`${WEBHOOK_PATH}/${secret}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body
		});
	const completion = (task_id: string, extra: object = {}) =>
		JSON.stringify({
			task_id,
			status: 'completed',
			task_type: 'lead_enrichment',
			result: { structured_data: {} },
			...extra
		});
	const waiter = (taskId: string) => hooks.wait(taskId, 60_000, new AbortController().signal);

	it('applies the completion of a task this server waits for, handing it to the waiting row', async () => {
		hooks.expect('t1');
		const waiting = waiter('t1');
		const res = await post(completion('t1'));
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ outcome: 'applied' });
		expect(await waiting).toMatchObject({ task_id: 't1', status: 'completed' });
	});

	it.each([
		{
			case: 'unknown task',
			prepare: () => {},
			body: () => completion('never-submitted'),
			status: 404,
			code: 'unknown_task'
		},
		{
			case: 'wrong secret',
			prepare: (h: TaskWebhooks) => h.expect('t1'),
			body: () => completion('t1'),
			secret: 'x'.repeat(SECRET.length),
			status: 404,
			code: 'not_found'
		},
		{
			case: 'wrong secret, other length',
			prepare: (h: TaskWebhooks) => h.expect('t1'),
			body: () => completion('t1'),
			secret: 'short',
			status: 404,
			code: 'not_found'
		},
		{
			case: 'malformed JSON',
			prepare: (h: TaskWebhooks) => h.expect('t1'),
			body: () => '{"task_id": "t1", ',
			status: 400,
			code: 'invalid_request'
		},
		{
			case: 'no task_id',
			prepare: (h: TaskWebhooks) => h.expect('t1'),
			body: () => JSON.stringify({ status: 'completed' }),
			status: 400,
			code: 'invalid_request',
			path: 'task_id'
		},
		{
			case: 'status of the wrong type',
			prepare: (h: TaskWebhooks) => h.expect('t1'),
			body: () => JSON.stringify({ task_id: 't1', status: 7 }),
			status: 400,
			code: 'invalid_request',
			path: 'status'
		},
		{
			case: 'a JSON array',
			prepare: (h: TaskWebhooks) => h.expect('t1'),
			body: () => '[]',
			status: 400,
			code: 'invalid_request'
		},
		{
			case: 'oversized',
			prepare: (h: TaskWebhooks) => h.expect('t1'),
			body: () => completion('t1', { result: { notes: 'x'.repeat(WEBHOOK_BODY_LIMIT) } }),
			status: 413,
			code: 'payload_too_large'
		}
	])('$case → $status $code, nothing applied', async ({ prepare, body, secret, status, code, path }) => {
		prepare(hooks);
		const res = await post(body(), secret);
		expect(res.status).toBe(status);
		const answer = (await res.json()) as {
			error: { code: string; issues?: { path: string }[] };
		};
		expect(answer.error.code).toBe(code);
		if (path) expect(answer.error.issues?.[0]?.path).toBe(path);
		// Whatever was refused, the task still waits: a poll will answer it.
		expect(await hooks.wait('t1', 0, new AbortController().signal)).toBeNull();
	});

	it('a duplicate delivery is acknowledged and applied once', async () => {
		hooks.expect('t1');
		expect(await (await post(completion('t1'))).json()).toEqual({
			outcome: 'applied'
		});
		const second = await post(completion('t1', { result: { structured_data: { title: 'forged' } } }));
		expect(second.status).toBe(200);
		expect(await second.json()).toEqual({ outcome: 'duplicate' });
		expect(await waiter('t1')).toMatchObject({
			result: { structured_data: {} }
		});
	});

	it('a webhook arriving after a poll already answered the task is a harmless duplicate', async () => {
		hooks.expect('t1');
		hooks.settle('t1'); // the poll answered it
		const res = await post(completion('t1'));
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ outcome: 'duplicate' });
	});

	it('a "running" delivery is not an end: ignored, the task still waits', async () => {
		hooks.expect('t1');
		expect(await (await post(JSON.stringify({ task_id: 't1', status: 'running' }))).json()).toEqual({ outcome: 'ignored' });
		expect(await (await post(completion('t1'))).json()).toEqual({
			outcome: 'applied'
		});
	});

	it('without PUBLIC_URL there is no webhook route', async () => {
		const plain = await createTestApp();
		const res = await plain.app.request(`${WEBHOOK_PATH}/${SECRET}`, {
			method: 'POST',
			body: completion('t1')
		});
		expect(res.status).toBe(404);
		await plain.close();
	});
});

describe('a run with webhooks against the simulator', () => {
	const ROWS = 120;
	let sim: RunningSimulator;
	let t: TestApp;
	let server: Server;
	let hooks: TaskWebhooks;
	let db: Db;
	beforeAll(async () => {
		sim = await startSimulator({
			seed: 5,
			latency: { enrich_lead: { medianMs: 40, p99Ms: 80 } },
			faults: { webhookDrop: 0.5, webhookDuplicate: 0.2 },
			webhookRetryMs: 20
		});
		t = await createTestApp();
		await writeLeadsCsv(join(t.dataDir, 'uploads', 'hook-leads.csv'), ROWS);
		server = createAdaptorServer({
			fetch: (req) => hooked.app.fetch(req)
		}) as Server;
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const port = (server.address() as AddressInfo).port;
		hooks = createTaskWebhooks({
			url: `http://127.0.0.1:${port}${WEBHOOK_PATH}/${SECRET}`
		});
		hooked = await createTestApp({ webhooks: { hooks, secret: SECRET } });
	});
	let hooked: TestApp;
	afterAll(async () => {
		await sim.close();
		await new Promise<void>((resolve) => server.close(() => resolve()));
		await hooked.close();
		await t.close();
	});
	beforeEach(() => {
		db = openDatabase(':memory:');
		sim.reset();
	});
	afterEach(() => db.close());

	const workflow = v.parse(WorkflowSchema, {
		name: 'hooks',
		blocks: [
			{
				id: 'read',
				type: 'read_csv',
				params: { path: 'uploads/hook-leads.csv' }
			},
			{
				id: 'enrich',
				type: 'enrich_lead',
				params: { struct: { title: 'Job title' }, concurrency: 60 }
			}
		]
	});
	async function run(webhooks?: TaskWebhooks) {
		const enrichment = createEnrichmentService({
			apiKey: 'sk-test',
			baseUrl: sim.url,
			db,
			scheduler: createScheduler({
				ratePerMinute: 600_000,
				burst: 1_000,
				maxInFlight: 100
			}),
			polling: {
				initialMs: 40,
				minIntervalMs: 10,
				webhookTailFactor: 3,
				webhookTailSlackMs: 150
			},
			webhooks
		});
		const rows: Row[] = [];
		const result = await runJob({
			runners: RUNNERS,
			jobId: 'j',
			workflow,
			dataDir: t.dataDir,
			enrichment,
			onRows: (b) => void rows.push(...b)
		});
		return { result, rows, stats: sim.stats() };
	}

	it('half the webhooks dropped, some sent twice: every row right, lost ones polled, nothing paid twice', async () => {
		const polled = await run();
		db.close();
		db = openDatabase(':memory:');
		sim.reset();
		const hooked = await run(hooks);
		expect(hooked.result.status).toBe('completed');
		expect(hooked.result.blocks[1].errors).toBe(0);
		expect(hooked.rows).toEqual(polled.rows);
		const s = hooked.stats;
		expect(s.webhooks.scheduled).toBe(ROWS);
		expect(s.webhooks.dropped).toBeGreaterThan(ROWS / 4);
		expect(s.webhooks.delivered).toBeGreaterThan(ROWS / 4);
		// Rows whose webhook came cost one request; the lost ones a poll or two more.
		expect(s.calls['/job-status'] ?? 0).toBeGreaterThanOrEqual(s.webhooks.dropped);
		expect(s.requests).toBeLessThan(polled.stats.requests);
		expect(s.duplicates_paid).toBe(0);
		expect(hooks.waiting()).toBe(0);
	}, 60_000);
});
