/**
 * The versions of shared workflows (issue 13), table `doc_versions`: one row per version, holding a
 * Yjs update (format v2) — the full document state (a keyframe, `baseId` null) or the delta since the version it
 * builds on (`baseId`) — and the state vector it reaches. What a version means and how a document
 * is rebuilt from it is server/history/version-history.ts's; this repository only stores rows. An
 * async interface, so a PostgreSQL implementation can stand beside the SQLite one.
 */
import type { Db } from './db';

/** How a version came to be: a pause after edits, someone naming it, a run, or before a restore. */
export type VersionKind = 'auto' | 'named' | 'run' | 'restore';

/** A version as listed: everything but its bytes. */
export interface VersionSummary {
	id: number;
	workflowId: string;
	kind: VersionKind;
	/** The name given ("Before the big import"), or null for automatic versions. */
	name: string | null;
	/** The run whose snapshot this is (`run` versions). */
	jobId: string | null;
	/** Presence names of the people whose edits went into this version (since the one before). */
	authors: string[];
	/** Who saved it (named), started the run (run) or restored (restore); null for automatic ones. */
	createdBy: string | null;
	createdAt: number;
	/** Stored bytes: the update plus its state vector. */
	bytes: number;
}

/** What rebuilding a version needs of one row. */
export interface VersionState {
	id: number;
	/** The version this row's update applies on top of; null: `state` is the whole document. */
	baseId: number | null;
	/** Deltas since the last keyframe (0 for a keyframe). */
	depth: number;
	state: Uint8Array;
	stateVector: Uint8Array;
}

export interface NewVersion {
	workflowId: string;
	kind: VersionKind;
	name?: string | null;
	jobId?: string | null;
	authors: string[];
	createdBy?: string | null;
	baseId: number | null;
	depth: number;
	state: Uint8Array;
	stateVector: Uint8Array;
	createdAt: number;
}

export interface ListVersionsOptions {
	/** Newest first; at most this many. */
	limit: number;
	/** Only versions older than this id (the next page). */
	before?: number;
}

export interface VersionStore {
	add(version: NewVersion): Promise<VersionSummary>;
	/** Newest first. */
	list(workflowId: string, options: ListVersionsOptions): Promise<VersionSummary[]>;
	get(workflowId: string, id: number): Promise<VersionSummary | null>;
	/** The stored update of one version of `workflowId` (null if it has no such version). */
	state(workflowId: string, id: number): Promise<VersionState | null>;
	/** The newest version's state (what the next delta builds on), or null. */
	latest(workflowId: string): Promise<VersionState | null>;
	/** Forgets a workflow's versions (workflow deleted). */
	remove(workflowId: string): Promise<void>;
}

interface SummaryRow {
	id: number;
	workflow_id: string;
	kind: VersionKind;
	name: string | null;
	job_id: string | null;
	authors: string;
	created_by: string | null;
	created_at: number;
	bytes: number;
}

interface StateRow {
	id: number;
	base_id: number | null;
	depth: number;
	state: Buffer;
	state_vector: Buffer;
}

const SUMMARY = `id, workflow_id, kind, name, job_id, authors, created_by, created_at, length(state) + length(state_vector) AS bytes`;

const toSummary = (r: SummaryRow): VersionSummary => ({
	id: r.id,
	workflowId: r.workflow_id,
	kind: r.kind,
	name: r.name,
	jobId: r.job_id,
	authors: JSON.parse(r.authors) as string[],
	createdBy: r.created_by,
	createdAt: r.created_at,
	bytes: r.bytes
});

const toState = (r: StateRow): VersionState => ({
	id: r.id,
	baseId: r.base_id,
	depth: r.depth,
	state: new Uint8Array(r.state),
	stateVector: new Uint8Array(r.state_vector)
});

/**
 * The SQLite repository over `doc_versions`.
 * @example const versions = createSqliteVersionStore(openDatabase(':memory:'))
 */
export function createSqliteVersionStore(db: Db): VersionStore {
	const insert = db.prepare(
		`INSERT INTO doc_versions (workflow_id, kind, name, job_id, authors, created_by, base_id, depth, state, state_vector, created_at)
		 VALUES (@workflow_id, @kind, @name, @job_id, @authors, @created_by, @base_id, @depth, @state, @state_vector, @created_at)`
	);
	const selectOne = db.prepare<[string, number], SummaryRow>(`SELECT ${SUMMARY} FROM doc_versions WHERE workflow_id = ? AND id = ?`);
	const selectPage = db.prepare<[string, number, number], SummaryRow>(
		`SELECT ${SUMMARY} FROM doc_versions WHERE workflow_id = ? AND id < ? ORDER BY id DESC LIMIT ?`
	);
	const selectState = db.prepare<[string, number], StateRow>(
		'SELECT id, base_id, depth, state, state_vector FROM doc_versions WHERE workflow_id = ? AND id = ?'
	);
	const selectLatest = db.prepare<[string], StateRow>(
		'SELECT id, base_id, depth, state, state_vector FROM doc_versions WHERE workflow_id = ? ORDER BY id DESC LIMIT 1'
	);
	const deleteAll = db.prepare<[string]>('DELETE FROM doc_versions WHERE workflow_id = ?');

	return {
		async add(version) {
			const result = insert.run({
				workflow_id: version.workflowId,
				kind: version.kind,
				name: version.name ?? null,
				job_id: version.jobId ?? null,
				authors: JSON.stringify(version.authors),
				created_by: version.createdBy ?? null,
				base_id: version.baseId,
				depth: version.depth,
				state: version.state,
				state_vector: version.stateVector,
				created_at: version.createdAt
			});
			return toSummary(selectOne.get(version.workflowId, Number(result.lastInsertRowid))!);
		},
		async list(workflowId, { limit, before }) {
			return selectPage.all(workflowId, before ?? Number.MAX_SAFE_INTEGER, limit).map(toSummary);
		},
		async get(workflowId, id) {
			const row = selectOne.get(workflowId, id);
			return row ? toSummary(row) : null;
		},
		async state(workflowId, id) {
			const row = selectState.get(workflowId, id);
			return row ? toState(row) : null;
		},
		async latest(workflowId) {
			const row = selectLatest.get(workflowId);
			return row ? toState(row) : null;
		},
		async remove(workflowId) {
			deleteAll.run(workflowId);
		}
	};
}
