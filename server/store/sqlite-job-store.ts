/**
 * The `JobStore` over SQLite or PostgreSQL (one Kysely implementation, tables from migration 2).
 * Row appends run as multi-row inserts in one transaction per batch so a 1M-row job stays cheap;
 * events of one job are numbered one after another even when appends overlap.
 */
import { sql } from 'kysely';
import type { JobPatch, JobRecord, JobStore, ListJobsOptions, NewJob, StoredEvent } from './job-store';
import type { RowCell } from '../../src/lib/workflow/protocol';
import type { Db } from './db';
import type { JobCellsTable, JobsTable } from './schema';
import { asStore, chunks, insertionOrder, type Store, type StoreHandle } from './store';
import type { Row } from '../../src/lib/workflow/schema';
import { ERROR_COLUMN } from '../../src/lib/workflow/schema';
import type { BlockProgress, JobStatus } from '../engine/types';
import type { Insertable, Selectable, Updateable } from 'kysely';

type JobRow = Selectable<JobsTable>;

const PATCH_COLUMNS = {
	status: 'status',
	currentBlock: 'current_block',
	error: 'error',
	outputPath: 'output_path',
	columns: 'columns',
	rowCount: 'row_count',
	startedAt: 'started_at',
	finishedAt: 'finished_at'
} as const satisfies Record<keyof JobPatch, keyof JobsTable>;

const JOB_COLUMNS = [
	'id',
	'workflow_id',
	'owner',
	'status',
	'workflow',
	'options',
	'retry_of',
	'started_by',
	'current_block',
	'error',
	'output_path',
	'columns',
	'row_count',
	'created_at',
	'started_at',
	'finished_at'
] as const;

/** Rows per multi-row insert (4 parameters each: far below SQLite's and PostgreSQL's limits). */
const ROWS_PER_INSERT = 500;

function toRecord(r: JobRow): JobRecord {
	return {
		id: r.id,
		workflowId: r.workflow_id,
		owner: r.owner,
		status: r.status as JobStatus,
		workflow: JSON.parse(r.workflow),
		options: JSON.parse(r.options),
		retryOf: r.retry_of,
		startedBy: r.started_by ?? null,
		currentBlock: r.current_block,
		error: r.error,
		outputPath: r.output_path,
		columns: r.columns ? JSON.parse(r.columns) : null,
		rowCount: r.row_count,
		createdAt: r.created_at,
		startedAt: r.started_at,
		finishedAt: r.finished_at
	};
}

function patchValues(patch: JobPatch): Updateable<JobsTable> {
	const values: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
		if (value === undefined) continue;
		values[PATCH_COLUMNS[key]] = key === 'columns' && value !== null ? JSON.stringify(value) : value;
	}
	return values as Updateable<JobsTable>;
}

const hasError = (row: Row) => {
	const err = row[ERROR_COLUMN];
	return err !== null && err !== undefined && err !== '' ? 1 : 0;
};

/**
 * Creates the job store over a Store (SQLite or PostgreSQL).
 * @example const jobs = createJobStore(await openStore({ dataDir, databaseUrl }))
 */
