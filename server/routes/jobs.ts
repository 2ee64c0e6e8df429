/**
 * Jobs: progress (the seed's JobProgress), history, cancel, retry, the final CSV and the final rows
 * paged. Reads come from the store, so a job looks the same during its run, after it and after a
 * restart; changes go through the job manager.
 *
 * A job of a shared workflow belongs to it: reading it needs that workflow's view or edit token,
 * cancelling or retrying its edit token, and another workflow's token reaches nothing. A job
 * posted as raw JSON belongs to no workflow: its unguessable id is the capability, as in the seed.
 * So no answer hands a job id to someone who does not hold it already: the history lists a shared
 * workflow's jobs (with its token), the jobs a client names (`?ids=`, each only if it may read
 * it), or — for the operator's ADMIN_TOKEN only — every job.
 */
import { Hono, type Context } from 'hono';
import * as v from 'valibot';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import { Readable } from 'node:stream';
import { finalNameOf } from '../files/csv-output-name';
import { HttpError, notFound } from '../http-error';
import type { JobManager } from '../jobs/job-manager';
import type { SpendBudget } from '../jobs/spend-budget';
import { SAMPLE_ROWS, toJobProgress, toJobSummary } from '../jobs/job-progress';
import { columnsOf, rowsCsvStream } from '../jobs/rows-csv';
import type { Access } from '../access';
import type { AdminAccess } from '../admin-access';
import type { JobRecord, JobStore } from '../store/job-store';
import { queuePlace } from '../jobs/queue-place';
import type { EstimateVsActualAnswer, GridPageAnswer, JobQueuePlace, JobsPage, RetryAnswer, RowsPage } from './responses';
import { failedGridRows, readGridPage } from '../jobs/grid-rows';
import { compareWithEstimate } from '../jobs/estimate-vs-actual';
import type { RequestModel } from '../jobs/estimate';
import { MAX_SELECTED_ROWS, RowSelectionSchema } from '../../src/lib/workflow/schema';
import { toIssues } from '../http-error';
import { queryInt, queryParams } from './validate';
import { requestToken, type WorkflowGuard } from './workflow-guard';

export interface JobRoutesOptions {
	dataDir: string;
	store: JobStore;
	jobs: JobManager;
	guard: WorkflowGuard;
	/** The operator's token: listing every job needs it, and retrying a posted job may. */
	admin: AdminAccess;
	/** Daily spend limits: a paused job resumes only when its budgets have something left. */
	budget?: SpendBudget;
	/** How the server calls the API: the estimate a finished job is compared with. */
	requestModel?: RequestModel;
}

/** Largest page of rows one request may ask for. */
export const MAX_ROWS_PAGE = 1_000;
/** Most job ids one `?ids=` list may name. */
export const MAX_LISTED_IDS = 100;

/** Job ids are UUIDs; anything else is unknown without a database round trip. */
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `GET /jobs` query: a page of a shared workflow's jobs, of the jobs named, or (operator) of all. */
export const HistoryQuerySchema = v.object({
	offset: queryInt(0, 1e9, 0),
	limit: queryInt(1, 100, 20),
	/** A shared workflow's jobs (with its token). */
	workflow_id: v.optional(v.pipe(v.string(), v.minLength(1, 'Give a workflow id'), v.maxLength(100))),
	/** The jobs the client holds, comma-separated: those it may read are listed, the rest left out. */
	ids: v.optional(
		v.pipe(
			v.string(),
			v.maxLength(MAX_LISTED_IDS * 40, `Give at most ${MAX_LISTED_IDS} job ids`),
			v.transform((s) => [
				...new Set(
					s
						.split(',')
						.map((id) => id.trim().toLowerCase())
						.filter(Boolean)
				)
			]),
			v.minLength(1, 'Give at least one job id'),
			v.maxLength(MAX_LISTED_IDS, `Give at most ${MAX_LISTED_IDS} job ids`),
			v.everyItem((id) => JOB_ID.test(id), 'Job ids are UUIDs, separated by commas')
		)
	)
});
/** `GET /jobs/:id/rows` query. */
export const RowsQuerySchema = v.object({
	offset: queryInt(0, 1e9, 0),
	limit: queryInt(1, MAX_ROWS_PAGE, 100),
	/** `only`: just the rows whose `_error` is non-empty, paged among themselves. */
	errors: v.optional(v.picklist(['only'], 'errors takes the value "only"'))
});

/** `GET /jobs/:id/cells` query: a range of the live grid (issue 12). */
export const CellsQuerySchema = v.object({
	offset: queryInt(0, 1e9, 0),
	limit: queryInt(1, MAX_ROWS_PAGE, 100),
	/** `only`: just the rows with a failed cell. */
	errors: v.optional(v.picklist(['only'], 'errors takes the value "only"')),
	/** Rows with a cell containing this text. */
	q: v.optional(v.pipe(v.string(), v.maxLength(200, 'Search for at most 200 characters')))
});

