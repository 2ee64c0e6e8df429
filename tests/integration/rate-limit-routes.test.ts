/**
 * Per-client limits keyed on the route that handles a request, on a real server: however the path
 * is spelt (`/api/x/../workflows`, `/api/./workflows`, a fragment, an empty query, percent-encoding),
 * a request that creates a workflow, stores an upload or starts a run spends the same bucket. Runs
 * (posted, shared and retries) have their own limit, on by default in production; and with
 * REQUIRE_ADMIN_FOR_POSTED_RUNS only the operator may run a workflow posted as raw JSON.
 */
import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/index';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const ADMIN = 'operator-secret-0123456789abcdef';
/** A run that calls no API: the limit is what is tested, not the enrichment. */
const CHEAP = {
	workflow: { name: 'cheap', blocks: [{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } }] },
	options: { row_limit: 1 }
};

const temps: TempDir[] = [];
const servers: RunningServer[] = [];
/** Data dir of each started server. */
const dataDirs = new Map<RunningServer, string>();
async function start(extra: Record<string, string>): Promise<RunningServer> {
	const temp = await makeTempDir();
	temps.push(temp);
	const server = await startTestServer(testServerEnv(temp.dir, null, { TRUST_PROXY: 'true', ...extra }));
	servers.push(server);
	dataDirs.set(server, temp.dir);
	return server;
}
afterAll(async () => {
	for (const s of servers) await s.close();
	for (const t of temps) await t.cleanup();
});

interface RawAnswer {
	status: number;
	headers: Record<string, string | string[] | undefined>;
	body: string;
}

/** A request sent with its path exactly as given (fetch would normalise `..` and drop `#`). */
function raw(
	server: RunningServer,
	method: string,
	path: string,
	body: string | Buffer,
	headers: Record<string, string>
): Promise<RawAnswer> {
	const { hostname, port } = new URL(server.url);
	return new Promise((resolve, reject) => {
		const req = request(
			{ host: hostname, port, method, path, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } },
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (c: Buffer) => chunks.push(c));
				res.on('end', () =>
					resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })
				);
			}
		);
		req.on('error', reject);
		req.end(body);
	});
}

/** Waits until a job is final (reads are not limited). */
async function settle(server: RunningServer, jobId: string): Promise<void> {
	const deadline = Date.now() + 15_000;
	while (!['completed', 'failed', 'cancelled'].includes((await server.jobStore.get(jobId))?.status ?? '')) {
		if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

const json = (client: string, token?: string): Record<string, string> => ({
	'content-type': 'application/json',
	'x-forwarded-for': client,
	...(token ? { authorization: `Bearer ${token}` } : {})
});

function multipart(client: string): { body: Buffer; headers: Record<string, string> } {
	const boundary = 'xxBOUNDARYxx';
	const body = Buffer.from(
		`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="leads.csv"\r\nContent-Type: text/csv\r\n\r\n` +
			`name,company\nAda,Engines\n\r\n--${boundary}--\r\n`
	);
	return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'x-forwarded-for': client } };
}

/** Spellings of one route that the router sends to the same handler. */
const spell = (route: string) => [
	route,
	route.replace('/api/', '/api/x/../'),
	route.replace('/api/', '/api/./'),
	`${route}#x`,
	`${route}?`,
	route.replace('/workflows', '/%77orkflows')
];

describe('limits follow the route, not the spelling of the path', () => {
	let server: RunningServer;
	beforeAll(async () => {
		server = await start({ RATE_LIMIT_WORKFLOWS_PER_MIN: '3', RATE_LIMIT_UPLOADS_PER_MIN: '3', RATE_LIMIT_RUNS_PER_MIN: '3' });
	});

	it('workflow creations: 3 pass, every further spelling is refused', async () => {
		const answers: RawAnswer[] = [];
		for (const path of spell('/api/workflows')) answers.push(await raw(server, 'POST', path, '{}', json('198.51.100.10')));
		expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 429, 429, 429]);
		expect(answers[3].headers['retry-after']).toBe('20');
		expect(JSON.parse(answers[3].body).error.code).toBe('rate_limited');
	});

	it('uploads: 3 stored, the rest refused and nothing more on disk', async () => {
		const dir = join(dataDirs.get(server)!, 'uploads');
		const before = (await readdir(dir).catch(() => [])).length;
		const statuses: number[] = [];
		for (const path of spell('/api/workflows/upload')) {
			const { body, headers } = multipart('198.51.100.11');
			statuses.push((await raw(server, 'POST', path, body, headers)).status);
		}
		expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
		expect((await readdir(dir)).length).toBe(before + 3);
	});

	it('runs: 3 started, the rest refused', async () => {
		const statuses: number[] = [];
		for (const path of spell('/api/workflows/run'))
			statuses.push((await raw(server, 'POST', path, JSON.stringify(CHEAP), json('198.51.100.12'))).status);
		expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
	});

	it('a path no route handles is not counted against a route', async () => {
		for (let i = 0; i < 5; i++)
			expect((await raw(server, 'POST', '/api/workflows/runs', '{}', json('198.51.100.13'))).status).toBe(404);
		expect((await raw(server, 'POST', '/api/workflows/run', JSON.stringify(CHEAP), json('198.51.100.13'))).status).toBe(200);
	});
});

