/**
 * Migrations for both databases (issue 11): every SQLite migration has its PostgreSQL twin, a
 * data/app.db written by the code before the Kysely layer (PRAGMA user_version 4, the committed
 * fixture tests/fixtures/app-v4.sql) opens with nothing lost, PostgreSQL migrates once however many
 * processes start together, and an unusable DATABASE_URL is one line without its password.
 */
import { readFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createDocPersistence } from '../../server/collab/persistence';
import { createResponseCache } from '../../server/enrichment/cache';
import { MIGRATIONS } from '../../server/store/db';
import { PG_MIGRATIONS } from '../../server/store/pg-migrations';
import { createJobStore } from '../../server/store/sqlite-job-store';
import { createSpendLedger } from '../../server/store/spend-ledger';
import { DatabaseStartError, describeDatabaseUrl, openPostgresStore, openStore, type Store } from '../../server/store/store';
import { createUploadStore } from '../../server/store/upload-store';
import { createWorkflowsRepo } from '../../server/store/workflows-repo';
import { withPostgres } from '../helpers/backends';
import { freshPostgres } from '../helpers/scale-services';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

/** The data/app.db the code before the Kysely layer wrote (user_version 4), kept as SQL text: no binary in git. */
const FIXTURE = new URL('../fixtures/app-v4.sql', import.meta.url).pathname;

