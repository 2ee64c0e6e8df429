/**
 * The uploads repository: what was uploaded, under which server-chosen name, with which columns.
 * One Kysely implementation serves SQLite and PostgreSQL.
 */
import type { Selectable } from 'kysely';
import type { UploadsTable } from './schema';
import { asStore, type Store, type StoreHandle } from './store';

export interface UploadRecord {
	id: string;
	workflowId: string | null;
	/** Relative to the data dir, e.g. `uploads/3f9c….csv`: what `read_csv.path` takes. */
	filePath: string;
	/** The client's file name, kept for display only: it never touches the disk. */
	originalName: string;
	columns: string[];
	rowCount: number;
	sizeBytes: number;
	createdAt: number;
}

export interface UploadStore {
	create(upload: UploadRecord): Promise<void>;
	get(id: string): Promise<UploadRecord | null>;
	getByPath(filePath: string): Promise<UploadRecord | null>;
}

const toRecord = (r: Selectable<UploadsTable>): UploadRecord => ({
	id: r.id,
	workflowId: r.workflow_id,
	filePath: r.file_path,
	originalName: r.original_name,
	columns: JSON.parse(r.columns),
	rowCount: r.row_count,
	sizeBytes: r.size_bytes,
	createdAt: r.created_at
});

/** Creates the upload store over a Store (SQLite or PostgreSQL). */
export function createUploadStore(store: Store): UploadStore {
	const { db } = store;
	return {
		async create(u) {
			await db
				.insertInto('uploads')
				.values({
					id: u.id,
					workflow_id: u.workflowId,
					file_path: u.filePath,
					original_name: u.originalName,
					columns: JSON.stringify(u.columns),
					row_count: u.rowCount,
					size_bytes: u.sizeBytes,
					created_at: u.createdAt
				})
				.execute();
		},
		async get(id) {
			const row = await db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
			return row ? toRecord(row) : null;
		},
		async getByPath(filePath) {
			const row = await db.selectFrom('uploads').selectAll().where('file_path', '=', filePath).executeTakeFirst();
			return row ? toRecord(row) : null;
		}
	};
}

/** The upload store over a SQLite handle (embedded mode, tests). */
export function createSqliteUploadStore(db: StoreHandle): UploadStore {
	return createUploadStore(asStore(db));
}
