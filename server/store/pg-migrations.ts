/**
 * The PostgreSQL twin of db.ts's MIGRATIONS: entry i creates in PostgreSQL what SQLite migration i
 * creates, with PostgreSQL's types — ms timestamps and counters that can pass 2³¹ as BIGINT (parsed
 * back to numbers by store.ts), REAL as DOUBLE PRECISION, BLOB as BYTEA, AUTOINCREMENT as an
 * identity column. A SQLite migration without its twin here fails tests/unit/store-migrations.test.ts.
 *
 * `jobs.seq` exists only here: SQLite breaks ties between jobs created in the same ms by `rowid`,
 * PostgreSQL by this identity column (see orderTie in store.ts).
 */
export const PG_MIGRATIONS: string[] = [
	// 1: enrichment cache and async-task checkpoints
	`CREATE TABLE cache (
		key TEXT PRIMARY KEY,
		endpoint TEXT NOT NULL,
		response TEXT NOT NULL,
		cost_cents DOUBLE PRECISION NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL
	);
	CREATE TABLE pending_tasks (
		key TEXT PRIMARY KEY,
		endpoint TEXT NOT NULL,
		task_id TEXT NOT NULL,
		created_at BIGINT NOT NULL
	);`,
	// 2: workflows, uploads, jobs
	`CREATE TABLE workflows (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		edit_token TEXT NOT NULL,
		view_token TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE TABLE uploads (
		id TEXT PRIMARY KEY,
		workflow_id TEXT,
		file_path TEXT NOT NULL UNIQUE,
		original_name TEXT NOT NULL,
		columns TEXT NOT NULL,
		row_count BIGINT NOT NULL,
		size_bytes BIGINT NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE TABLE jobs (
		id TEXT PRIMARY KEY,
		seq BIGINT GENERATED ALWAYS AS IDENTITY,
		workflow_id TEXT,
		status TEXT NOT NULL,
		workflow TEXT NOT NULL,
		options TEXT NOT NULL,
		retry_of TEXT,
		current_block TEXT,
		error TEXT,
		output_path TEXT,
		columns TEXT,
		row_count BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		started_at BIGINT,
		finished_at BIGINT
	);
	CREATE INDEX jobs_by_created ON jobs (created_at DESC, seq DESC);
	CREATE INDEX jobs_by_workflow ON jobs (workflow_id, created_at DESC, seq DESC);
	CREATE INDEX jobs_by_status ON jobs (status);
	CREATE TABLE job_blocks (
		job_id TEXT NOT NULL,
		position INTEGER NOT NULL,
		block_id TEXT NOT NULL,
		progress TEXT NOT NULL,
		PRIMARY KEY (job_id, position)
	);
	CREATE TABLE job_rows (
		job_id TEXT NOT NULL,
		idx BIGINT NOT NULL,
		row TEXT NOT NULL,
		has_error SMALLINT NOT NULL DEFAULT 0,
		PRIMARY KEY (job_id, idx)
	);
	CREATE INDEX job_rows_errors ON job_rows (job_id, idx) WHERE has_error = 1;
	CREATE TABLE job_events (
		job_id TEXT NOT NULL,
		seq BIGINT NOT NULL,
		event TEXT NOT NULL,
		PRIMARY KEY (job_id, seq)
	);`,
	// 3: collaborative documents
	`CREATE TABLE doc_snapshots (
		workflow_id TEXT PRIMARY KEY,
		state BYTEA NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE TABLE doc_updates (
		id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		workflow_id TEXT NOT NULL,
		update_data BYTEA NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE INDEX doc_updates_by_workflow ON doc_updates (workflow_id, id);`,
	// 4: spend limits — who a job counts against, and cents spent per UTC day per scope
	`ALTER TABLE jobs ADD COLUMN owner TEXT;
	CREATE TABLE spend (
		day TEXT NOT NULL,
		scope TEXT NOT NULL,
		cents DOUBLE PRECISION NOT NULL DEFAULT 0,
		PRIMARY KEY (day, scope)
	);`,
	// 5: version history (issue 13) — a workflow's versions as Yjs updates (see db.ts)
	`CREATE TABLE doc_versions (
		id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		workflow_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		name TEXT,
		job_id TEXT,
		created_by TEXT,
		authors TEXT NOT NULL,
		base_id BIGINT,
		depth INTEGER NOT NULL,
		state BYTEA NOT NULL,
		state_vector BYTEA NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE INDEX doc_versions_by_workflow ON doc_versions (workflow_id, id);`,
	// 6: who did what (issue 13) — the presence name of the person who started a run
	`ALTER TABLE jobs ADD COLUMN started_by TEXT;`,
	// 7 (live grid, issue 12): each row's state per block (see db.ts)
	`CREATE TABLE job_cells (
		job_id TEXT NOT NULL,
		idx INTEGER NOT NULL,
		block_id TEXT NOT NULL,
		state TEXT NOT NULL,
		cell TEXT NOT NULL,
		PRIMARY KEY (job_id, idx, block_id)
	);
	CREATE INDEX job_cells_by_state ON job_cells (job_id, state, idx);`,
	// 8 (grid search): the cell's values and error, lower-cased (see db.ts)
	`ALTER TABLE job_cells ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
	UPDATE job_cells SET search_text = lower(
		coalesce((SELECT string_agg(value, E'\n') FROM jsonb_each_text(cell::jsonb -> 'values') WHERE value IS NOT NULL), '')
		|| E'\n' || coalesce(cell::jsonb ->> 'error', ''));`
];
