/**
 * Paid runs on the real server (node:http, SQLite, the job manager), against a scripted Sixtyfour
 * that charges 5 cents per find-email and answers only when the test lets it:
 *
 * - fairness: a pile of runs posted by one client does not hold back a shared workflow's run
 *   beyond one slot turn (the queue takes turns per workflow / client, not first come first served);
 * - spend limits: a run whose cost bound exceeds what is left today is refused with a 402 that
 *   names the budget, the bound and what is left; runs that each fit but together do not make the
 *   second one pause at the limit with a message — no paid call after it — and the spend survives
 *   a restart; once the limit is raised the paused run resumes and pays only for rows not yet paid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { JobProgress } from '../../server/jobs/job-progress';
import { startFakeSixtyfour, type FakeSixtyfour } from '../helpers/fake-sixtyfour';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import type { RunningServer } from '../../server/index';

const PRICE = 5; // cents per PROFESSIONAL find-email, as estimate.ts and the fake agree

let fake: FakeSixtyfour;
/** While true the fake holds every find-email until `releaseOne()` / `releaseAll()`. */
let holding = false;
let held: (() => void)[] = [];
const temps: TempDir[] = [];
const servers: RunningServer[] = [];

beforeAll(async () => {
	fake = await startFakeSixtyfour(async (request) => {
		if (request.path !== '/find-email') return { status: 500, body: { detail: 'not scripted' } };
		if (holding) await new Promise<void>((resolve) => held.push(resolve));
		return { body: { email: [['someone@ok.example', 'OK', 'COMPANY']], cost_cents: PRICE } };
	});
});
afterAll(async () => {
	holding = false;
	held.forEach((r) => r());
	for (const s of servers) await s.close().catch(() => {});
	await fake?.close();
	for (const t of temps) await t.cleanup();
});

function releaseOne() {
	held.shift()?.();
}
function releaseAll() {
	holding = false;
	const list = held;
	held = [];
	list.forEach((r) => r());
}
const emailCalls = () => fake.requests.filter((r) => r.path === '/find-email').length;

/** A data dir with `uploads/<name>.csv` files of `rows` leads each, every file other leads. */
async function dataDir(files: Record<string, number>): Promise<string> {
	const temp = await makeTempDir('leadflow-spend-');
	temps.push(temp);
	let first = 1_000 * temps.length;
	for (const [name, rows] of Object.entries(files)) {
		await writeLeadsCsv(join(temp.dir, 'uploads', `${name}.csv`), rows, first);
		first += rows;
	}
	return temp.dir;
}

async function start(dir: string, extra: Record<string, string>) {
	const server = await startTestServer(testServerEnv(dir, fake.url, { SIXTYFOUR_MAX_ATTEMPTS: '1', ...extra }));
	servers.push(server);
	return server;
}

const emailWorkflow = (file: string) => ({
	name: `Emails of ${file}`,
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: `uploads/${file}.csv` } },
		{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } }
	]
});