describe('the run limit', () => {
	it('is on by default in production: a burst of paid runs from one client is cut short', async () => {
		const server = await start({ NODE_ENV: 'production' });
		const statuses: number[] = [];
		for (let i = 0; i < 12; i++)
			statuses.push((await raw(server, 'POST', '/api/workflows/run', JSON.stringify(CHEAP), json('198.51.100.20'))).status);
		expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
		expect(statuses.slice(10)).toEqual([429, 429]);
		// Another client is not slowed by the first.
		expect((await raw(server, 'POST', '/api/workflows/run', JSON.stringify(CHEAP), json('198.51.100.21'))).status).toBe(200);
	});

	it('counts shared runs and retries in the same bucket', async () => {
		const server = await start({ RATE_LIMIT_RUNS_PER_MIN: '3' });
		const client = '198.51.100.22';
		const created = JSON.parse((await raw(server, 'POST', '/api/workflows', '{}', json(client))).body);
		const first = JSON.parse((await raw(server, 'POST', '/api/workflows/run', JSON.stringify(CHEAP), json(client))).body);
		// 1 posted run spent; the shared run (of an empty, invalid workflow) spends one though refused.
		expect(
			(await raw(server, 'POST', '/api/workflows/run', JSON.stringify({ workflow_id: created.id }), json(client, created.edit_token)))
				.status
		).toBe(400);
		const retry = `/api/workflows/jobs/${first.job_id}/retry`;
		await settle(server, first.job_id);
		expect((await raw(server, 'POST', retry, '', json(client))).status).toBe(200);
		expect((await raw(server, 'POST', retry, '', json(client))).status).toBe(429);
		expect((await raw(server, 'POST', '/api/workflows/run', JSON.stringify(CHEAP), json(client))).status).toBe(429);
	});
});

describe('REQUIRE_ADMIN_FOR_POSTED_RUNS', () => {
	let server: RunningServer;
	beforeAll(async () => {
		server = await start({ ADMIN_TOKEN: ADMIN, REQUIRE_ADMIN_FOR_POSTED_RUNS: 'true' });
	});

	it.each([
		{ what: 'no token', token: undefined, status: 401 },
		{ what: 'a wrong token', token: 'W'.repeat(32), status: 403 }
	])('refuses a posted run with $what ($status) and starts nothing', async ({ token, status }) => {
		const run = await raw(server, 'POST', '/api/workflows/run', JSON.stringify(CHEAP), json('198.51.100.30', token));
		expect(run.status).toBe(status);
		expect(JSON.parse(run.body).error.message).toMatch(/ADMIN_TOKEN/);
		expect((await server.jobStore.list({ offset: 0, limit: 10 })).total).toBe(0);
	});

	it("runs a posted workflow with the operator's token, and a shared one with its edit token", async () => {
		const posted = await raw(server, 'POST', '/api/workflows/run', JSON.stringify(CHEAP), json('198.51.100.31', ADMIN));
		expect(posted.status).toBe(200);
		const jobId = JSON.parse(posted.body).job_id as string;
		const created = JSON.parse(
			(await raw(server, 'POST', '/api/workflows', JSON.stringify({ from: 'basic' }), json('198.51.100.31'))).body
		);
		const sharedRun = await raw(
			server,
			'POST',
			'/api/workflows/run',
			JSON.stringify({ workflow_id: created.id, options: { row_limit: 1 } }),
			json('198.51.100.31', created.edit_token)
		);
		expect(sharedRun.status).toBe(200);

		// A retry of the anonymous job spends money too: the operator's only.
		await settle(server, jobId);
		expect((await raw(server, 'POST', `/api/workflows/jobs/${jobId}/retry`, '', json('198.51.100.31'))).status).toBe(401);
		expect((await raw(server, 'POST', `/api/workflows/jobs/${jobId}/retry`, '', json('198.51.100.31', ADMIN))).status).toBe(200);
	});
});
