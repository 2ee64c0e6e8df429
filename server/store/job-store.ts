/**
 * The jobs repository: jobs, their per-block results, their final rows and their events. An async
 * interface so a PostgreSQL implementation can stand beside the SQLite one (sqlite-job-store.ts)
 * when one machine is not enough; callers never see SQL.
 */
import type { Row, RunOptions, Workflow } from '../../src/lib/workflow/schema';
import type { BlockProgress, JobStatus, RunEvent } from '../engine/types';
import type { RowCell } from '../../src/lib/workflow/protocol';

export interface JobRecord {
	id: string;
	/** The shared workflow the job ran (issue 4); null for a workflow posted as JSON. */
	workflowId: string | null;
	/**
	 * Who the job counts against, for queue turns and the per-workflow budget: the workflow id for
	 * a shared workflow's job, `client:<address>` for one posted as JSON; null for jobs from before.
	 */
	owner: string | null;
	status: JobStatus;
	/** The exact snapshot that runs: re-runs and resumes use it, never a newer edit. */
	workflow: Workflow;
	options: RunOptions;
	retryOf: string | null;
	/** The presence name of who started the run (issue 13); null for retries, posted runs and older jobs. */
	startedBy: string | null;
	currentBlock: string | null;
	error: string | null;
	outputPath: string | null;
	/** Columns of the final rows, known once the job finished. */
	columns: string[] | null;
	/** Final rows stored so far. */
	rowCount: number;
	createdAt: number;
	startedAt: number | null;
	finishedAt: number | null;
}

export interface NewJob {
	id: string;
	workflowId?: string | null;
	owner?: string | null;
	workflow: Workflow;
	options: RunOptions;
	retryOf?: string | null;
	startedBy?: string | null;
	createdAt: number;
}

export type JobPatch = Partial<
	Pick<JobRecord, 'status' | 'currentBlock' | 'error' | 'outputPath' | 'columns' | 'rowCount' | 'startedAt' | 'finishedAt'>
>;

export interface ListJobsOptions {
	offset: number;
	limit: number;
	/**
	 * A workflow's jobs (an id), only the anonymous jobs posted as JSON (`null`), or every job
	 * (absent). A shared workflow's list never mixes in another's jobs.
	 */
	workflowId?: string | null;
}

/** The run a transition is for: the `startedAt` it began with (null: never started). */
export interface TransitionFence {
	startedAt: number | null;
}

export interface StoredEvent {
	seq: number;
	event: RunEvent;
}

/** Which of a job's grid rows to list (`listCellRows`). */
export interface CellRowsQuery {
	/** Rows with a cell of this block (the source block: every row read). */
	blockId?: string;
	/** Rows with a cell in this state (e.g. `error`). */
	state?: RowCell['state'];
	/** Rows with a cell whose text contains this (case-insensitive for ASCII). */
	search?: string;
}

export interface JobStore {
	create(job: NewJob): Promise<JobRecord>;
	get(id: string): Promise<JobRecord | null>;
	/** Newest first. */
	list(options: ListJobsOptions): Promise<{ jobs: JobRecord[]; total: number }>;
	/** Jobs a crash or shutdown left `pending` or `running`, oldest first: the ones to resume. */
	listUnfinished(): Promise<JobRecord[]>;
	update(id: string, patch: JobPatch): Promise<void>;
	/**
	 * Sets the status only if the job is still in one of `from` (and, with `expect`, its `startedAt`
	 * is still that value); true when it changed. This is how a cancel and a finishing run never
	 * overwrite each other's final state, and — `startedAt` being each run's fencing token — how a
	 * worker that lost a job to another (scale-out) can no longer record anything for it.
	 */
	transition(id: string, from: JobStatus[], patch: JobPatch & { status: JobStatus }, expect?: TransitionFence): Promise<boolean>;

	saveBlock(jobId: string, position: number, progress: BlockProgress): Promise<void>;
	listBlocks(jobId: string): Promise<BlockProgress[]>;

	/** Appends final rows at indexes `firstIndex…`; returns the new row count. */
	appendRows(jobId: string, firstIndex: number, rows: Row[]): Promise<number>;
	readRows(jobId: string, offset: number, limit: number): Promise<Row[]>;
	/** Final rows whose `_error` is non-empty, in order, paged among themselves. */
	readErrorRows(jobId: string, offset: number, limit: number): Promise<Row[]>;
	/** How many final rows carry an `_error`. */
	countErrorRows(jobId: string): Promise<number>;

	appendEvent(jobId: string, event: RunEvent): Promise<number>;
	listEvents(jobId: string, afterSeq?: number, limit?: number): Promise<StoredEvent[]>;

	/* Live grid (issue 12): per-row cells, the source block's holding the row as read. */
	/** Stores cells (a later state of the same row and block replaces the earlier one). */
	saveCells(jobId: string, cells: RowCell[]): Promise<void>;
	/** The cells of these rows, every block's. */
	readCells(jobId: string, rows: number[]): Promise<RowCell[]>;
	/** Input indexes of the rows matching `query`, ascending, distinct. */
	listCellRows(jobId: string, query: CellRowsQuery): Promise<number[]>;
	/** How many rows have a cell of `blockId`, and the largest such index (-1 for none). */
	countCellRows(jobId: string, blockId: string): Promise<{ count: number; max: number }>;

	/** Forgets blocks, rows and events of a job about to be re-run from the start (resume). */
	resetProgress(jobId: string): Promise<void>;
}