export function createJobStore(store: Store): JobStore {
	const { db } = store;
	const tie = insertionOrder(store);
	/** The last event append of each job: the next one waits for it, so seq numbers never collide. */
	const eventChains = new Map<string, Promise<unknown>>();

	const selectJobs = () => db.selectFrom('jobs').select(JOB_COLUMNS);
	const count = async (where: (q: ReturnType<typeof countQuery>) => ReturnType<typeof countQuery>) =>
		Number((await where(countQuery()).executeTakeFirstOrThrow()).n);
	const countQuery = () => db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n'));

	return {
		async create(job: NewJob) {
			const row = await db
				.insertInto('jobs')
				.values({
					id: job.id,
					workflow_id: job.workflowId ?? null,
					owner: job.owner ?? job.workflowId ?? null,
					status: 'pending',
					workflow: JSON.stringify(job.workflow),
					options: JSON.stringify(job.options),
					retry_of: job.retryOf ?? null,
					started_by: job.startedBy ?? null,
					created_at: job.createdAt
				})
				.returning(JOB_COLUMNS)
				.executeTakeFirstOrThrow();
			return toRecord(row);
		},
		async get(id) {
			const row = await selectJobs().where('id', '=', id).executeTakeFirst();
			return row ? toRecord(row) : null;
		},
		async list({ offset, limit, workflowId }: ListJobsOptions) {
			let page = selectJobs();
			let filter = <Q extends ReturnType<typeof countQuery>>(q: Q) => q;
			if (workflowId === null) {
				page = page.where('workflow_id', 'is', null);
				filter = (q) => q.where('workflow_id', 'is', null) as typeof q;
			} else if (workflowId !== undefined) {
				page = page.where('workflow_id', '=', workflowId);
				filter = (q) => q.where('workflow_id', '=', workflowId) as typeof q;
			}
			const [rows, total] = await Promise.all([
				page.orderBy('created_at', 'desc').orderBy(tie, 'desc').limit(limit).offset(offset).execute(),
				count(filter)
			]);
			return { jobs: rows.map(toRecord), total };
		},
		async listUnfinished() {
			const rows = await selectJobs()
				.where('status', 'in', ['pending', 'running'])
				.orderBy('created_at', 'asc')
				.orderBy(tie, 'asc')
				.execute();
			return rows.map(toRecord);
		},
		async update(id, patch) {
			const values = patchValues(patch);
			if (Object.keys(values).length === 0) return;
			await db.updateTable('jobs').set(values).where('id', '=', id).execute();
		},
		async transition(id, from, patch, expect) {
			let update = db.updateTable('jobs').set(patchValues(patch)).where('id', '=', id).where('status', 'in', from);
			// The fence: this run's startedAt (null matches a job never started).
			if (expect) update = update.where('started_at', expect.startedAt === null ? 'is' : '=', expect.startedAt);
			const result = await update.executeTakeFirst();
			return Number(result.numUpdatedRows) > 0;
		},
		async saveBlock(jobId, position, progress: BlockProgress) {
			await db
				.insertInto('job_blocks')
				.values({ job_id: jobId, position, block_id: progress.block_id, progress: JSON.stringify(progress) })
				.onConflict((oc) =>
					oc.columns(['job_id', 'position']).doUpdateSet((eb) => ({
						block_id: eb.ref('excluded.block_id'),
						progress: eb.ref('excluded.progress')
					}))
				)
				.execute();
		},
		async listBlocks(jobId) {
			const rows = await db.selectFrom('job_blocks').select('progress').where('job_id', '=', jobId).orderBy('position').execute();
			return rows.map((r) => JSON.parse(r.progress));
		},
		async appendRows(jobId, firstIndex, rows) {
			const total = firstIndex + rows.length;
			const values = rows.map((row, i) => ({
				job_id: jobId,
				idx: firstIndex + i,
				row: JSON.stringify(row),
				has_error: hasError(row)
			}));
			await db.transaction().execute(async (trx) => {
				for (const part of chunks(values, ROWS_PER_INSERT)) {
					await trx
						.insertInto('job_rows')
						.values(part)
						.onConflict((oc) =>
							oc
								.columns(['job_id', 'idx'])
								.doUpdateSet((eb) => ({ row: eb.ref('excluded.row'), has_error: eb.ref('excluded.has_error') }))
						)
						.execute();
				}
				await trx.updateTable('jobs').set({ row_count: total }).where('id', '=', jobId).execute();
			});
			return total;
		},
		async readRows(jobId, offset, limit) {
			const rows = await db
				.selectFrom('job_rows')
				.select('row')
				.where('job_id', '=', jobId)
				.where('idx', '>=', offset)
				.orderBy('idx')
				.limit(limit)
				.execute();
			return rows.map((r) => JSON.parse(r.row));
		},
		async readErrorRows(jobId, offset, limit) {
			const rows = await db
				.selectFrom('job_rows')
				.select('row')
				.where('job_id', '=', jobId)
				.where('has_error', '=', 1)
				.orderBy('idx')
				.limit(limit)
				.offset(offset)
				.execute();
			return rows.map((r) => JSON.parse(r.row));
		},
		async countErrorRows(jobId) {
			const row = await db
				.selectFrom('job_rows')
				.select((eb) => eb.fn.countAll<number>().as('n'))
				.where('job_id', '=', jobId)
				.where('has_error', '=', 1)
				.executeTakeFirstOrThrow();
			return Number(row.n);
		},
		appendEvent(jobId, event) {
			const previous = eventChains.get(jobId) ?? Promise.resolve();
			const next = previous.then(async () => {
				const row = await db
					.insertInto('job_events')
					.columns(['job_id', 'seq', 'event'])
					.expression((eb) =>
						eb
							.selectFrom('job_events')
							.select([
								sql<string>`cast(${jobId} as text)`.as('job_id'),
								sql<number>`coalesce(max(seq), 0) + 1`.as('seq'),
								sql<string>`cast(${JSON.stringify(event)} as text)`.as('event')
							])
							.where('job_id', '=', jobId)
					)
					.returning('seq')
					.executeTakeFirstOrThrow();
				return Number(row.seq);
			});
			const settled = next.catch(() => {});
			eventChains.set(jobId, settled);
			void settled.then(() => {
				if (eventChains.get(jobId) === settled) eventChains.delete(jobId);
			});
			return next;
		},
		async listEvents(jobId, afterSeq = 0, limit = 1_000): Promise<StoredEvent[]> {
			const rows = await db
				.selectFrom('job_events')
				.select(['seq', 'event'])
				.where('job_id', '=', jobId)
				.where('seq', '>', afterSeq)
				.orderBy('seq')
				.limit(limit)
				.execute();
			return rows.map((r) => ({ seq: r.seq, event: JSON.parse(r.event) }));
		},
		async saveCells(jobId, cells) {
			if (cells.length === 0) return;
			// A later state of the same row and block replaces the earlier one, also within one batch.
			const latest = new Map<string, Insertable<JobCellsTable>>();
			for (const { row, block_id: blockId, ...rest } of cells) {
				latest.set(`${row}\u0000${blockId}`, {
					job_id: jobId,
					idx: row,
					block_id: blockId,
					state: rest.state,
					cell: JSON.stringify(rest),
					search_text: searchText(rest)
				});
			}
			await db.transaction().execute(async (trx) => {
				for (const part of chunks([...latest.values()], ROWS_PER_INSERT)) {
					await trx
						.insertInto('job_cells')
						.values(part)
						.onConflict((oc) =>
							oc.columns(['job_id', 'idx', 'block_id']).doUpdateSet((eb) => ({
								state: eb.ref('excluded.state'),
								cell: eb.ref('excluded.cell'),
								search_text: eb.ref('excluded.search_text')
							}))
						)
						.execute();
				}
			});
		},
		async readCells(jobId, rows) {
			const out: RowCell[] = [];
			// In chunks: both drivers cap the number of bound parameters.
			for (const part of chunks(rows, ROWS_PER_INSERT)) {
				const found = await db
					.selectFrom('job_cells')
					.select(['idx', 'block_id', 'cell'])
					.where('job_id', '=', jobId)
					.where('idx', 'in', part)
					.execute();
				for (const r of found) out.push({ row: r.idx, block_id: r.block_id, ...JSON.parse(r.cell) });
			}
			return out;
		},
		async listCellRows(jobId, query) {
			let select = db.selectFrom('job_cells').select('idx').distinct().where('job_id', '=', jobId);
			if (query.blockId !== undefined) select = select.where('block_id', '=', query.blockId);
			if (query.state !== undefined) select = select.where('state', '=', query.state);
			if (query.search !== undefined && query.search !== '') {
				// In the values and errors only (not the JSON's keys or states), lower-cased on both sides:
				// the same on both databases, for any alphabet (SQLite's LIKE folds ASCII only).
				const pattern = `%${query.search.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
				select = select.where(sql<boolean>`search_text like ${pattern} escape '\\'`);
			}
			const found = await select.orderBy('idx').execute();
			return found.map((r) => r.idx);
		},
		async countCellRows(jobId, blockId) {
			const r = await db
				.selectFrom('job_cells')
				.select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('idx').as('max')])
				.where('job_id', '=', jobId)
				.where('block_id', '=', blockId)
				.executeTakeFirstOrThrow();
			return { count: Number(r.n), max: r.max === null ? -1 : Number(r.max) };
		},
		async resetProgress(jobId) {
			await db.transaction().execute(async (trx) => {
				await trx.deleteFrom('job_cells').where('job_id', '=', jobId).execute();
				await trx.deleteFrom('job_blocks').where('job_id', '=', jobId).execute();
				await trx.deleteFrom('job_rows').where('job_id', '=', jobId).execute();
				await trx.deleteFrom('job_events').where('job_id', '=', jobId).execute();
				await trx
					.updateTable('jobs')
					.set({ row_count: 0, current_block: null, columns: null, output_path: null, error: null })
					.where('id', '=', jobId)
					.execute();
			});
		}
	};
}

/**
 * The job store over a SQLite file or handle (embedded mode, tests).
 * @example const jobs = createSqliteJobStore(openDatabase(join(dataDir, 'app.db')))
 */
export function createSqliteJobStore(db: Db | StoreHandle): JobStore {
	return createJobStore(asStore(db));
}

/** What a search finds a cell by: its values and its error, lower-cased, one per line. */
function searchText(cell: Omit<RowCell, 'row' | 'block_id'>): string {
	const values = Object.values(cell.values ?? {}).filter((v) => v !== null && v !== undefined);
	return [...values.map(String), cell.error ?? ''].join('\n').toLowerCase();
}
