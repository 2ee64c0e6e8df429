/**
 * The shared workflows: an id, a name and two capability tokens each. The document itself lives in
 * the collaboration store (doc_snapshots / doc_updates); this repository only knows who may reach
 * it. An async interface, so a PostgreSQL implementation can stand beside the SQLite one.
 */
import { accessFor, ID_PATTERN, newToken, newWorkflowId, type Access } from '../access';
import type { Db } from './db';

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

interface WorkflowRow {
	id: string;
	name: string;
	edit_token: string;
	view_token: string;
	created_at: number;
	updated_at: number;
}

const toRecord = (row: WorkflowRow): WorkflowRecord => ({
	id: row.id,
	name: row.name,
	editToken: row.edit_token,
	viewToken: row.view_token,
	createdAt: row.created_at,
	updatedAt: row.updated_at
});

/**
 * The SQLite repository over the `workflows` table.
 * @example const workflows = createSqliteWorkflowsRepo(openDatabase(':memory:'))
 */
export function createSqliteWorkflowsRepo(db: Db, now: () => number = Date.now): WorkflowsRepo {
	const insert = db.prepare('INSERT INTO workflows (id, name, edit_token, view_token, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
	const select = db.prepare<[string], WorkflowRow>('SELECT * FROM workflows WHERE id = ?');
	const updateName = db.prepare('UPDATE workflows SET name = ?, updated_at = ? WHERE id = ?');
	const remove = db.prepare('DELETE FROM workflows WHERE id = ?');

	const get = (id: string): WorkflowRecord | null => {
		if (!ID_PATTERN.test(id)) return null;
		const row = select.get(id);
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
			insert.run(record.id, record.name, record.editToken, record.viewToken, at, at);
			return record;
		},
		async get(id) {
			return get(id);
		},
		async authorize(id, token) {
			const record = get(id);
			return record ? accessFor(record, token) : null;
		},
		async rename(id, name) {
			return updateName.run(name, now(), id).changes > 0;
		},
		async delete(id) {
			return remove.run(id).changes > 0;
		}
	};
}
