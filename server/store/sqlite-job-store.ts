/**
 * The SQLite implementation of `JobStore` (tables from db.ts migration 2). Statements are prepared
 * once; row appends run in one transaction per batch so a 1M-row job stays cheap.
 */
import type { Db } from './db';
import type { JobPatch, JobRecord, JobStore, ListJobsOptions, NewJob, StoredEvent } from './job-store';
import type { RowCell } from '../../src/lib/workflow/protocol';
import type { Row } from '../../src/lib/workflow/schema';
import { ERROR_COLUMN } from '../../src/lib/workflow/schema';
import type { BlockProgress, JobStatus, RunEvent } from '../engine/types';

interface JobRow {
	id: string;
	workflow_id: string | null;
	owner: string | null;
	status: string;
	workflow: string;
	options: string;
	retry_of: string | null;
	started_by: string | null;
	current_block: string | null;
	error: string | null;
	output_path: string | null;
	columns: string | null;
	row_count: number;
	created_at: number;
	started_at: number | null;
	finished_at: number | null;
}

const PATCH_COLUMNS: Record<keyof JobPatch, string> = {
	status: 'status',
	currentBlock: 'current_block',
	error: 'error',
	outputPath: 'output_path',
	columns: 'columns',
	rowCount: 'row_count',
	startedAt: 'started_at',
	finishedAt: 'finished_at'
};

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

function patchValues(patch: JobPatch): { sets: string[]; values: unknown[] } {
	const sets: string[] = [];
	const values: unknown[] = [];
	for (const [key, value] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
		if (value === undefined) continue;
		sets.push(`${PATCH_COLUMNS[key]} = ?`);
		values.push(key === 'columns' && value !== null ? JSON.stringify(value) : value);
	}
	return { sets, values };
}

/**
 * Creates the SQLite-backed job store.
 * @example const jobs = createSqliteJobStore(openDatabase(join(dataDir, 'app.db')))
 */
