/**
 * PostgreSQL going away and coming back (issue 11): an unreachable DATABASE_URL stops the start
 * with one line (exit 1, no password); while running, a query whose connection is killed
 * (pg_terminate_backend) or a database refusing connections answers 503 `database_unavailable`
 * (and /healthz 503 with `postgresql: 'down'`, Redis up, no URL), the server stays up, and the next request succeeds once PostgreSQL is back — the pool
 * reconnects by itself.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/index';
import { freshPostgres, freshRedis, type TestPostgres, type TestRedis } from '../helpers/scale-services';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('an unreachable DATABASE_URL at start', () => {
	it('exits 1 with one line naming PostgreSQL, never the password', async () => {
		const temp = await makeTempDir();
		try {
			const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
				cwd: REPO,
				env: {
					PATH: process.env.PATH ?? '',
					HOME: process.env.HOME ?? '',
					PORT: '0',
					DATA_DIR: temp.dir,
					DATABASE_URL: 'postgres://leadflow:hunter2@127.0.0.1:1/leadflow',
					REDIS_URL: 'redis://127.0.0.1:6379'
				},
				stdio: ['ignore', 'pipe', 'pipe']
			});
			let stderr = '';
			let stdout = '';
			child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
			child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
			const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
			expect(code).toBe(1);
			expect(stderr.trim().split('\n')).toEqual([
				expect.stringMatching(
					/^Cannot start: PostgreSQL at postgres:\/\/leadflow@127\.0\.0\.1:1\/leadflow is not usable \(.*ECONNREFUSED/
				)
			]);
			expect(stderr + stdout).not.toContain('hunter2');
		} finally {
			await temp.cleanup();
		}
	});
});

describe('PostgreSQL lost while running', () => {
	let database: TestPostgres;
	let redis: TestRedis;
	let temp: TempDir;
	let server: RunningServer;
	let admin: pg.Client;
	let name: string;

	beforeAll(async () => {
		[database, redis, temp] = await Promise.all([freshPostgres(), freshRedis(), makeTempDir()]);
		name = new URL(database.url).pathname.slice(1);
		server = await startTestServer(testServerEnv(temp.dir, null, { DATABASE_URL: database.url, REDIS_URL: redis.url }));
		const adminUrl = new URL(database.url);
		adminUrl.pathname = '/postgres';
		admin = new pg.Client({ connectionString: adminUrl.toString() });
		await admin.connect();
	});
	afterAll(async () => {
		await admin?.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
		await admin?.end();
		await server?.close();
		await Promise.all([database?.drop(), redis?.release(), temp?.cleanup()]);
	});

	/** A request that reads the database: a workflow's job list (unknown workflow → 401/404 once looked up). */
	const lookup = () => fetch(`${server.url}/api/workflows/jobs?workflow_id=wf_000000000000000000000&token=${'x'.repeat(43)}`);
	const terminate = (where = '') =>
		admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ${where}`, [
			name
		]);

	it('a query whose connection is killed answers 503, and the next one succeeds', async () => {
		const normal = (await lookup()).status;
		expect([401, 404]).toContain(normal);
		// Hold the request inside PostgreSQL (a lock it waits for), then kill its connection.
		const locker = new pg.Client({ connectionString: database.url });
		await locker.connect();
		try {
			await locker.query('BEGIN');
			await locker.query('LOCK TABLE workflows IN ACCESS EXCLUSIVE MODE');
			const pending = lookup();
			for (let i = 0; ; i++) {
				const { rows } = await admin.query<{ n: number }>(
					"SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
					[name]
				);
				if (rows[0].n > 0) break;
				if (i > 2_000) throw new Error('the request never reached PostgreSQL');
				await new Promise((resolve) => setTimeout(resolve, 5));
			}
			await terminate(`AND wait_event_type = 'Lock'`);
			const res = await pending;
			expect(res.status).toBe(503);
			expect(await res.json()).toMatchObject({ error: { code: 'database_unavailable' } });
		} finally {
			await locker.query('ROLLBACK').catch(() => {});
			await locker.end();
		}
		expect((await lookup()).status).toBe(normal);
		// Every connection of the pool killed while idle: a request the pool hands a connection whose
		// end it has not read yet fails with the same clear 503 (never a crash); then fresh ones serve.
		await terminate();
		const after: number[] = [];
		for (let i = 0; i < 3 && after.at(-1) !== normal; i++) after.push((await lookup()).status);
		expect(after.at(-1)).toBe(normal);
		expect(after.filter((status) => status !== normal).every((status) => status === 503)).toBe(true);
		// And the server is still the same process, answering.
		expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
	});

	it('a database refusing connections answers 503 (and /healthz says so) until it is back', async () => {
		const normal = (await lookup()).status;
		await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
		await terminate();
		const res = await lookup();
		expect(res.status).toBe(503);
		expect(await res.json()).toMatchObject({ error: { code: 'database_unavailable' } });
		const health = await fetch(`${server.url}/healthz`);
		expect(health.status).toBe(503);
		const report = (await health.json()) as Record<string, unknown>;
		expect(report).toMatchObject({
			status: 'unavailable',
			db: 'error',
			postgresql: 'down',
			redis: 'up',
			reason: expect.stringMatching(/cannot be reached/)
		});
		expect(JSON.stringify(report)).not.toMatch(/postgres:\/\/|redis:\/\//);

		await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
		expect((await lookup()).status).toBe(normal);
		const healthy = await fetch(`${server.url}/healthz`);
		expect(healthy.status).toBe(200);
		expect(await healthy.json()).toMatchObject({ status: 'ok', db: 'writable', postgresql: 'up', redis: 'up' });
	});
});
