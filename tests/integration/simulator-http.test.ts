/**
 * The simulator over real HTTP on an ephemeral loopback port: hung requests, connection resets,
 * concurrency counters, the control routes and shutdown.
 */
import * as v from 'valibot';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SimStatsSchema, startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';

const HEADERS = { 'x-api-key': 'k', 'content-type': 'application/json' };
const LEAD = JSON.stringify({ lead: { name: 'Ada Lovelace', company: 'Ariglad Inc' } });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let sim: RunningSimulator;

beforeAll(async () => {
	sim = await startSimulator({ seed: 3 });
});
afterAll(async () => {
	await sim.close();
});
beforeEach(() => {
	sim.configure({
		faults: { hang: 0, reset: 0, error500: 0 },
		latency: { find_email: { medianMs: 0 } },
		rateLimit: null,
		apiKey: null,
		hangTimeoutMs: 600_000
	});
	sim.reset();
});

function findEmail(init: RequestInit = {}): Promise<Response> {
	return fetch(`${sim.url}/find-email`, { method: 'POST', headers: HEADERS, body: LEAD, ...init });
}

async function stats() {
	return v.parse(SimStatsSchema, await (await fetch(`${sim.url}/__sim/stats`)).json());
}

/** Poll the counters until `check` holds (or give up after `ms`). */
async function statsWhen(check: (s: Awaited<ReturnType<typeof stats>>) => boolean, ms = 2_000) {
	const deadline = Date.now() + ms;
	let last = await stats();
	while (!check(last) && Date.now() < deadline) {
		await wait(20);
		last = await stats();
	}
	return last;
}

describe('simulator over HTTP', () => {
	it('listens on loopback with an ephemeral port', () => {
		expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
		expect(sim.port).toBeGreaterThan(0);
	});

	it('holds a hung request until the client aborts, then frees it without an answer', async () => {
		sim.configure({ faults: { hang: 1 } });
		const controller = new AbortController();
		const pending = findEmail({ signal: controller.signal });
		const during = await statsWhen((s) => s.concurrent === 1);
		expect(during.concurrent).toBe(1);
		controller.abort();
		await expect(pending).rejects.toThrow(/abort/i);
		const after = await statsWhen((s) => s.concurrent === 0);
		expect(after).toMatchObject({ concurrent: 0, statuses: {}, faults: { hung: 1 }, paid_answers: 0 });
	});

	it('ends a hung request with 504 after hangTimeoutMs', async () => {
		sim.configure({ faults: { hang: 1 }, hangTimeoutMs: 100 });
		const res = await findEmail();
		expect(res.status).toBe(504);
		expect(await res.json()).toEqual({ detail: 'Gateway Timeout' });
	});

	it('resets the connection when told to', async () => {
		sim.configure({ faults: { reset: 1 } });
		await expect(findEmail()).rejects.toThrow();
		expect((await stats()).faults.reset).toBe(1);
		sim.configure({ faults: { reset: 0 } });
		expect((await findEmail()).status).toBe(200);
	});

	it('counts concurrent requests and their peak', async () => {
		// Every answer takes 2 s: the twelve overlap even when a loaded machine sends them slowly.
		sim.configure({ latency: { find_email: { medianMs: 2_000 } } });
		const all = Promise.all(Array.from({ length: 12 }, () => findEmail()));
		const during = await statsWhen((s) => s.concurrent === 12);
		expect(during.concurrent).toBe(12);
		expect((await all).map((r) => r.status)).toEqual(Array(12).fill(200));
		expect(await stats()).toMatchObject({ concurrent: 0, concurrent_peak: 12, calls: { '/find-email': 12 } });
	});

	it('answers a burst over the limit with 429s carrying Retry-After', async () => {
		sim.configure({ rateLimit: { requests: 5, windowMs: 60_000 } });
		const answers = await Promise.all(Array.from({ length: 9 }, () => findEmail()));
		const statuses = answers.map((r) => r.status).sort();
		expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429]);
		for (const r of answers) {
			expect(r.headers.get('x-ratelimit-limit')).toBe('5');
			if (r.status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
		}
		expect((await stats()).rate_limited).toBe(4);
	});

	it('charges a sync answer whose latency elapsed even when the client left early', async () => {
		sim.configure({ latency: { find_email: { medianMs: 150 } } });
		const controller = new AbortController();
		const pending = findEmail({ signal: controller.signal });
		await wait(50);
		controller.abort();
		await expect(pending).rejects.toThrow();
		const after = await statsWhen((s) => s.paid_answers === 1 && s.concurrent === 0);
		expect(after).toMatchObject({ paid_answers: 1, concurrent: 0 });
	});

	it('switches to 401 mid-run through POST /__sim/config and back', async () => {
		expect((await findEmail()).status).toBe(200);
		const set = await fetch(`${sim.url}/__sim/config`, { method: 'POST', body: JSON.stringify({ apiKey: 'new-key' }) });
		expect(set.status).toBe(200);
		const refused = await findEmail();
		expect(refused.status).toBe(401);
		expect(await refused.json()).toEqual({ detail: 'Invalid API key' });
		await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });
		expect((await stats()).requests).toBe(0);
	});
});

describe('shutdown', () => {
	it('close() ends hung requests at once and stops listening', async () => {
		const own = await startSimulator({ faults: { hang: 1 } });
		const pending = fetch(`${own.url}/find-email`, { method: 'POST', headers: HEADERS, body: LEAD }).then(
			(r) => r.status,
			() => 'closed'
		);
		await wait(50);
		// The hang lasts 10 minutes: a close() that waited for it would hang the test.
		await own.close();
		expect(await pending).toBe('closed');
		await expect(fetch(`${own.url}/__sim/stats`)).rejects.toThrow();
		await own.close(); // idempotent
	});
});