export function createSqliteJobStore(db: Db): JobStore {
	const insertJob = db.prepare(
		`INSERT INTO jobs (id, workflow_id, owner, status, workflow, options, retry_of, started_by, created_at)
		 VALUES (@id, @workflow_id, @owner, 'pending', @workflow, @options, @retry_of, @started_by, @created_at)`
	);
	const getJob = db.prepare('SELECT * FROM jobs WHERE id = ?');
	const listAll = db.prepare('SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?');
	const countAll = db.prepare('SELECT COUNT(*) AS n FROM jobs');
	const listByWorkflow = db.prepare('SELECT * FROM jobs WHERE workflow_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?');
	const countByWorkflow = db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE workflow_id = ?');
	const listAnonymous = db.prepare('SELECT * FROM jobs WHERE workflow_id IS NULL ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?');
	const countAnonymous = db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE workflow_id IS NULL');
	const unfinished = db.prepare("SELECT * FROM jobs WHERE status IN ('pending', 'running') ORDER BY created_at ASC, rowid ASC");
	const upsertBlock = db.prepare(
		`INSERT INTO job_blocks (job_id, position, block_id, progress) VALUES (?, ?, ?, ?)
		 ON CONFLICT (job_id, position) DO UPDATE SET block_id = excluded.block_id, progress = excluded.progress`
	);
	const selectBlocks = db.prepare('SELECT progress FROM job_blocks WHERE job_id = ? ORDER BY position');
	const insertRow = db.prepare('INSERT OR REPLACE INTO job_rows (job_id, idx, row, has_error) VALUES (?, ?, ?, ?)');
	const setRowCount = db.prepare('UPDATE jobs SET row_count = ? WHERE id = ?');
	const selectRows = db.prepare('SELECT row FROM job_rows WHERE job_id = ? AND idx >= ? ORDER BY idx LIMIT ?');
	const selectErrorRows = db.prepare('SELECT row FROM job_rows WHERE job_id = ? AND has_error = 1 ORDER BY idx LIMIT ? OFFSET ?');
	const countErrors = db.prepare('SELECT COUNT(*) AS n FROM job_rows WHERE job_id = ? AND has_error = 1');
	const lastSeq = db.prepare('SELECT MAX(seq) AS seq FROM job_events WHERE job_id = ?');
	const insertEvent = db.prepare('INSERT INTO job_events (job_id, seq, event) VALUES (?, ?, ?)');
	const selectEvents = db.prepare('SELECT seq, event FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?');
	const deleteBlocks = db.prepare('DELETE FROM job_blocks WHERE job_id = ?');
	const deleteRows = db.prepare('DELETE FROM job_rows WHERE job_id = ?');
	const deleteEvents = db.prepare('DELETE FROM job_events WHERE job_id = ?');
	const upsertCell = db.prepare('INSERT OR REPLACE INTO job_cells (job_id, idx, block_id, state, cell) VALUES (?, ?, ?, ?, ?)');
	const deleteCells = db.prepare('DELETE FROM job_cells WHERE job_id = ?');
	const countCells = db.prepare('SELECT COUNT(*) AS n, MAX(idx) AS max FROM job_cells WHERE job_id = ? AND block_id = ?');
	const resetJob = db.prepare(
		'UPDATE jobs SET row_count = 0, current_block = NULL, columns = NULL, output_path = NULL, error = NULL WHERE id = ?'
	);

	const appendRowsTx = db.transaction((jobId: string, firstIndex: number, rows: Row[]) => {
		for (let i = 0; i < rows.length; i++) {
			const row = rows[i];
			const err = row[ERROR_COLUMN];
			insertRow.run(jobId, firstIndex + i, JSON.stringify(row), err !== null && err !== undefined && err !== '' ? 1 : 0);
		}
		const count = firstIndex + rows.length;
		setRowCount.run(count, jobId);
		return count;
	});
	const appendEventTx = db.transaction((jobId: string, event: RunEvent) => {
		const seq = (((lastSeq.get(jobId) as { seq: number | null }).seq ?? 0) as number) + 1;
		insertEvent.run(jobId, seq, JSON.stringify(event));
		return seq;
	});
	const saveCellsTx = db.transaction((jobId: string, cells: RowCell[]) => {
		for (const { row, block_id: blockId, ...rest } of cells) upsertCell.run(jobId, row, blockId, rest.state, JSON.stringify(rest));
	});
	const resetTx = db.transaction((jobId: string) => {
		deleteCells.run(jobId);
		deleteBlocks.run(jobId);
		deleteRows.run(jobId);
		deleteEvents.run(jobId);
		resetJob.run(jobId);
	});

	return {
		async create(job: NewJob) {
			insertJob.run({
				id: job.id,
				workflow_id: job.workflowId ?? null,
				owner: job.owner ?? job.workflowId ?? null,
				workflow: JSON.stringify(job.workflow),
				options: JSON.stringify(job.options),
				retry_of: job.retryOf ?? null,
				started_by: job.startedBy ?? null,
				created_at: job.createdAt
			});
			return toRecord(getJob.get(job.id) as JobRow);
		},
		async get(id) {
			const row = getJob.get(id) as JobRow | undefined;
			return row ? toRecord(row) : null;
		},
		async list({ offset, limit, workflowId }: ListJobsOptions) {
			const [rows, count] =
				workflowId === undefined
					? [listAll.all(limit, offset), countAll.get()]
					: workflowId === null
						? [listAnonymous.all(limit, offset), countAnonymous.get()]
						: [listByWorkflow.all(workflowId, limit, offset), countByWorkflow.get(workflowId)];
			return { jobs: (rows as JobRow[]).map(toRecord), total: (count as { n: number }).n };
		},
		async listUnfinished() {
			return (unfinished.all() as JobRow[]).map(toRecord);
		},
		async update(id, patch) {
			const { sets, values } = patchValues(patch);
			if (sets.length === 0) return;
			db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
		},
		async transition(id, from, patch, expect) {
			const { sets, values } = patchValues(patch);
			const placeholders = from.map(() => '?').join(', ');
			const fence = expect ? ' AND started_at IS ?' : '';
			const info = db
				.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ? AND status IN (${placeholders})${fence}`)
				.run(...values, id, ...from, ...(expect ? [expect.startedAt] : []));
			return info.changes > 0;
		},
		async saveBlock(jobId, position, progress: BlockProgress) {
			upsertBlock.run(jobId, position, progress.block_id, JSON.stringify(progress));
		},
		async listBlocks(jobId) {
			return (selectBlocks.all(jobId) as { progress: string }[]).map((r) => JSON.parse(r.progress));
		},
		async appendRows(jobId, firstIndex, rows) {
			return appendRowsTx(jobId, firstIndex, rows);
		},
		async readRows(jobId, offset, limit) {
			return (selectRows.all(jobId, offset, limit) as { row: string }[]).map((r) => JSON.parse(r.row));
		},
		async readErrorRows(jobId, offset, limit) {
			return (selectErrorRows.all(jobId, limit, offset) as { row: string }[]).map((r) => JSON.parse(r.row));
		},
		async countErrorRows(jobId) {
			return (countErrors.get(jobId) as { n: number }).n;
		},
		async appendEvent(jobId, event) {
			return appendEventTx(jobId, event);
		},
		async listEvents(jobId, afterSeq = 0, limit = 1_000): Promise<StoredEvent[]> {
			return (selectEvents.all(jobId, afterSeq, limit) as { seq: number; event: string }[]).map((r) => ({
				seq: r.seq,
				event: JSON.parse(r.event)
			}));
		},
		async saveCells(jobId, cells) {
			if (cells.length > 0) saveCellsTx(jobId, cells);
		},
		async readCells(jobId, rows) {
			const out: RowCell[] = [];
			// In chunks: SQLite caps the number of bound parameters.
			for (let i = 0; i < rows.length; i += 500) {
				const chunk = rows.slice(i, i + 500);
				const found = db
					.prepare(`SELECT idx, block_id, cell FROM job_cells WHERE job_id = ? AND idx IN (${chunk.map(() => '?').join(', ')})`)
					.all(jobId, ...chunk) as { idx: number; block_id: string; cell: string }[];
				for (const r of found) out.push({ row: r.idx, block_id: r.block_id, ...JSON.parse(r.cell) });
			}
			return out;
		},
		async listCellRows(jobId, query) {
			const where = ['job_id = ?'];
			const params: unknown[] = [jobId];
			if (query.blockId !== undefined) {
				where.push('block_id = ?');
				params.push(query.blockId);
			}
			if (query.state !== undefined) {
				where.push('state = ?');
				params.push(query.state);
			}
			if (query.search !== undefined && query.search !== '') {
				where.push("cell LIKE ? ESCAPE '\\'");
				// The cell is stored as JSON: search its text as JSON writes it.
				const text = JSON.stringify(query.search).slice(1, -1);
				params.push(`%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
			}
			const found = db.prepare(`SELECT DISTINCT idx FROM job_cells WHERE ${where.join(' AND ')} ORDER BY idx`).all(...params) as {
				idx: number;
			}[];
			return found.map((r) => r.idx);
		},
		async countCellRows(jobId, blockId) {
			const r = countCells.get(jobId, blockId) as { n: number; max: number | null };
			return { count: r.n, max: r.max ?? -1 };
		},
		async resetProgress(jobId) {
			resetTx(jobId);
		}
	};
}
