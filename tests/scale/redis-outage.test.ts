/**
 * Redis gone while a web process runs (issue 11's contract): the requests that need it — posting a
 * run (the queue), the per-client limited routes — answer a clear 503 instead of hanging or
 * crashing, /healthz answers 503 with `redis: 'down'` (PostgreSQL still up; no URL in the report),
 * the process stays up, and once Redis is back (same port) it reconnects by itself and the same
 * requests succeed, /healthz 200 again. A private `redis-server` on a free port stands in for the service, so
 * stopping it disturbs no other suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/free-port';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { createFleet, runsClient, type Fleet } from '../helpers/fleet';
import { freshPostgres, type TestPostgres } from '../helpers/scale-services';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import type { ServerProcess } from '../helpers/server';

let port: number;
let redisServer: ChildProcess | null = null;
let pg: TestPostgres;
let data: TempDir;
let fleet: Fleet;
let web: ServerProcess;

/** Starts the private Redis and waits until it answers. */
async function startRedis(): Promise<void> {
	redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
		stdio: 'ignore'
	});
	for (;;) {
		const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
		probe.on('error', () => undefined); // refused while it starts: the loop tries again
		const ok = await probe.connect().then(
			() => probe.ping().then(() => true),
			() => false
		);
		probe.disconnect();
		if (ok) return;
		await new Promise((r) => setTimeout(r, 100));
	}
}

async function stopRedis(): Promise<void> {
	if (!redisServer) return;
	const exited = once(redisServer, 'exit');
	redisServer.kill('SIGKILL');
	await exited;
	redisServer = null;
}

const small = {
	name: 'Outage',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{ id: 'save', type: 'save_csv', params: {} }
	]
};

beforeAll(async () => {
	port = await freePort();
	await startRedis();
	[pg, data] = await Promise.all([freshPostgres(), makeTempDir('leadflow-outage-')]);
	await writeLeadsCsv(join(data.dir, 'uploads', 'leads.csv'), 5);
	fleet = createFleet({
		dataDir: data.dir,
		redisUrl: `redis://127.0.0.1:${port}/0`,
		databaseUrl: pg.url,
		simulatorUrl: 'http://127.0.0.1:9', // never called: no job runs here
		env: { RATE_LIMIT_WORKFLOWS_PER_MIN: '100' }
	});
	web = await fleet.start('web');
}, 180_000);

afterAll(async () => {
	await fleet?.kill();
	await stopRedis();
	await Promise.all([pg?.drop(), data?.cleanup()]);
});

async function health(): Promise<{ code: number; report: Record<string, unknown> }> {
	const res = await fetch(`${web.url}/healthz`);
	return { code: res.status, report: (await res.json()) as Record<string, unknown> };
}

describe('a web process whose Redis goes away', () => {
	it('answers 503 on what needs Redis, stays up, and recovers by itself when Redis is back', async () => {
		const api = runsClient(web.url);
		const createWorkflow = () =>
			fetch(`${web.url}/api/workflows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		expect((await createWorkflow()).status).toBe(201);
		expect(await health()).toEqual({
			code: 200,
			report: expect.objectContaining({ status: 'ok', db: 'writable', postgresql: 'up', redis: 'up' })
		});

		await stopRedis();
		const down = await health();
		expect(down).toEqual({
			code: 503,
			report: expect.objectContaining({
				status: 'unavailable',
				db: 'writable',
				postgresql: 'up',
				redis: 'down',
				reason: 'Redis cannot be reached'
			})
		});
		expect(JSON.stringify(down.report)).not.toMatch(new RegExp(`redis://|postgres://|:${port}\\b`));
		const run = await api.post('/run', { workflow: small });
		expect(run.status).toBe(503);
		expect(((await run.json()) as { error: { code: string; message: string } }).error).toMatchObject({
			code: 'service_unavailable',
			message: expect.stringMatching(/Redis/)
		});
		const created = await createWorkflow();
		expect(created.status).toBe(503);
		// What needs no Redis still answers: the process is up.
		expect((await fetch(`${web.url}/api/status`)).status).toBe(200);
		expect(web.child.exitCode).toBeNull();

		await startRedis();
		// Reconnects on its own (no restart): the same requests pass again once it has.
		let status = 0;
		while (status !== 201) {
			status = (await createWorkflow()).status;
			if (status !== 201) {
				expect(status).toBe(503);
				await new Promise((r) => setTimeout(r, 200));
			}
		}
		const again = await api.post('/run', { workflow: small });
		expect(again.status).toBe(200);
		// The message bus reconnects on its own schedule: /healthz turns 200 once it has.
		let back = await health();
		while (back.code !== 200) {
			expect(back.report).toMatchObject({ redis: 'down' });
			await new Promise((r) => setTimeout(r, 200));
			back = await health();
		}
		expect(back.report).toMatchObject({ status: 'ok', postgresql: 'up', redis: 'up' });
	}, 120_000);
});
