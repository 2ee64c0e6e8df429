/**
 * The services the scale-out suites (`npm run test:scale`) run against: PostgreSQL and Redis on the
 * machine (127.0.0.1, trust auth; override with TEST_DATABASE_URL / TEST_REDIS_URL). Every caller
 * gets its own fresh PostgreSQL database and its own Redis db number, and drops them afterwards, so
 * suites never see each other's state.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_BASE = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Redis db 0 holds the claims; 1…15 are handed out. */
const REDIS_DBS = 15;
const CLAIM_TTL_S = 3_600;

export interface TestPostgres {
	url: string;
	drop(): Promise<void>;
}

/** A new empty database on the test server; `drop()` terminates its connections and removes it. */
export async function freshPostgres(): Promise<TestPostgres> {
	const name = `leadflow_test_${randomBytes(6).toString('hex')}`;
	const admin = new pg.Client({ connectionString: ADMIN_URL });
	await admin.connect();
	try {
		await admin.query(`CREATE DATABASE ${name}`);
	} finally {
		await admin.end();
	}
	const url = new URL(ADMIN_URL);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		async drop() {
			const client = new pg.Client({ connectionString: ADMIN_URL });
			await client.connect();
			try {
				await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
			} finally {
				await client.end();
			}
		}
	};
}

export interface TestRedis {
	url: string;
	db: number;
	/** Empties the db and gives it back. */
	release(): Promise<void>;
}

/** A Redis db number nobody else holds (claimed in db 0 with a TTL), emptied before use. */
export async function freshRedis(): Promise<TestRedis> {
	const claims = new Redis(`${REDIS_BASE}/0`, { lazyConnect: true, maxRetriesPerRequest: 1 });
	await claims.connect();
	try {
		const owner = randomBytes(8).toString('hex');
		for (let attempt = 0; attempt < 200; attempt++) {
			for (let db = 1; db <= REDIS_DBS; db++) {
				if ((await claims.set(`leadflow:test-claim:${db}`, owner, 'EX', CLAIM_TTL_S, 'NX')) !== 'OK') continue;
				const url = `${REDIS_BASE}/${db}`;
				const redis = new Redis(url, { maxRetriesPerRequest: 1 });
				await redis.flushdb();
				await redis.quit();
				return {
					url,
					db,
					async release() {
						const r = new Redis(url, { maxRetriesPerRequest: 1 });
						await r.flushdb();
						await r.quit();
						const c = new Redis(`${REDIS_BASE}/0`, { maxRetriesPerRequest: 1 });
						if ((await c.get(`leadflow:test-claim:${db}`)) === owner) await c.del(`leadflow:test-claim:${db}`);
						await c.quit();
					}
				};
			}
			await new Promise((r) => setTimeout(r, 250));
		}
		throw new Error('no free Redis db (1…15) for this test');
	} finally {
		await claims.quit();
	}
}
