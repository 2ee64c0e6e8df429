/**
 * The databases the store-level suites run against (issue 11): a table of backends, not copies of
 * tests. SQLite always; PostgreSQL too when `LEADFLOW_TEST_POSTGRES=1` (the `scale` vitest project
 * sets it, so `npm run test:scale` runs the same files on PostgreSQL while `npm test` needs no
 * service).
 *
 * @example
 * describe.each(testBackends())('the job store on $name', (backend) => {
 *   let store: Store;
 *   beforeEach(async () => (store = await backend.open()));
 *   afterAll(() => backend.cleanup());
 * });
 */
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../../server/store/db';
import { openPostgresStore, sqliteStore, type Store, type StoreDialect } from '../../server/store/store';
import { freshPostgres, type TestPostgres } from './scale-services';
import { makeTempDir, type TempDir } from './temp-dir';

export interface TestBackend {
	name: StoreDialect;
	/** A migrated store with every table empty (a new SQLite file; the suite's PostgreSQL database, emptied). */
	open(): Promise<Store>;
	/** A second handle on the database `open()` last returned, as a restarted process would open it. */
	reopen(): Promise<Store>;
	/** Where `open()`'s database is, for `startServer` (`DATA_DIR` / `DATABASE_URL`). */
	location(): { dataDir: string; databaseUrl: string | null };
	/** Closes every store opened and drops what was created; for `afterAll`. */
	cleanup(): Promise<void>;
}

/** Whether this run includes PostgreSQL. */
export const withPostgres = () => process.env.LEADFLOW_TEST_POSTGRES === '1';

/** The backends of this run: `[sqlite]`, or `[sqlite, postgres]` under the scale project. */
export function testBackends(): TestBackend[] {
	return withPostgres() ? [sqliteBackend(), postgresBackend()] : [sqliteBackend()];
}

function sqliteBackend(): TestBackend {
	const temps: TempDir[] = [];
	const stores: Store[] = [];
	let current: TempDir | null = null;
	const openAt = (dir: string) => {
		const store = sqliteStore(openDatabase(join(dir, 'app.db')));
		stores.push(store);
		return store;
	};
	return {
		name: 'sqlite',
		async open() {
			current = await makeTempDir();
			temps.push(current);
			return openAt(current.dir);
		},
		async reopen() {
			if (!current) throw new Error('open() first');
			return openAt(current.dir);
		},
		location() {
			if (!current) throw new Error('open() first');
			return { dataDir: current.dir, databaseUrl: null };
		},
		async cleanup() {
			for (const store of stores.splice(0)) await store.close();
			for (const temp of temps.splice(0)) await temp.cleanup();
		}
	};
}

/** Tables emptied between tests (one database per suite: creating one per test is slow). */
const TABLES = [
	'cache',
	'pending_tasks',
	'workflows',
	'uploads',
	'jobs',
	'job_blocks',
	'job_rows',
	'job_events',
	'doc_snapshots',
	'doc_updates',
	'spend'
];

/** PostgreSQL alone: a database of its own, dropped at `cleanup()` (for helpers that default to it under the scale project). */
export function postgresBackend(): TestBackend {
	let database: TestPostgres | null = null;
	const stores: Store[] = [];
	const temps: TempDir[] = [];
	const openOne = async () => {
		database ??= await freshPostgres();
		const store = await openPostgresStore(database.url, { max: 4 });
		stores.push(store);
		return store;
	};
	return {
		name: 'postgres',
		async open() {
			const store = await openOne();
			await sql.raw(`TRUNCATE ${TABLES.join(', ')}`).execute(store.db);
			temps.push(await makeTempDir());
			return store;
		},
		reopen: openOne,
		location() {
			if (!database) throw new Error('open() first');
			return { dataDir: temps.at(-1)!.dir, databaseUrl: database.url };
		},
		async cleanup() {
			for (const store of stores.splice(0)) await store.close();
			for (const temp of temps.splice(0)) await temp.cleanup();
			await database?.drop();
			database = null;
		}
	};
}