/** Writes the fixture's database to `path`. */
async function writeFixture(path: string): Promise<void> {
	const db = new Database(path);
	try {
		db.exec(await readFile(FIXTURE, 'utf8'));
	} finally {
		db.close();
	}
}
const WF = 'wf_fixture0000000000000';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
	for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('migrations', () => {
	it('every SQLite migration has its PostgreSQL twin', () => {
		expect(PG_MIGRATIONS).toHaveLength(MIGRATIONS.length);
	});

	it('upgrades a user_version 4 file written by the earlier code, losing nothing', async () => {
		const temp: TempDir = await makeTempDir();
		cleanups.push(() => temp.cleanup());
		await writeFixture(join(temp.dir, 'app.db'));
		const store: Store = await openStore({ dataDir: temp.dir });
		cleanups.push(() => store.close());
		expect(store.sqlite!.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);

		const jobs = createJobStore(store);
		const { jobs: listed, total } = await jobs.list({ offset: 0, limit: 10 });
		expect(total).toBe(2);
		expect(listed.map((j) => j.id)).toEqual(['job-2', 'job-1']);
		expect(await jobs.get('job-1')).toMatchObject({
			workflowId: WF,
			owner: WF,
			status: 'completed',
			columns: ['name', '_error'],
			rowCount: 2,
			createdAt: 1_765_000_000_000,
			finishedAt: 1_765_000_000_020
		});
		expect((await jobs.listUnfinished()).map((j) => j.id)).toEqual(['job-2']);
		expect(await jobs.readRows('job-1', 0, 10)).toEqual([
			{ name: 'Ada', _error: '' },
			{ name: 'Bob', _error: 'no email' }
		]);
		expect(await jobs.countErrorRows('job-1')).toBe(1);
		expect(await jobs.listBlocks('job-1')).toEqual([{ block_id: 'read', rows_out: 2 }]);
		expect((await jobs.listEvents('job-1')).map((e) => e.seq)).toEqual([1, 2]);
		expect(await jobs.appendEvent('job-1', { type: 'job_finished' } as never)).toBe(3);

		expect(await createUploadStore(store).getByPath('uploads/up-1.csv')).toMatchObject({ id: 'up-1', columns: ['name'], rowCount: 2 });
		const workflows = createWorkflowsRepo(store);
		expect(await workflows.authorize(WF, 'e'.repeat(43))).toBe('edit');
		expect(await workflows.authorize(WF, 'v'.repeat(43))).toBe('view');

		const cache = createResponseCache({ db: store });
		expect(await cache.pendingTask('k2')).toMatchObject({ taskId: 'task-7', endpoint: '/enrich-lead' });
		expect(await store.db.selectFrom('cache').select(['response', 'cost_cents']).where('key', '=', 'k1').executeTakeFirst()).toEqual({
			response: '{"email":"ada@example.com"}',
			cost_cents: 5
		});

		const doc = new Y.Doc();
		expect(await createDocPersistence(store).load(WF, doc)).toEqual({ replayed: 1, skipped: 0 });
		expect(doc.getMap('meta').get('name')).toBe('Fixture (edited)');

		expect(createSpendLedger(store).spent('2026-03-10', '*')).toBe(12.5);
	});

	it('opening a file already at the latest version changes nothing', async () => {
		const temp = await makeTempDir();
		cleanups.push(() => temp.cleanup());
		await writeFixture(join(temp.dir, 'app.db'));
		const first = await openStore({ dataDir: temp.dir });
		await first.close();
		const again = await openStore({ dataDir: temp.dir });
		cleanups.push(() => again.close());
		expect(again.sqlite!.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
		expect(await createJobStore(again).get('job-1')).not.toBeNull();
	});
});

/** A grid cell as migration 7 stored it: JSON only, no search text yet. */
const OLD_CELL = JSON.stringify({ state: 'done', values: { title: 'Directrice d’École', score: 7 } });
const OLD_ERROR = JSON.stringify({ state: 'error', error: 'HTTP 502 from Sixtyfour' });
const SEARCH_TEXT_MIGRATION = 7; // the index of migration 8

describe('grid cells stored before the search text (migration 8)', () => {
	const check = async (store: Store) => {
		const jobs = createJobStore(store);
		expect(await jobs.listCellRows('old', { search: 'école' })).toEqual([0]);
		expect(await jobs.listCellRows('old', { search: '502' })).toEqual([1]);
		expect(await jobs.listCellRows('old', { search: 'done' })).toEqual([]);
		expect(await jobs.listCellRows('old', { search: 'values' })).toEqual([]);
	};

	it('are searchable by their values and errors after the upgrade (SQLite)', async () => {
		const temp: TempDir = await makeTempDir();
		cleanups.push(() => temp.cleanup());
		const raw = new Database(join(temp.dir, 'app.db'));
		for (const migration of MIGRATIONS.slice(0, SEARCH_TEXT_MIGRATION)) raw.exec(migration);
		raw.pragma(`user_version = ${SEARCH_TEXT_MIGRATION}`);
		const insert = raw.prepare('INSERT INTO job_cells (job_id, idx, block_id, state, cell) VALUES (?, ?, ?, ?, ?)');
		insert.run('old', 0, 'enrich', 'done', OLD_CELL);
		insert.run('old', 1, 'enrich', 'error', OLD_ERROR);
		raw.close();
		const store = await openStore({ dataDir: temp.dir });
		cleanups.push(() => store.close());
		await check(store);
	});

	it.runIf(withPostgres())('are searchable by their values and errors after the upgrade (PostgreSQL)', async () => {
		const database = await freshPostgres();
		cleanups.push(() => database.drop());
		const client = new pg.Client({ connectionString: database.url });
		await client.connect();
		try {
			for (const migration of PG_MIGRATIONS.slice(0, SEARCH_TEXT_MIGRATION)) await client.query(migration);
			await client.query('CREATE TABLE leadflow_schema (version INTEGER NOT NULL)');
			await client.query('INSERT INTO leadflow_schema (version) VALUES ($1)', [SEARCH_TEXT_MIGRATION]);
			const insert = 'INSERT INTO job_cells (job_id, idx, block_id, state, cell) VALUES ($1, $2, $3, $4, $5)';
			await client.query(insert, ['old', 0, 'enrich', 'done', OLD_CELL]);
			await client.query(insert, ['old', 1, 'enrich', 'error', OLD_ERROR]);
		} finally {
			await client.end();
		}
		const store = await openPostgresStore(database.url);
		cleanups.push(() => store.close());
		await check(store);
	});
});

describe('an unusable DATABASE_URL', () => {
	it('is described without its password', () => {
		expect(describeDatabaseUrl('postgres://leadflow:s3cret%21@db.internal:6543/app?sslmode=require')).toBe(
			'postgres://leadflow@db.internal:6543/app'
		);
		expect(describeDatabaseUrl('not a url :secret@')).toBe('(not a valid URL)');
	});

	it.each([
		{ what: 'nothing listening', url: 'postgres://leadflow:hunter2@127.0.0.1:1/app', cause: /ECONNREFUSED/ },
		{ what: 'not a URL', url: 'postgres://leadflow:hunter2@[bad/app', cause: /./ }
	])('rejects at start with one line naming it ($what), never the password', async ({ url, cause }) => {
		const error = await openPostgresStore(url).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(DatabaseStartError);
		const message = (error as Error).message;
		expect(message).toMatch(/^Cannot start: /);
		expect(message).toMatch(cause);
		expect(message).not.toContain('hunter2');
		expect(message.split('\n')).toHaveLength(1);
	});
});

describe.runIf(withPostgres())('PostgreSQL migrations', () => {
	it('run once when several processes start together, and again changes nothing', async () => {
		const database = await freshPostgres();
		cleanups.push(() => database.drop());
		const stores = await Promise.all([
			openPostgresStore(database.url),
			openPostgresStore(database.url),
			openPostgresStore(database.url)
		]);
		for (const store of stores) cleanups.push(() => store.close());
		const again = await openPostgresStore(database.url);
		cleanups.push(() => again.close());
		const client = new pg.Client({ connectionString: database.url });
		await client.connect();
		try {
			const { rows } = await client.query<{ version: number }>('SELECT version FROM leadflow_schema');
			expect(rows).toEqual([{ version: PG_MIGRATIONS.length }]);
			const tables = await client.query<{ table_name: string }>(
				"SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
			);
			expect(tables.rows.map((r) => r.table_name)).toEqual(
				expect.arrayContaining([
					'cache',
					'doc_snapshots',
					'doc_updates',
					'job_blocks',
					'job_events',
					'job_rows',
					'jobs',
					'pending_tasks',
					'spend',
					'uploads',
					'workflows'
				])
			);
			// Timestamps are BIGINT: a ms value past 2³¹ fits and comes back as a number.
			await createJobStore(again).create({
				id: 'j',
				workflow: { name: 'x', blocks: [] } as never,
				options: {} as never,
				createdAt: 4_102_444_800_000
			});
			expect((await createJobStore(stores[0]).get('j'))?.createdAt).toBe(4_102_444_800_000);
		} finally {
			await client.end();
		}
	});
});
