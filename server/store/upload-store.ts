/**
 * The uploads repository: what was uploaded, under which server-chosen name, with which columns.
 * Async interface (see job-store.ts for why) with its SQLite implementation beside it.
 */
import type { Db } from './db';

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

interface UploadRow {
	id: string;
	workflow_id: string | null;
	file_path: string;
	original_name: string;
	columns: string;
	row_count: number;
	size_bytes: number;
	created_at: number;
}

const toRecord = (r: UploadRow): UploadRecord => ({
	id: r.id,
	workflowId: r.workflow_id,
	filePath: r.file_path,
	originalName: r.original_name,
	columns: JSON.parse(r.columns),
	rowCount: r.row_count,
	sizeBytes: r.size_bytes,
	createdAt: r.created_at
});

/** Creates the SQLite-backed upload store. */
export function createSqliteUploadStore(db: Db): UploadStore {
	const insert = db.prepare(
		`INSERT INTO uploads (id, workflow_id, file_path, original_name, columns, row_count, size_bytes, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	);
	const byId = db.prepare('SELECT * FROM uploads WHERE id = ?');
	const byPath = db.prepare('SELECT * FROM uploads WHERE file_path = ?');
	return {
		async create(u) {
			insert.run(u.id, u.workflowId, u.filePath, u.originalName, JSON.stringify(u.columns), u.rowCount, u.sizeBytes, u.createdAt);
		},
		async get(id) {
			const row = byId.get(id) as UploadRow | undefined;
			return row ? toRecord(row) : null;
		},
		async getByPath(filePath) {
			const row = byPath.get(filePath) as UploadRow | undefined;
			return row ? toRecord(row) : null;
		}
	};
}
