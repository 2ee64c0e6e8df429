/**
 * The shared workflows: an id, a name and two capability tokens each. The document itself lives in
 * the collaboration store (doc_snapshots / doc_updates); this repository only knows who may reach
 * it. One Kysely implementation serves SQLite and PostgreSQL.
 */
import { accessFor, ID_PATTERN, newToken, newWorkflowId, type Access } from '../access';
import type { Selectable } from 'kysely';
import type { WorkflowsTable } from './schema';
import { asStore, type Store, type StoreHandle } from './store';

export interface WorkflowRecord {
	id: string;
	name: string;
	editToken: string;
	viewToken: string;
	createdAt: number;
	updatedAt: number;
}

export interface WorkflowsRepo {
	/** Mints a new workflow with a fresh random id and tokens. */
	create(input: { name: string }): Promise<WorkflowRecord>;
	get(id: string): Promise<WorkflowRecord | null>;
	/** What `token` may do on workflow `id`: `edit`, `view`, or null (unknown workflow or wrong token). */
	authorize(id: string, token: string): Promise<Access | null>;
	/** Keeps the listed name in step with the document's; false for an unknown id. */
	rename(id: string, name: string): Promise<boolean>;
	/** Forgets a workflow (its document is the collaboration store's to drop); false if unknown. */
	delete(id: string): Promise<boolean>;
}

const toRecord = (row: Selectable<WorkflowsTable>): WorkflowRecord => ({
	id: row.id,
	name: row.name,
	editToken: row.edit_token,
	viewToken: row.view_token,
	createdAt: row.created_at,
	updatedAt: row.updated_at
});

/**
 * The repository over the `workflows` table (SQLite or PostgreSQL).
 * @example const workflows = createWorkflowsRepo(sqliteStore(openDatabase(':memory:')))
 */
export function createWorkflowsRepo(store: Store, now: () => number = Date.now): WorkflowsRepo {
	const { db } = store;
	const get = async (id: string): Promise<WorkflowRecord | null> => {
		if (!ID_PATTERN.test(id)) return null;
		const row = await db.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirst();
		return row ? toRecord(row) : null;
	};

	return {
		async create({ name }) {
			const at = now();
			const record: WorkflowRecord = {
				id: newWorkflowId(),
				name,
				editToken: newToken(),
				viewToken: newToken(),
				createdAt: at,
				updatedAt: at
			};
			await db
				.insertInto('workflows')
				.values({ id: record.id, name, edit_token: record.editToken, view_token: record.viewToken, created_at: at, updated_at: at })
				.execute();
			return record;
		},
		get,
		async authorize(id, token) {
			const record = await get(id);
			return record ? accessFor(record, token) : null;
		},
		async rename(id, name) {
			const result = await db.updateTable('workflows').set({ name, updated_at: now() }).where('id', '=', id).executeTakeFirst();
			return Number(result.numUpdatedRows) > 0;
		},
		async delete(id) {
			const result = await db.deleteFrom('workflows').where('id', '=', id).executeTakeFirst();
			return Number(result.numDeletedRows) > 0;
		}
	};
}

/** The repository over a SQLite handle (embedded mode, tests). */
export function createSqliteWorkflowsRepo(db: StoreHandle, now: () => number = Date.now): WorkflowsRepo {
	return createWorkflowsRepo(asStore(db), now);
}
