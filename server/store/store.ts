/**
 * The one handle on the database, whichever it is (issue 11): a Kysely instance over SQLite
 * (better-sqlite3, embedded mode, `data/app.db`) or PostgreSQL (a `pg` pool, scale-out mode,
 * `DATABASE_URL`). Every repository is written once against `store.db` (schema.ts) and serves both;
 * the few places where the SQL must differ ask `store.dialect`.
 *
 * PostgreSQL specifics handled here: int8 (BIGINT, COUNT(*)) comes back as a JS number, not a
 * string; idle connections the server drops are replaced by the pool on the next query; an
 * unreachable server at start is one line naming it (never its password).
 */
import { Kysely, PostgresDialect, SqliteDialect, sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import { join } from 'node:path';
import { openDatabase, type Db } from './db';
import { PG_MIGRATIONS } from './pg-migrations';
import type { Database } from './schema';

export { isDatabaseUnavailable } from './unavailable';

export type StoreDialect = 'sqlite' | 'postgres';

export interface Store {
	readonly dialect: StoreDialect;
	readonly db: Kysely<Database>;
	/** The better-sqlite3 handle in embedded mode (tests read raw rows through it); null on PostgreSQL. */
	readonly sqlite: Db | null;
	/** False once closed. */
	readonly open: boolean;
	close(): Promise<void>;
}

/** Where the data lives: SQLite in `dataDir` when `databaseUrl` is absent, else PostgreSQL. */
export interface StoreLocation {
	dataDir: string;
	databaseUrl?: string | null;
}

/** One Store per better-sqlite3 handle: Kysely's SQLite driver serialises its queries, so two over one file would interleave transactions. */
const sqliteStores = new WeakMap<Db, Store>();

/**
 * The Store over an open (migrated) better-sqlite3 database.
 * @example const store = sqliteStore(openDatabase(':memory:'))
 */
export function sqliteStore(database: Db): Store {
	const existing = sqliteStores.get(database);
	if (existing) return existing;
	const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
	let closed = false;
	const store: Store = {
		dialect: 'sqlite',
		db,
		sqlite: database,
		get open() {
			return !closed && database.open;
		},
		async close() {
			if (closed) return;
			closed = true;
			await db.destroy(); // closes the file
		}
	};
	sqliteStores.set(database, store);
	return store;
}

/** Anything that names the database: a Store, or (embedded mode, tests) a better-sqlite3 handle. */
export type StoreHandle = Store | Db;

/** The Store of a handle. */
export function asStore(handle: StoreHandle): Store {
	return 'dialect' in handle && 'db' in handle ? (handle as Store) : sqliteStore(handle as Db);
}

const INT8_OID = 20;

/** int8 as a number: our BIGINTs are ms timestamps, ids and counts, all far below 2⁵³. */
const pgTypes = {
	getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
		oid === INT8_OID && format !== 'binary'
			? (value: string) => Number(value)
			: pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser
};

export interface PostgresStoreOptions {
	/** Pool size (default 10). */
	max?: number;
	/** Called with errors of idle connections (a server restart, pg_terminate_backend); the pool replaces them. */
	onIdleError?: (error: Error) => void;
}

/**
 * Connects to PostgreSQL, checks it answers, and migrates it. Throws a `DatabaseStartError` (one
 * line, no password) when it cannot.
 * @example const store = await openPostgresStore('postgres://leadflow@db:5432/leadflow')
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
	const where = describeDatabaseUrl(url);
	let pool: pg.Pool;
	try {
		pool = new pg.Pool({
			connectionString: url,
			max: options.max ?? 10,
			connectionTimeoutMillis: 5_000,
			idleTimeoutMillis: 30_000,
			types: pgTypes
		});
	} catch (error) {
		throw new DatabaseStartError(`Cannot start: DATABASE_URL ${where} is not usable (${reason(error, url)}).`);
	}
	pool.on('error', (error) => options.onIdleError?.(error));
	// A connection the server ends while it is checked out (a query just failed on it, not yet
	// released) emits 'error' with no pool listener on it: unhandled, that would end the process.
	// The query has its own error already; the pool drops the broken client on release.
	pool.on('connect', (client) => client.on('error', (error) => options.onIdleError?.(error)));
	try {
		await migratePostgres(pool);
	} catch (error) {
		await pool.end().catch(() => {});
		throw new DatabaseStartError(
			`Cannot start: PostgreSQL at ${where} is not usable (${reason(error, url)}). Check DATABASE_URL and that the server is running.`
		);
	}
	const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
	let closed = false;
	return {
		dialect: 'postgres',
		db,
		sqlite: null,
		get open() {
			return !closed;
		},
		async close() {
			if (closed) return;
			closed = true;
			await db.destroy(); // ends the pool
		}
	};
}

/** The Store the configuration asks for: PostgreSQL at `databaseUrl`, else `dataDir/app.db`. */
export async function openStore(location: StoreLocation, options: PostgresStoreOptions = {}): Promise<Store> {
	if (location.databaseUrl) return openPostgresStore(location.databaseUrl, options);
	return sqliteStore(openDatabase(join(location.dataDir, 'app.db')));
}

/**
 * Applies the PostgreSQL migrations not applied yet, each in its own transaction, under an advisory
 * lock so processes starting together migrate once. The version lives in `leadflow_schema`.
 */
export async function migratePostgres(pool: pg.Pool): Promise<number> {
	const client = await pool.connect();
	try {
		await client.query('SELECT pg_advisory_lock(7311011)');
		try {
			await client.query('CREATE TABLE IF NOT EXISTS leadflow_schema (version INTEGER NOT NULL)');
			const { rows } = await client.query<{ version: number }>('SELECT version FROM leadflow_schema');
			let version = rows[0]?.version ?? 0;
			if (rows.length === 0) await client.query('INSERT INTO leadflow_schema (version) VALUES (0)');
			for (; version < PG_MIGRATIONS.length; version++) {
				await client.query('BEGIN');
				try {
					await client.query(PG_MIGRATIONS[version]);
					await client.query('UPDATE leadflow_schema SET version = $1', [version + 1]);
					await client.query('COMMIT');
				} catch (error) {
					await client.query('ROLLBACK').catch(() => {});
					throw error;
				}
			}
			return version;
		} finally {
			await client.query('SELECT pg_advisory_unlock(7311011)').catch(() => {});
		}
	} finally {
		client.release();
	}
}

/** A start-up failure of the database, already said in one line. */
export class DatabaseStartError extends Error {
	override name = 'DatabaseStartError';
}

/** `postgres://user@host:5432/db`: the URL without its password (or query), for messages. */
export function describeDatabaseUrl(url: string): string {
	try {
		const u = new URL(url);
		const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
		return `${u.protocol}//${user}${u.host}${u.pathname}`;
	} catch {
		return '(not a valid URL)';
	}
}

/** An error's message, with the URL's password cut out should a driver ever echo it. */
function reason(error: unknown, url: string): string {
	const code = (error as { code?: unknown } | null)?.code;
	let message = error instanceof Error ? error.message || error.name : String(error);
	if (error instanceof AggregateError && error.errors.length > 0) message = String((error.errors[0] as Error).message);
	try {
		const password = decodeURIComponent(new URL(url).password);
		if (password) message = message.split(password).join('***');
	} catch {
		// not a URL: nothing to scrub
	}
	message = message.replace(/\s+/g, ' ').trim().slice(0, 200);
	return typeof code === 'string' && !message.includes(code) ? `${message}, ${code}` : message;
}

/** What breaks ties between rows inserted in the same ms, in insertion order: SQLite's rowid, PostgreSQL's identity `seq`. */
export function insertionOrder(store: Store): RawBuilder<number> {
	return store.dialect === 'sqlite' ? sql<number>`rowid` : sql<number>`seq`;
}

/** Bytes as pg and better-sqlite3 both take them (a Buffer over the same memory). */
export function toBuffer(bytes: Uint8Array): Buffer {
	return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Splits `items` into runs of at most `size` (multi-row inserts stay under both drivers' parameter limits). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
	return out;
}
