/**
 * The versions of shared workflows (issue 13), table `doc_versions`: one row per version, holding a
 * Yjs update (format v2) — the full document state (a keyframe, `baseId` null) or the delta since the version it
 * builds on (`baseId`) — and the state vector it reaches. What a version means and how a document
 * is rebuilt from it is server/history/version-history.ts's; this repository only stores rows. One
 * Kysely implementation serves SQLite and PostgreSQL.
 */
import { sql } from 'kysely';
import { asStore, toBuffer, type Store, type StoreHandle } from './store';

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

const toState = (r: { id: number; base_id: number | null; depth: number; state: Uint8Array; state_vector: Uint8Array }): VersionState => ({
	id: Number(r.id),
	baseId: r.base_id === null ? null : Number(r.base_id),
	depth: r.depth,
	state: new Uint8Array(r.state),
	stateVector: new Uint8Array(r.state_vector)
});

/**
 * The repository over `doc_versions` (SQLite or PostgreSQL).
 * @example const versions = createVersionStore(sqliteStore(openDatabase(':memory:')))
 */
export function createVersionStore(store: Store): VersionStore {
	const { db } = store;
	const summaries = () =>
		db
			.selectFrom('doc_versions')
			.select(['id', 'workflow_id', 'kind', 'name', 'job_id', 'authors', 'created_by', 'created_at'])
			.select(sql<number>`length(state) + length(state_vector)`.as('bytes'));
	const toSummary = (r: {
		id: number;
		workflow_id: string;
		kind: string;
		name: string | null;
		job_id: string | null;
		authors: string;
		created_by: string | null;
		created_at: number;
		bytes: number;
	}): VersionSummary => ({
		id: Number(r.id),
		workflowId: r.workflow_id,
		kind: r.kind as VersionKind,
		name: r.name,
		jobId: r.job_id,
		authors: JSON.parse(r.authors) as string[],
		createdBy: r.created_by,
		createdAt: Number(r.created_at),
		bytes: Number(r.bytes)
	});
	const states = () => db.selectFrom('doc_versions').select(['id', 'base_id', 'depth', 'state', 'state_vector']);

	return {
		async add(version) {
			const { id } = await db
				.insertInto('doc_versions')
				.values({
					workflow_id: version.workflowId,
					kind: version.kind,
					name: version.name ?? null,
					job_id: version.jobId ?? null,
					authors: JSON.stringify(version.authors),
					created_by: version.createdBy ?? null,
					base_id: version.baseId,
					depth: version.depth,
					state: toBuffer(version.state),
					state_vector: toBuffer(version.stateVector),
					created_at: version.createdAt
				})
				.returning('id')
				.executeTakeFirstOrThrow();
			return toSummary(
				await summaries().where('workflow_id', '=', version.workflowId).where('id', '=', Number(id)).executeTakeFirstOrThrow()
			);
		},
		async list(workflowId, { limit, before }) {
			const rows = await summaries()
				.where('workflow_id', '=', workflowId)
				.where('id', '<', before ?? Number.MAX_SAFE_INTEGER)
				.orderBy('id', 'desc')
				.limit(limit)
				.execute();
			return rows.map(toSummary);
		},
		async get(workflowId, id) {
			const row = await summaries().where('workflow_id', '=', workflowId).where('id', '=', id).executeTakeFirst();
			return row ? toSummary(row) : null;
		},
		async state(workflowId, id) {
			const row = await states().where('workflow_id', '=', workflowId).where('id', '=', id).executeTakeFirst();
			return row ? toState(row) : null;
		},
		async latest(workflowId) {
			const row = await states().where('workflow_id', '=', workflowId).orderBy('id', 'desc').limit(1).executeTakeFirst();
			return row ? toState(row) : null;
		},
		async remove(workflowId) {
			await db.deleteFrom('doc_versions').where('workflow_id', '=', workflowId).execute();
		}
	};
}

/** The repository over a SQLite handle (embedded mode, tests). */
export function createSqliteVersionStore(db: StoreHandle): VersionStore {
	return createVersionStore(asStore(db));
}
