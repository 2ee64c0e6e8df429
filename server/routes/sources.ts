/**
 * `GET /api/workflows/source?path=…[&delimiter=&encoding=&sheet=]`: what a `read_csv` path holds,
 * read as the block's params say — `{ file_path, columns, row_count, preview, dialect,
 * original_name? }`, the upload route's own answer — so everyone on a workflow sees what the
 * uploader saw, and the card follows a delimiter, encoding or sheet chosen by hand. An upload or output of a shared workflow needs one of that
 * workflow's tokens; samples and anonymous files are open; the data directory's own files never.
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { stat } from 'node:fs/promises';
import { CSV_DELIMITERS, CSV_ENCODINGS } from '../../src/lib/workflow/source-file';
import { resolveDataPath } from '../files/csv-path';
import { countSourceRows, hasReadOverrides, readSourceHeader } from '../files/source-file';
import { FileError } from '../files/file-error';
import { HttpError } from '../http-error';
import { ownerOf, PRIVATE_FILE, type CsvSource } from '../jobs/source-access';
import type { SourceAnswer } from './responses';
import { queryParams } from './validate';
import { requestToken, type WorkflowGuard } from './workflow-guard';

export interface SourceRoutesOptions {
	dataDir: string;
	classify: (file: string) => Promise<CsvSource>;
	guard: WorkflowGuard;
}

/** Rows shown, as the upload route shows them. */
const PREVIEW_ROWS = 10;
/** Files up to this size are counted on request; larger ones answer `row_count: null`. */
const COUNT_UP_TO_BYTES = 32 * 1024 * 1024;

/** `GET /source` query: the path, and how to read it (unset: as detected). */
export const SourceQuerySchema = v.object({
	path: v.pipe(v.string(), v.minLength(1, 'Give the file path'), v.maxLength(1_000, 'The path is too long')),
	delimiter: v.optional(v.picklist(CSV_DELIMITERS)),
	encoding: v.optional(v.picklist(CSV_ENCODINGS)),
	sheet: v.optional(v.pipe(v.string(), v.maxLength(200)))
});

/** A FileError from the CSV reader as the HTTP error a person can act on. */
function toHttpError(err: unknown): unknown {
	if (!(err instanceof FileError)) return err;
	if (err.code === 'file_not_found') return new HttpError(404, 'not_found', err.message);
	return new HttpError(400, err.code === 'invalid_path' ? 'invalid_path' : 'invalid_csv', err.message);
}

/** Sub-app mounted under `/api/workflows`. */
export function createSourceRoutes(options: SourceRoutesOptions) {
	const { dataDir, classify, guard } = options;
	return new Hono().get('/source', queryParams(SourceQuerySchema), async (c) => {
		const { path, ...how } = c.req.valid('query');
		try {
			const file = resolveDataPath(dataDir, path);
			const source = await classify(file);
			if (source.kind === 'private') throw new HttpError(400, 'invalid_path', PRIVATE_FILE);
			await guard.requireIfOwned(ownerOf(source), requestToken(c), 'view');
			const { columns, preview, dialect } = await readSourceHeader(file, { ...how, previewRows: PREVIEW_ROWS });
			c.header('Cache-Control', 'no-store');
			const count = async () => ((await stat(file)).size <= COUNT_UP_TO_BYTES ? await countSourceRows(file, how) : null);
			if (source.kind === 'upload') {
				const { upload } = source;
				// Read as uploaded (detected): the description stored then. Read another way: this reading.
				const stored = !hasReadOverrides(how);
				const body: SourceAnswer = {
					file_path: upload.filePath,
					columns: stored ? upload.columns : columns,
					row_count: stored ? upload.rowCount : await count(),
					preview,
					dialect,
					original_name: upload.originalName
				};
				return c.json(body);
			}
			const body: SourceAnswer = { file_path: path, columns, row_count: await count(), preview, dialect };
			return c.json(body);
		} catch (err) {
			throw toHttpError(err);
		}
	});
}
