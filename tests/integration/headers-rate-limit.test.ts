/**
 * Per-client rate limits on a real server: workflow creation and uploads answer 429 with
 * Retry-After once a client's burst is spent, other clients go on, other routes are not limited, a
 * refused upload stores nothing, and `X-Forwarded-For` counts only when TRUST_PROXY is on.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/index';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const LIMITS = { RATE_LIMIT_WORKFLOWS_PER_MIN: '3', RATE_LIMIT_UPLOADS_PER_MIN: '2' };

let temps: TempDir[] = [];
let proxied: RunningServer;
let direct: RunningServer;

beforeAll(async () => {
	temps = [await makeTempDir(), await makeTempDir()];
	proxied = await startTestServer(testServerEnv(temps[0].dir, null, { ...LIMITS, TRUST_PROXY: 'true' }));
	direct = await startTestServer(testServerEnv(temps[1].dir, null, LIMITS));
});
afterAll(async () => {
	await proxied?.close();
	await direct?.close();
	for (const t of temps) await t.cleanup();
});

const create = (server: RunningServer, client?: string) =>
	fetch(`${server.url}/api/workflows`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...(client ? { 'x-forwarded-for': client } : {}) },
		body: '{}'
	});

function upload(server: RunningServer, client: string, bytes = 64) {
	const form = new FormData();
	form.append('file', new Blob([`name,company\n${'x'.repeat(bytes)},Acme\n`], { type: 'text/csv' }), 'leads.csv');
	return fetch(`${server.url}/api/workflows/upload`, { method: 'POST', headers: { 'x-forwarded-for': client }, body: form });
}

async function statuses(responses: Promise<Response>[]): Promise<number[]> {
	const out: number[] = [];
	for (const p of responses) {
		const res = await p;
		await res.arrayBuffer();
		out.push(res.status);
	}
	return out;
}

describe('per-client rate limits', () => {
	it('refuses the 4th creation of a client within the minute with 429, Retry-After and the error shape', async () => {
		const client = '198.51.100.1';
		expect(await statuses([create(proxied, client), create(proxied, client), create(proxied, client)])).toEqual([201, 201, 201]);
		const refused = await create(proxied, client);
		expect(refused.status).toBe(429);
		expect(refused.headers.get('retry-after')).toBe('20');
		expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
		expect(await refused.json()).toEqual({
			error: { code: 'rate_limited', message: 'Too many workflow creations from your address: try again in 20 s' }
		});
	});

	it('leaves other clients and other routes alone', async () => {
		const client = '198.51.100.2';
		await statuses([create(proxied, client), create(proxied, client), create(proxied, client)]);
		expect((await create(proxied, client)).status).toBe(429);
		expect((await create(proxied, '198.51.100.3')).status).toBe(201);
		// Reading is not limited, nor is the same client's other work.
		const reads = await statuses(
			Array.from({ length: 10 }, () => fetch(`${proxied.url}/api/workflows/blocks`, { headers: { 'x-forwarded-for': client } }))
		);
		expect(reads.every((s) => s === 200)).toBe(true);
		expect((await upload(proxied, client)).status).toBe(200);
	});

	it('refuses the 3rd upload, stores nothing for it, and answers 429 even to a large body', async () => {
		const client = '198.51.100.4';
		const uploadsDir = join(temps[0].dir, 'uploads');
		const before = (await readdir(uploadsDir).catch(() => [])).length;
		expect(await statuses([upload(proxied, client), upload(proxied, client)])).toEqual([200, 200]);
		const refused = await upload(proxied, client, 2 * 1024 * 1024);
		expect(refused.status).toBe(429);
		expect(refused.headers.get('retry-after')).toBe('30');
		expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
		expect((await readdir(uploadsDir)).length).toBe(before + 2);
	});

	it('ignores X-Forwarded-For without TRUST_PROXY: a client cannot dodge its limit by inventing addresses', async () => {
		const results = await statuses([1, 2, 3, 4, 5].map((n) => create(direct, `203.0.113.${n}`)));
		expect(results).toEqual([201, 201, 201, 429, 429]);
	});
});
