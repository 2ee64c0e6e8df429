/**
 * `POST /api/workflows/upload`: a CSV or .xlsx file in the multipart field `file`, streamed to
 * `<data>/uploads/<random id>.csv` (or `.xlsx`; the name is the server's; the client's never
 * touches the disk), checked, and described: `{ file_path, columns, row_count, preview, dialect }`
 * — `dialect` says how it was read (detected delimiter and encoding, or the sheet; renamed header
 * names), for the Read CSV card. A refused file is deleted.
 *
 * With a `workflow_id` (form field, or query parameter to be refused before any byte is stored)
 * and that workflow's edit token, the upload belongs to the workflow: only its runs read it and
 * only its tokens describe it. Without one it is anonymous, as in the seed.
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { countSourceRows, readSourceHeader } from '../files/source-file';
import { clipPreviewRow } from '../engine/progress';
import { FileError } from '../files/file-error';
import { HttpError } from '../http-error';
import type { UploadStore } from '../store/upload-store';
import { formatBytes, receiveFile } from './multipart-file';
import type { UploadAnswer } from './responses';
import { checkTextFile, checkXlsxFile, displayName, MAX_UPLOAD_COLUMNS, uploadFormatOf } from './upload-checks';
import { queryParams } from './validate';
import { requestToken, type WorkflowGuard } from './workflow-guard';

export interface UploadRoutesOptions {
	dataDir: string;
	uploads: UploadStore;
	/** Largest file accepted (bytes). */
	maxBytes: number;
	logger: Logger;
	guard: WorkflowGuard;
}

/** Multipart framing around the file: a request this much over the limit is refused unread. */
const MULTIPART_OVERHEAD = 64 * 1024;
const PREVIEW_ROWS = 10;

/** `?workflow_id=`: the workflow the file is for, checked before any byte is stored. */
export const UploadQuerySchema = v.object({ workflow_id: v.optional(v.string()) });

/** Sub-app mounted under `/api/workflows`. */
export function createUploadRoutes(options: UploadRoutesOptions) {
	const { dataDir, uploads, maxBytes, logger, guard } = options;
	return new Hono().post('/upload', queryParams(UploadQuerySchema), async (c) => {
		const declared = Number(c.req.header('content-length'));
		if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_OVERHEAD) {
			throw new HttpError(413, 'payload_too_large', `The file is larger than the upload limit of ${formatBytes(maxBytes)}`);
		}
		const token = requestToken(c);
		const queried = c.req.valid('query').workflow_id || null;
		if (queried !== null) await guard.require(queried, token, 'edit');
		const id = randomUUID();
		await mkdir(join(dataDir, 'uploads'), { recursive: true });

		// Streamed to a `.part` name and renamed once accepted: a crash mid-upload never leaves a
		// file that looks like a finished upload.
		const partial = join(dataDir, 'uploads', `${id}.part`);
		const received = await receiveFile(c.req.raw, { field: 'file', destination: partial, maxBytes, textFields: ['workflow_id'] });
		let absolute: string | null = null;
		try {
			const posted = received.fields.workflow_id?.trim() || null;
			if (posted !== null && queried !== null && posted !== queried) {
				throw new HttpError(400, 'invalid_request', 'The form and the query name different workflows');
			}
			const workflowId = posted ?? queried;
			if (posted !== null && queried === null) await guard.require(posted, token, 'edit');
			const originalName = displayName(received.filename);
			const format = uploadFormatOf(originalName);
			if (received.sizeBytes === 0) throw new HttpError(400, 'invalid_csv', 'The file is empty');
			const note = format === 'xlsx' ? await checkXlsxFile(partial).then(() => null) : await checkTextFile(partial);
			const label = originalName;
			const { columns, preview, dialect } = await readSourceHeader(partial, { previewRows: PREVIEW_ROWS, format, label });
			if (note) dialect.encoding_note = [dialect.encoding_note, note].filter(Boolean).join(' ');
			if (columns.length > MAX_UPLOAD_COLUMNS) {
				throw new HttpError(
					400,
					'invalid_csv',
					`The file has ${columns.length} columns; at most ${MAX_UPLOAD_COLUMNS} are supported`
				);
			}
			const rowCount = await countSourceRows(partial, { format, label });
			const filePath = `uploads/${id}.${format}`;
			absolute = join(dataDir, 'uploads', `${id}.${format}`);
			await rename(partial, absolute);
			await uploads.create({
				id,
				workflowId,
				filePath,
				originalName,
				columns,
				rowCount,
				sizeBytes: received.sizeBytes,
				createdAt: Date.now()
			});
			logger.info(
				{ upload_id: id, workflow_id: workflowId, bytes: received.sizeBytes, rows: rowCount, columns: columns.length },
				'upload stored'
			);
			const answer: UploadAnswer = {
				file_path: filePath,
				columns,
				row_count: rowCount,
				preview: preview.map(clipPreviewRow),
				dialect,
				upload_id: id,
				original_name: originalName,
				size_bytes: received.sizeBytes,
				workflow_id: workflowId
			};
			return c.json(answer);
		} catch (err) {
			await rm(partial, { force: true });
			if (absolute) await rm(absolute, { force: true });
			if (err instanceof FileError) {
				// The reader names the stored file; people know it by the name they uploaded.
				const shown = displayName(received.filename);
				throw new HttpError(400, 'invalid_csv', err.message.split(`${id}.part`).join(shown));
			}
			throw err;
		}
	});
}
