import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freshPostgres, freshRedis, type TestPostgres, type TestRedis } from '../helpers/scale-services';

describe('the scale-out test services', () => {
	let db: TestPostgres;
	let redis: TestRedis;
	beforeAll(async () => {
		[db, redis] = await Promise.all([freshPostgres(), freshRedis()]);
	});
	afterAll(async () => {
		await Promise.all([db?.drop(), redis?.release()]);
	});

	it('hands out a private PostgreSQL database and Redis db', async () => {
		const client = new pg.Client({ connectionString: db.url });
		await client.connect();
		const { rows } = await client.query<{ n: string }>(
			"SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"
		);
		await client.end();
		expect(rows[0]?.n).toBe('0');
		const r = new Redis(redis.url);
		expect(await r.dbsize()).toBe(0);
		await r.quit();
		expect(redis.db).toBeGreaterThanOrEqual(1);
	});

	it('two claims never share a Redis db', async () => {
		const other = await freshRedis();
		expect(other.db).not.toBe(redis.db);
		await other.release();
	});
});