function api(server: RunningServer) {
	const call = async (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => {
		const res = await fetch(`${server.url}/api/workflows${path}`, {
			method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
			headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
			body: init.body === undefined ? undefined : JSON.stringify(init.body)
		});
		// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of several routes, probed field by field
		return { status: res.status, json: (await res.json()) as any };
	};
	return {
		call,
		async share(file: string): Promise<{ id: string; token: string }> {
			const res = await call('', { body: { from: emailWorkflow(file) } });
			expect(res.status).toBe(201);
			return { id: res.json.id, token: res.json.edit_token };
		},
		async postRun(file: string, options: object = {}): Promise<string> {
			const res = await call('/run', { body: { workflow: emailWorkflow(file), options } });
			expect(res.status, JSON.stringify(res.json)).toBe(200);
			return res.json.job_id;
		},
		job: async (id: string, token?: string) => (await call(`/jobs/${id}`, { token })).json as JobProgress,
		async waitFor(id: string, statuses: string[], token?: string): Promise<JobProgress> {
			let job = await this.job(id, token);
			await expect.poll(async () => (job = await this.job(id, token)).status, { timeout: 20_000, interval: 20 }).toBeOneOf(statuses);
			return job;
		}
	};
}

describe('fair queue', () => {
	it("a pile of runs from one client does not delay a shared workflow's run beyond one slot turn", async () => {
		const files: Record<string, number> = { shared: 1 };
		for (let i = 0; i < 8; i++) files[`pile-${i}`] = 1;
		const server = await start(await dataDir(files), { MAX_CONCURRENT_JOBS: '2' });
		const client = api(server);
		holding = true;
		const pile: string[] = [];
		try {
			for (let i = 0; i < 8; i++) pile.push(await client.postRun(`pile-${i}`));
			// Both slots are taken by the pile: two find-email calls are held at the API.
			await expect.poll(() => held.length, { timeout: 20_000 }).toBe(2);
			const shared = await client.share('shared');
			const res = await client.call('/run', { body: { workflow_id: shared.id }, token: shared.token });
			expect(res.status).toBe(200);
			const sharedJob = res.json.job_id as string;

			// One slot frees up: it goes to the shared workflow, not to the next run of the pile.
			releaseOne();
			await expect.poll(() => held.length, { timeout: 20_000 }).toBe(2);
			expect((await client.job(sharedJob, shared.token)).status).toBe('running');
			const statuses = await Promise.all(pile.slice(2).map(async (id) => (await client.job(id)).status));
			expect(statuses).toEqual(Array(6).fill('pending'));
		} finally {
			releaseAll();
		}
		for (const id of pile) await client.waitFor(id, ['completed']);
		await server.close();
	});
});

describe('spend limits', () => {
	let dir: string;

	it('refuses a run whose cost bound exceeds what is left today (402 naming the budget, the bound and what is left)', async () => {
		dir = await dataDir({ big: 10, a: 4, b: 4 });
		const server = await start(dir, { SPEND_LIMIT_CENTS_PER_DAY: '25', MAX_CONCURRENT_JOBS: '1' });
		const client = api(server);
		const before = emailCalls();

		const refused = await client.call('/run', { body: { workflow: emailWorkflow('big') } });
		expect(refused.status).toBe(402);
		expect(refused.json.error.code).toBe('budget_exceeded');
		expect(refused.json.error.message).toBe(
			"This run could cost up to $0.50, and the server's daily spend limit is $0.25: $0.00 spent today, $0.25 left (it resets at 00:00 UTC). " +
				'Run fewer rows (row_limit), wait for tomorrow, or raise SPEND_LIMIT_CENTS_PER_DAY.'
		);
		// The estimate says the same before anyone tries.
		const estimate = await client.call('/estimate', { body: { workflow: emailWorkflow('big') } });
		expect(estimate.json).toMatchObject({
			max_cost_cents: 50,
			budget: { server: { limit_cents: 25, spent_cents: 0, left_cents: 25 } }
		});
		// Within the budget it runs.
		const small = await client.postRun('big', { row_limit: 5 });
		await client.waitFor(small, ['completed']);
		expect(emailCalls() - before).toBe(5);
		const after = await client.call('/estimate', { body: { workflow: emailWorkflow('big') } });
		expect(after.json.budget.server).toEqual({ limit_cents: 25, spent_cents: 25, left_cents: 0 });
		await server.close();
	});

	it('pauses a run at the limit with a message, makes no paid call after it, and resumes once the limit is raised', async () => {
		// A fresh day's budget of 25 cents for this data dir's server; two runs of 4 rows (20 cents) each fit alone.
		const fresh = await dataDir({ a: 4, b: 4 });
		let server = await start(fresh, { SPEND_LIMIT_CENTS_PER_DAY: '25', MAX_CONCURRENT_JOBS: '1' });
		let client = api(server);
		const before = emailCalls();
		// The first run's calls are held at the API until the second is queued: nothing is spent yet when both are checked.
		holding = true;
		const first = await client.postRun('a', { concurrency: 4 });
		const second = await client.postRun('b', { concurrency: 4 });
		releaseAll();
		expect((await client.waitFor(first, ['completed'])).totals.cost_cents).toBe(20);

		const paused = await client.waitFor(second, ['paused']);
		expect(paused.error).toBe(
			"Paused at the spend limit. The server's daily spend limit is $0.25: $0.25 spent today, $0.00 left (it resets at 00:00 UTC). " +
				'Resume after 00:00 UTC or once SPEND_LIMIT_CENTS_PER_DAY is raised, or cancel the run.'
		);
		// 4 + 1 paid calls: exactly the budget, nothing after the limit (no call was in flight then).
		expect(emailCalls() - before).toBe(5);
		expect(paused.totals.cost_cents).toBe(5);
		expect(paused.results.find((b) => b.block_id === 'email')?.status).toBe('paused');
		// Nothing left: resuming is refused, and so is a retry or a download of a paused run.
		const resume = await client.call(`/jobs/${second}/resume`, { method: 'POST' });
		expect(resume.status).toBe(402);
		expect(resume.json.error.message).toContain("the server's daily spend limit is $0.25: $0.25 spent today, $0.00 left");
		expect((await client.call(`/jobs/${second}/retry`, { method: 'POST' })).status).toBe(409);

		// A restart forgets nothing: the day's spend comes from the database, the job stays paused.
		await server.close();
		server = await start(fresh, { SPEND_LIMIT_CENTS_PER_DAY: '25', MAX_CONCURRENT_JOBS: '1' });
		client = api(server);
		expect((await client.job(second)).status).toBe('paused');
		expect((await client.call(`/jobs/${second}/resume`, { method: 'POST' })).status).toBe(402);
		expect(emailCalls() - before).toBe(5);

		// The limit raised: the run resumes and pays only for its 3 rows not yet answered.
		await server.close();
		server = await start(fresh, { SPEND_LIMIT_CENTS_PER_DAY: '100', MAX_CONCURRENT_JOBS: '1' });
		client = api(server);
		const resumed = await client.call(`/jobs/${second}/resume`, { method: 'POST' });
		expect(resumed.status).toBe(200);
		const done = await client.waitFor(second, ['completed']);
		expect(done.row_count).toBe(4);
		expect(emailCalls() - before).toBe(8);
		const status = await client.call('/estimate', { body: { workflow: emailWorkflow('a') } });
		expect(status.json.budget.server).toEqual({ limit_cents: 100, spent_cents: 40, left_cents: 60 });
	});

	it('cancels a paused run', async () => {
		const fresh = await dataDir({ a: 2, b: 2 });
		const server = await start(fresh, { SPEND_LIMIT_CENTS_PER_DAY: '10', MAX_CONCURRENT_JOBS: '1' });
		const client = api(server);
		holding = true;
		const first = await client.postRun('a');
		const second = await client.postRun('b');
		releaseAll();
		await client.waitFor(first, ['completed']);
		await client.waitFor(second, ['paused']);
		const cancelled = await client.call(`/jobs/${second}/cancel`, { method: 'POST' });
		expect(cancelled.json.status).toBe('cancelled');
		expect((await client.call(`/jobs/${second}/resume`, { method: 'POST' })).status).toBe(409);
	});
});