/** `POST /jobs/:id/retry` body (optional): re-run only some rows — these, or the failed ones. */
export const RetryBodySchema = v.pipe(
	v.strictObject({
		rows: v.optional(RowSelectionSchema),
		failed: v.optional(v.boolean('failed is true or false'))
	}),
	v.check((b) => !(b.rows && b.failed), 'Give rows or failed, not both')
);

/** The media type of an .xlsx download. */
export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * `Content-Disposition` for a download named `name` exactly: a plain quoted name when it is
 * printable ASCII (quotes and backslashes cannot be in an output name), else an ASCII stand-in
 * plus the exact name in RFC 5987 form, which browsers prefer.
 */
export function attachmentHeader(name: string): string {
	const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
	if (ascii === name) return `attachment; filename="${name}"`;
	const exact = encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
	return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

/** The retry body: none (the whole job again), `{ rows: [...] }` or `{ failed: true }`; 400 naming the field otherwise. */
async function retryBody(c: Context): Promise<v.InferOutput<typeof RetryBodySchema>> {
	const text = await c.req.text();
	if (text.trim() === '') return {};
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch {
		throw new HttpError(400, 'invalid_request', 'The request body is not JSON');
	}
	const result = v.safeParse(RetryBodySchema, json);
	if (!result.success) throw new HttpError(400, 'invalid_request', 'The request body is not valid', toIssues(result.issues));
	return result.output;
}

/** Sub-app mounted under `/api/workflows`. */
export function createJobRoutes(options: JobRoutesOptions) {
	const { dataDir, store, jobs, guard, admin, budget } = options;

	/** The job, once the request's token may do `level` on its workflow (if it has one). */
	async function load(c: Context, level: Access): Promise<JobRecord> {
		const id = c.req.param('id') ?? '';
		const job = JOB_ID.test(id) ? await store.get(id) : null;
		if (!job) throw notFound(`Job ${JSON.stringify(id.slice(0, 100))}`);
		await guard.requireIfOwned(job.workflowId, requestToken(c), level);
		return job;
	}

	async function progress(job: JobRecord) {
		const [blocks, sample] = await Promise.all([store.listBlocks(job.id), store.readRows(job.id, 0, SAMPLE_ROWS)]);
		return toJobProgress(job, blocks, sample, dataDir);
	}

	/** The named jobs the request may read, newest first; unknown ones and others' are left out. */
	async function held(ids: string[], token: string | null): Promise<JobRecord[]> {
		const found = await Promise.all(
			ids.map(async (id) => {
				const job = await store.get(id);
				if (!job) return null;
				// A refusal (401/403/404 of its workflow) only leaves the job out; anything else is a real failure.
				const readable = await guard.requireIfOwned(job.workflowId, token, 'view').then(
					() => true,
					(err: unknown) => {
						if (err instanceof HttpError) return false;
						throw err;
					}
				);
				return readable ? job : null;
			})
		);
		return found.filter((j): j is JobRecord => j !== null).sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
	}

	return new Hono()
		.get('/jobs', queryParams(HistoryQuerySchema), async (c) => {
			const { offset, limit, workflow_id: workflowId, ids } = c.req.valid('query');
			let page: { jobs: JobRecord[]; total: number };
			if (ids) {
				const mine = await held(ids, requestToken(c));
				page = { jobs: mine.slice(offset, offset + limit), total: mine.length };
			} else if (workflowId !== undefined) {
				await guard.require(workflowId, requestToken(c), 'view');
				page = await store.list({ offset, limit, workflowId });
			} else {
				admin.require(c, 'Listing every job (give ?workflow_id= with its token, or ?ids= of your jobs)');
				page = await store.list({ offset, limit });
			}
			const items = await Promise.all(page.jobs.map(async (job) => toJobSummary(job, await store.listBlocks(job.id), dataDir)));
			const body: JobsPage = { jobs: items, total: page.total, offset, limit };
			return c.json(body);
		})
		.get('/jobs/:id', async (c) => c.json(await progress(await load(c, 'view'))))
		.get('/jobs/:id/queue', async (c) => {
			const job = await load(c, 'view');
			const place: JobQueuePlace = await queuePlace({
				jobId: job.id,
				workflowId: job.workflowId,
				queue: jobs.queueState(),
				workflowOf: async (id) => (await store.get(id))?.workflowId ?? null,
				remainingOf: async (id) => {
					const other = await store.get(id);
					if (!other) return null;
					return toJobSummary(other, await store.listBlocks(id), dataDir).current_block_progress?.eta_s ?? null;
				}
			});
			return c.json(place);
		})
		.post('/jobs/:id/cancel', async (c) => {
			const job = await load(c, 'edit');
			const after = (await jobs.cancel(job.id)) ?? job;
			return c.json(await progress(after));
		})
		.post('/jobs/:id/retry', async (c) => {
			const job = await load(c, 'edit');
			// A retry spends money like a run: a posted job's retry answers to the same switch.
			if (job.workflowId === null) admin.requireForPostedRun(c);
			if (job.status === 'pending' || job.status === 'running') {
				throw new HttpError(409, 'conflict', 'The job is still running: cancel it or wait for it to finish');
			}
			if (job.status === 'paused') throw new HttpError(409, 'conflict', 'The job is paused: resume it or cancel it');
			const asked = await retryBody(c);
			let rows = asked.rows;
			let failedRowsLeft = 0;
			if (asked.failed) {
				const failed = await failedGridRows(store, job);
				if (failed.length === 0) throw new HttpError(409, 'conflict', 'No row of this job failed: nothing to retry');
				rows = failed.slice(0, MAX_SELECTED_ROWS);
				failedRowsLeft = failed.length - rows.length;
			}
			const next = await jobs.retry(job.id, rows);
			const body: RetryAnswer = {
				job_id: next!.id,
				status: next!.status,
				retry_of: job.id,
				workflow_id: next!.workflowId,
				rows_retried: rows?.length ?? null,
				failed_rows_left: failedRowsLeft
			};
			return c.json(body);
		})
		.post('/jobs/:id/resume', async (c) => {
			const job = await load(c, 'edit');
			// Resuming spends money like a run: a posted job answers to the same switch.
			if (job.workflowId === null) admin.requireForPostedRun(c);
			if (job.status !== 'paused')
				throw new HttpError(409, 'conflict', `Only a paused job can be resumed; this one is ${job.status}`);
			const short = budget?.shortfall(job.owner, null);
			if (short) {
				throw new HttpError(
					402,
					'budget_exceeded',
					`Nothing is left to spend: ${short.describe}. Resume after 00:00 UTC or raise ${short.setting}.`
				);
			}
			const after = (await jobs.resume(job.id)) ?? job;
			return c.json(await progress(after));
		})
		.get('/jobs/:id/rows', queryParams(RowsQuerySchema), async (c) => {
			const job = await load(c, 'view');
			const { offset, limit, errors } = c.req.valid('query');
			const errorsOnly = errors === 'only';
			const [rows, total] = errorsOnly
				? await Promise.all([store.readErrorRows(job.id, offset, limit), store.countErrorRows(job.id)])
				: [await store.readRows(job.id, offset, limit), job.rowCount];
			const body: RowsPage = {
				job_id: job.id,
				status: job.status,
				offset,
				limit,
				total,
				...(errorsOnly ? { errors: 'only' as const } : {}),
				columns: await columnsOf(store, job.id, job.columns),
				rows
			};
			return c.json(body);
		})
		.get('/jobs/:id/estimate', async (c) => {
			const job = await load(c, 'view');
			const body: EstimateVsActualAnswer = compareWithEstimate(job, await store.listBlocks(job.id), options.requestModel);
			return c.json(body);
		})
		.get('/jobs/:id/cells', queryParams(CellsQuerySchema), async (c) => {
			const job = await load(c, 'view');
			const { offset, limit, errors, q } = c.req.valid('query');
			const page = await readGridPage(store, job, { offset, limit, errorsOnly: errors === 'only', search: q?.trim() ?? '' });
			const body: GridPageAnswer = page;
			return c.json(body);
		})
		.get('/jobs/:id/download', async (c) => {
			const job = await load(c, 'view');
			if (job.status === 'pending' || job.status === 'running' || job.status === 'paused') {
				throw new HttpError(409, 'conflict', 'The job has not finished yet');
			}
			// Without a Save CSV output: the workflow's name. With one: the name its card shows.
			const fallback = `${
				job.workflow.name
					.replace(/[^A-Za-z0-9._-]+/g, '-')
					.replace(/^-+|-+$/g, '')
					.slice(0, 80) || 'results'
			}-${job.id.slice(0, 8)}`;
			const attach = (name: string, xlsx: boolean) => {
				c.header('Content-Type', xlsx ? XLSX_TYPE : 'text/csv; charset=utf-8');
				c.header('Content-Disposition', attachmentHeader(name));
				c.header('Cache-Control', 'no-store');
			};
			// The save_csv output when there is one (same bytes the job wrote: CSV or xlsx), else the stored rows as CSV.
			if (job.outputPath && job.status === 'completed') {
				const file = isAbsolute(job.outputPath) ? job.outputPath : join(dataDir, job.outputPath);
				const info = await stat(file).catch(() => null);
				if (info?.isFile()) {
					const xlsx = /\.xlsx$/i.test(file);
					attach(finalNameOf(job.id, basename(file)) ?? `${fallback}.${xlsx ? 'xlsx' : 'csv'}`, xlsx);
					c.header('Content-Length', String(info.size));
					return c.body(Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>);
				}
			}
			attach(`${fallback}.csv`, false);
			const columns = await columnsOf(store, job.id, job.columns);
			return c.body(rowsCsvStream(store, job.id, columns, job.rowCount));
		});
}
