/**
 * The typed schema of every table, for Kysely (issue 11). The same tables exist in SQLite
 * (migrations in db.ts) and PostgreSQL (pg-migrations.ts); the column types here are what both
 * hand back once the store has parsed them: ms timestamps are `BIGINT` in PostgreSQL and come back
 * as numbers (store.ts parses int8), binary is `BLOB`/`BYTEA` and comes back as a `Buffer`, JSON is
 * kept as text in both. Flags are 0/1 integers in both.
 */
import type { Generated } from 'kysely';

export interface CacheTable {
	key: string;
	endpoint: string;
	/** JSON text. */
	response: string;
	cost_cents: number;
	created_at: number;
}

export interface PendingTasksTable {
	key: string;
	endpoint: string;
	task_id: string;
	created_at: number;
}

export interface WorkflowsTable {
	id: string;
	name: string;
	edit_token: string;
	view_token: string;
	created_at: number;
	updated_at: number;
}

export interface UploadsTable {
	id: string;
	workflow_id: string | null;
	file_path: string;
	original_name: string;
	/** JSON text: the header row. */
	columns: string;
	row_count: number;
	size_bytes: number;
	created_at: number;
}

export interface JobsTable {
	id: string;
	workflow_id: string | null;
	owner: string | null;
	status: string;
	/** JSON text: the workflow snapshot that runs. */
	workflow: string;
	/** JSON text. */
	options: string;
	retry_of: string | null;
	/** Who started the run (issue 13, migration 6). */
	started_by: string | null;
	current_block: string | null;
	error: string | null;
	output_path: string | null;
	/** JSON text, once finished. */
	columns: string | null;
	row_count: Generated<number>;
	created_at: number;
	started_at: number | null;
	finished_at: number | null;
}

export interface JobBlocksTable {
	job_id: string;
	position: number;
	block_id: string;
	/** JSON text. */
	progress: string;
}

export interface JobRowsTable {
	job_id: string;
	idx: number;
	/** JSON text. */
	row: string;
	has_error: number;
}

export interface JobEventsTable {
	job_id: string;
	seq: number;
	/** JSON text. */
	event: string;
}

export interface DocSnapshotsTable {
	workflow_id: string;
	state: Uint8Array;
	updated_at: number;
}

export interface DocUpdatesTable {
	id: Generated<number>;
	workflow_id: string;
	update_data: Uint8Array;
	created_at: number;
}

export interface SpendTable {
	/** `YYYY-MM-DD`, UTC. */
	day: string;
	/** `*` (the server) or a job owner. */
	scope: string;
	cents: number;
}

export interface DocVersionsTable {
	id: Generated<number>;
	workflow_id: string;
	kind: string;
	name: string | null;
	job_id: string | null;
	created_by: string | null;
	/** JSON text: presence names. */
	authors: string;
	base_id: number | null;
	depth: number;
	state: Uint8Array;
	state_vector: Uint8Array;
	created_at: number;
}

/** The live grid's cells (issue 12): one per row and block, the source block's holding the row as read. */
export interface JobCellsTable {
	job_id: string;
	idx: number;
	block_id: string;
	/** The cell's state (`RowCell['state']`), for the errors-only query. */
	state: string;
	/** JSON text: the RowCell without its row and block. */
	cell: string;
	/** What the grid's search looks in: the cell's values and error, lower-cased, one per line. */
	search_text: string;
}

/** The health probe's scratch row (created by the probe itself, see health.ts). */
export interface HealthProbeTable {
	id: number;
	checked_at: number;
}

export interface Database {
	cache: CacheTable;
	pending_tasks: PendingTasksTable;
	workflows: WorkflowsTable;
	uploads: UploadsTable;
	jobs: JobsTable;
	job_blocks: JobBlocksTable;
	job_rows: JobRowsTable;
	job_events: JobEventsTable;
	job_cells: JobCellsTable;
	doc_snapshots: DocSnapshotsTable;
	doc_updates: DocUpdatesTable;
	spend: SpendTable;
	doc_versions: DocVersionsTable;
	health_probe: HealthProbeTable;
}
