/**
 * The SQLite database (better-sqlite3, WAL). Migrations are plain SQL in code, applied in order
 * once each; `user_version` records how far a file has come.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

export const MIGRATIONS: string[] = [
	// 1: enrichment cache and async-task checkpoints
	`CREATE TABLE cache (
		key TEXT PRIMARY KEY,
		endpoint TEXT NOT NULL,
		response TEXT NOT NULL,
		cost_cents REAL NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE pending_tasks (
		key TEXT PRIMARY KEY,
		endpoint TEXT NOT NULL,
		task_id TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);`,
	// 2: workflows, uploads, jobs
	`CREATE TABLE workflows (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		edit_token TEXT NOT NULL,
		view_token TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE TABLE uploads (
		id TEXT PRIMARY KEY,
		workflow_id TEXT,
		file_path TEXT NOT NULL UNIQUE,
		original_name TEXT NOT NULL,
		columns TEXT NOT NULL,
		row_count INTEGER NOT NULL,
		size_bytes INTEGER NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE jobs (
		id TEXT PRIMARY KEY,
		workflow_id TEXT,
		status TEXT NOT NULL,
		workflow TEXT NOT NULL,
		options TEXT NOT NULL,
		retry_of TEXT,
		current_block TEXT,
		error TEXT,
		output_path TEXT,
		columns TEXT,
		row_count INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,
		started_at INTEGER,
		finished_at INTEGER
	);
	CREATE INDEX jobs_by_created ON jobs (created_at DESC);
	CREATE INDEX jobs_by_workflow ON jobs (workflow_id, created_at DESC);
	CREATE TABLE job_blocks (
		job_id TEXT NOT NULL,
		position INTEGER NOT NULL,
		block_id TEXT NOT NULL,
		progress TEXT NOT NULL,
		PRIMARY KEY (job_id, position)
	);
	CREATE TABLE job_rows (
		job_id TEXT NOT NULL,
		idx INTEGER NOT NULL,
		row TEXT NOT NULL,
		has_error INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (job_id, idx)
	) WITHOUT ROWID;
	CREATE TABLE job_events (
		job_id TEXT NOT NULL,
		seq INTEGER NOT NULL,
		event TEXT NOT NULL,
		PRIMARY KEY (job_id, seq)
	) WITHOUT ROWID;`,
	// 3: collaborative documents
	`CREATE TABLE doc_snapshots (
		workflow_id TEXT PRIMARY KEY,
		state BLOB NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE TABLE doc_updates (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		workflow_id TEXT NOT NULL,
		update_data BLOB NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE INDEX doc_updates_by_workflow ON doc_updates (workflow_id, id);`,
	// 4: spend limits — who a job counts against, and cents spent per UTC day per scope
	`ALTER TABLE jobs ADD COLUMN owner TEXT;
	CREATE TABLE spend (
		day TEXT NOT NULL,
		scope TEXT NOT NULL,
		cents REAL NOT NULL DEFAULT 0,
		PRIMARY KEY (day, scope)
	) WITHOUT ROWID;`,
	// 5: version history (issue 13) — a workflow's versions as Yjs updates: a full state every
	// few versions, else the delta since the version before (`base_id`); see server/history/.
	`CREATE TABLE doc_versions (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		workflow_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		name TEXT,
		job_id TEXT,
		created_by TEXT,
		authors TEXT NOT NULL,
		base_id INTEGER,
		depth INTEGER NOT NULL,
		state BLOB NOT NULL,
		state_vector BLOB NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE INDEX doc_versions_by_workflow ON doc_versions (workflow_id, id);`,
	// 6: who did what (issue 13) — the presence name of the person who started a run
	`ALTER TABLE jobs ADD COLUMN started_by TEXT;`,
	// 7 (live grid, issue 12): each row's state per block — the rows read (source block) and the
	// cells every block wrote, so a late joiner or a reload sees the grid as it is, by range
	`CREATE TABLE job_cells (
		job_id TEXT NOT NULL,
		idx INTEGER NOT NULL,
		block_id TEXT NOT NULL,
		state TEXT NOT NULL,
		cell TEXT NOT NULL,
		PRIMARY KEY (job_id, idx, block_id)
	) WITHOUT ROWID;
	CREATE INDEX job_cells_by_state ON job_cells (job_id, state, idx);`,
	// 8 (grid search): what a search looks in — the cell's values and its error, lower-cased — so
	// that searching "done" or "values" no longer matches every cell's JSON keys and states.
	// Cells stored before are filled in from their JSON (SQLite's own lower() folds ASCII only:
	// `unicode_lower` is JavaScript's, registered by `migrate`).
	`ALTER TABLE job_cells ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
	UPDATE job_cells SET search_text = unicode_lower(
		coalesce((SELECT group_concat(value, char(10)) FROM json_each(job_cells.cell, '$.values') WHERE value IS NOT NULL), '')
		|| char(10) || coalesce(json_extract(cell, '$.error'), ''));`
];

/** Opens (and migrates) the database at `path`; `:memory:` for tests. */
export function openDatabase(path: string): Db {
	if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
	const db = new Database(path);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = NORMAL');
	db.pragma('busy_timeout = 5000');
	db.pragma('foreign_keys = ON');
	migrate(db);
	return db;
}

function migrate(db: Db): void {
	const current = db.pragma('user_version', { simple: true }) as number;
	db.function('unicode_lower', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : text));
	for (let i = current; i < MIGRATIONS.length; i++) {
		db.transaction(() => {
			db.exec(MIGRATIONS[i]);
			db.pragma(`user_version = ${i + 1}`);
		})();
	}
}
