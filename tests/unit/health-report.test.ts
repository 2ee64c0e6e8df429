/**
 * The /healthz report's parts (server/health.ts) without a server: Redis's state (scale-out) joins
 * the database's — `redis` is reported only when there is a probe, and a Redis that does not answer
 * (or whose probe throws) makes the report `unavailable` even with the database writable; a
 * PostgreSQL store reports `postgresql` up/down. No connection URL, password or other URL ever
 * appears in the report, even when the database's own error message holds one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import type { KyselyPlugin } from 'kysely';
import { createHealthCheck, HealthReportSchema, scrub } from '../../server/health';
import { openDatabase } from '../../server/store/db';
import { sqliteStore, type Store } from '../../server/store/store';

const DATABASE_URL = 'postgres://leadflow:hunter2%21x@db.internal:5432/leadflow';
const REDIS_URL = 'redis://:s3cret-pw@cache.internal:6379/0';

const stores: Store[] = [];
afterEach(async () => {
	for (const s of stores.splice(0)) await s.close();
});

function memoryStore(): Store {
	const store = sqliteStore(openDatabase(':memory:'));
	stores.push(store);
	return store;
}

/** A store posing as PostgreSQL whose every query fails with `message` (as a driver's error would). */
function failingPostgres(message: string, code?: string): Store {
	const base = memoryStore();
	const fail: KyselyPlugin = {
		transformQuery() {
			throw Object.assign(new Error(message), code ? { code } : {});
		},
		transformResult: async (args) => args.result
	};
	return { dialect: 'postgres', db: base.db.withPlugin(fail), sqlite: null, open: true, close: () => base.close() };
}

describe('the health report with Redis', () => {
	it('embedded mode (no probe): no redis field, ok', async () => {
		const report = await createHealthCheck({ db: memoryStore() }).check();
		expect(v.parse(HealthReportSchema, report)).toEqual({ status: 'ok', db: 'writable', uptime_s: 0 });
	});

	it.each([
		{ probe: () => Promise.resolve(true), redis: 'up', status: 'ok' },
		{ probe: () => Promise.resolve(false), redis: 'down', status: 'unavailable' },
		{ probe: () => Promise.reject(new Error(`connect to ${REDIS_URL} failed`)), redis: 'down', status: 'unavailable' }
	])('a Redis probe answering $redis → $status', async ({ probe, redis, status }) => {
		const report = v.parse(
			HealthReportSchema,
			await createHealthCheck({ db: memoryStore(), redis: probe, secrets: [REDIS_URL] }).check()
		);
		expect(report).toMatchObject({ status, db: 'writable', redis });
		expect(report.postgresql).toBeUndefined(); // SQLite
		if (redis === 'down') expect(report.reason).toBe('Redis cannot be reached');
		else expect(report.reason).toBeUndefined();
		expect(JSON.stringify(report)).not.toMatch(/s3cret|redis:\/\/|cache\.internal/);
	});

	it('PostgreSQL unreachable: postgresql down, the reason without its URL or password', async () => {
		const store = failingPostgres(
			`connection to ${DATABASE_URL} refused (password hunter2!x, also postgres://other:pw@h/db)`,
			'ECONNREFUSED'
		);
		const report = v.parse(
			HealthReportSchema,
			await createHealthCheck({ db: store, redis: async () => true, secrets: [DATABASE_URL, REDIS_URL] }).check()
		);
		expect(report).toMatchObject({ status: 'unavailable', db: 'error', postgresql: 'down', redis: 'up' });
		expect(report.reason).toMatch(/cannot be reached/);
		const text = JSON.stringify(report);
		for (const secret of ['hunter2', 'postgres://', 'db.internal', 'other:pw']) expect(text).not.toContain(secret);
	});

	it('both down: 503 names both, in one reason', async () => {
		const store = failingPostgres('Connection terminated unexpectedly');
		const check = createHealthCheck({ db: store, redis: async () => false });
		const report = await check.check();
		expect(report).toMatchObject({ status: 'unavailable', postgresql: 'down', redis: 'down' });
		expect(report.reason).toMatch(/Connection terminated.*; Redis cannot be reached/);
	});

	it('a PostgreSQL standby (read-only) is up but not healthy', async () => {
		const report = await createHealthCheck({
			db: failingPostgres('cannot execute INSERT in a read-only transaction', '25006')
		}).check();
		expect(report).toMatchObject({ status: 'unavailable', db: 'read_only', postgresql: 'up' });
	});
});

describe('scrub', () => {
	it.each([
		{ text: `at ${DATABASE_URL}: no`, out: 'at (a connection URL): no' },
		{ text: 'password hunter2!x and hunter2%21x', out: 'password *** and ***' },
		{ text: 'see https://user:pw@example.com/x now', out: 'see (a URL) now' },
		{ text: '', out: '' },
		{ text: 'nothing secret', out: 'nothing secret' }
	])('$text → $out', ({ text, out }) => {
		expect(scrub(text, [DATABASE_URL, REDIS_URL, '', 'not a url'])).toBe(out);
	});
});
