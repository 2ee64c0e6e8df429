/**
 * `GET /healthz` on a real server: 200 while the database takes writes, 503 with the reason when it
 * does not (read-only, closed), and back to 200 once it does again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { HealthReportSchema } from '../../server/health';
import type { RunningServer } from '../../server/index';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let temp: TempDir;
let server: RunningServer;

beforeAll(async () => {
	temp = await makeTempDir();
	server = await startTestServer(testServerEnv(temp.dir, null));
});
afterAll(async () => {
	await server?.close();
	await temp?.cleanup();
});

async function health(method = 'GET') {
	const res = await fetch(`${server.url}/healthz`, { method });
	const text = await res.text();
	return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as unknown) : null };
}

describe('/healthz', () => {
	it('is 200 with the database writable and the uptime', async () => {
		const before = Date.now();
		const { status, body, headers } = await health();
		const after = Date.now();
		expect(status).toBe(200);
		const report = v.parse(HealthReportSchema, body);
		expect(report).toMatchObject({ status: 'ok', db: 'writable' });
		expect(report.uptime_s).toBeGreaterThanOrEqual(0);
		expect(report.reason).toBeUndefined();
		expect(headers.get('cache-control')).toBe('no-store');
		// The probe really wrote: its row is there, stamped while this request was being answered.
		const row = server.db.prepare('SELECT checked_at FROM health_probe WHERE id = 1').get() as { checked_at: number };
		expect(row.checked_at).toBeGreaterThanOrEqual(before);
		expect(row.checked_at).toBeLessThanOrEqual(after);
	});

	it.each([
		{ method: 'HEAD', status: 200, body: '' },
		{ method: 'POST', status: 405, body: 'method_not_allowed' },
		{ method: 'DELETE', status: 405, body: 'method_not_allowed' }
	])('answers $method with $status', async ({ method, status, body }) => {
		const res = await health(method);
		expect(res.status).toBe(status);
		if (body) expect(res.text).toContain(body);
		else expect(res.text).toBe('');
	});

	it('is 503 read_only while the database refuses writes, and 200 again after', async () => {
		server.db.pragma('query_only = ON');
		try {
			const { status, body } = await health();
			expect(status).toBe(503);
			const report = v.parse(HealthReportSchema, body);
			expect(report).toMatchObject({ status: 'unavailable', db: 'read_only' });
			expect(report.reason).toMatch(/readonly|read-only/i);
		} finally {
			server.db.pragma('query_only = OFF');
		}
		expect((await health()).status).toBe(200);
	});

	it('is 503 closed once the database is closed (and the server still answers)', async () => {
		server.db.close();
		const { status, body } = await health();
		expect(status).toBe(503);
		expect(v.parse(HealthReportSchema, body)).toMatchObject({ status: 'unavailable', db: 'closed', reason: 'the database is closed' });
	});
});
