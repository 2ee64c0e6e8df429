/**
 * Typed calls to every REST route the browser uses. The answers' types are inferred from the app
 * itself (`hc<AppType>`), whose handlers build values of the answer schemas that the OpenAPI
 * document is generated from (server/routes/responses.ts): one source, no hand-written twin.
 * `import type` only: nothing from server/ or hono reaches the bundle.
 */
import type { hc, InferResponseType } from 'hono/client';
import type { RunOptions, WorkflowInput } from '$lib/workflow/schema';
import type { AppType } from '../../../server/app';
import { ApiError, requestJson, withQuery } from './http';

/** The typed client's routes, as `hc` sees them. */
type Api = ReturnType<typeof hc<AppType>>['api'];
type Workflows = Api['workflows'];
type Job = Workflows['jobs'][':id'];

/** `GET /api/status`: where enrichment answers come from, and the upload limit. */
export type ServerStatus = InferResponseType<Api['status']['$get']>;
/** What `POST /api/workflows` answers: the new workflow and its two capability links. */
export type CreatedWorkflow = InferResponseType<Workflows['$post'], 201>;
export type TemplatesAnswer = InferResponseType<Workflows['templates']['$get']>;
export type TemplateSummary = TemplatesAnswer['templates'][number];
export type WorkflowInfo = InferResponseType<Workflows[':id']['$get']>;
export type Access = WorkflowInfo['access'];
/** A file a read_csv block reads, described (`GET /api/workflows/source`; an upload answers more). */
export type UploadResult = InferResponseType<Workflows['source']['$get']>;
export type UploadAnswer = InferResponseType<Workflows['upload']['$post']>;
export type RunAnswer = InferResponseType<Workflows['run']['$post']>;
export type EstimateAnswer = InferResponseType<Workflows['estimate']['$post']>;
export type RunEstimate = RunAnswer['estimate'];
export type BudgetStatus = NonNullable<EstimateAnswer['budget']>;
export type JobProgress = InferResponseType<Job['$get']>;
export type JobsPage = InferResponseType<Workflows['jobs']['$get']>;
export type JobSummary = JobsPage['jobs'][number];
export type RetryAnswer = InferResponseType<Job['retry']['$post']>;
export type RowsPage = InferResponseType<Job['rows']['$get']>;
type Versions = Workflows[':id']['versions'];
export type VersionsPage = InferResponseType<Versions['$get']>;
export type VersionSummary = VersionsPage['versions'][number];
export type VersionDiff = InferResponseType<Versions[':version']['diff']['$get']>;
export type VersionAnswer = InferResponseType<Versions[':version']['$get']>;
export type RestoreAnswer = InferResponseType<Versions[':version']['restore']['$post']>;
export type JobQueuePlace = InferResponseType<Job['queue']['$get']>;
/** A range of the live grid (issue 12). */
export type GridPage = InferResponseType<Job['cells']['$get']>;
export type GridRow = GridPage['rows'][number];
export type GridCell = GridRow['cells'][string];
/** Estimate vs actual per API block of a job (issue 12). */
export type EstimateVsActual = InferResponseType<Job['estimate']['$get']>;

/** What the estimate said for the rows a job read, beside what the job did. */
export function getJobEstimate(jobId: string, token?: string | null, signal?: AbortSignal): Promise<EstimateVsActual> {
	return requestJson(withQuery(`/api/workflows/jobs/${encodeURIComponent(jobId)}/estimate`, { token: token ?? undefined }), {
		token,
		signal
	});
}

/** The token inside a `/w/<id>?token=…` link. */
export function tokenOfLink(url: string | undefined): string | null {
	if (!url) return null;
	try {
		return new URL(url, 'http://x').searchParams.get('token');
	} catch {
		return null;
	}
}

/** Creates a workflow: empty, from a gallery template, an example name (`basic`, `filtered`) or imported JSON. */
export function createWorkflow(input: { name?: string; from?: string | WorkflowInput; template?: string }): Promise<CreatedWorkflow> {
	return requestJson('/api/workflows', { method: 'POST', body: input });
}

/** The template gallery of the home page. */
export function listTemplates(signal?: AbortSignal): Promise<TemplatesAnswer> {
	return requestJson('/api/workflows/templates', { signal });
}

/** The current snapshot of a workflow and what this token may do with it. */
export function getWorkflow(id: string, token: string, signal?: AbortSignal): Promise<WorkflowInfo> {
	return requestJson(withQuery(`/api/workflows/${encodeURIComponent(id)}`, { token }), { token, signal });
}

/** URL of the JSON export (a download the import re-reads losslessly). */
export function exportUrl(id: string, token: string): string {
	return withQuery(`/api/workflows/${encodeURIComponent(id)}/export`, { token });
}

/** Uploads a CSV; the server chooses the stored name and answers with its columns and first rows. */
export function uploadCsv(file: File, token?: string | null, workflowId?: string): Promise<UploadAnswer> {
	const form = new FormData();
	// The workflow goes first (and in the URL): the server checks it before storing any byte.
	if (workflowId) form.set('workflow_id', workflowId);
	form.set('file', file);
	return requestJson(withQuery('/api/workflows/upload', { workflow_id: workflowId }), { method: 'POST', body: form, token });
}

/** How Read CSV is told to read its file (unset or `auto` = detected). */
export interface SourceReadParams {
	delimiter?: string;
	encoding?: string;
	sheet?: string;
}

/**
 * Columns, row count and first rows of a CSV a workflow reads (an upload or a sample), so everyone
 * on the workflow sees what the uploader saw. Null when the server does not know the path.
 */
export async function describeSource(path: string, token?: string | null, how: SourceReadParams = {}): Promise<UploadResult | null> {
	try {
		return await requestJson<UploadResult>(withQuery('/api/workflows/source', { path, ...how }), { token });
	} catch (e) {
		if (e instanceof ApiError && [400, 404, 405].includes(e.status)) return null;
		throw e;
	}
}

/**
 * Starts a run of the workflow's shared document (the server snapshots it and records which
 * snapshot ran). 400 → `ApiError.issues` with a path per problem.
 */
export function runWorkflow(workflowId: string, token: string, options: RunOptions = {}, startedBy?: string): Promise<RunAnswer> {
	const body = { workflow_id: workflowId, options, ...(startedBy?.trim() ? { started_by: startedBy.trim() } : {}) };
	return requestJson('/api/workflows/run', { method: 'POST', body, token });
}

/** Upper bounds for a run of the shared workflow before it starts: API calls per block and the cost. */
export function estimateRun(workflowId: string, options: RunOptions, token: string, signal?: AbortSignal): Promise<EstimateAnswer> {
	return requestJson('/api/workflows/estimate', { method: 'POST', body: { workflow_id: workflowId, options }, token, signal });
}

export function getJob(jobId: string, token?: string | null, signal?: AbortSignal): Promise<JobProgress> {
	return requestJson(`/api/workflows/jobs/${encodeURIComponent(jobId)}`, { token, signal });
}

/** Where a waiting job stands in the queue: runs ahead, runs going, roughly when it starts. */
export function getJobQueuePlace(jobId: string, token: string | null, signal?: AbortSignal): Promise<JobQueuePlace> {
	return requestJson(`/api/workflows/jobs/${encodeURIComponent(jobId)}/queue`, { token, signal });
}

/** The workflow's jobs, newest first. */
export function listJobs(workflowId: string, token: string, page: { offset?: number; limit?: number } = {}): Promise<JobsPage> {
	return requestJson(withQuery('/api/workflows/jobs', { workflow_id: workflowId, offset: page.offset, limit: page.limit ?? 20 }), {
		token
	});
}

export function cancelJob(jobId: string, token: string): Promise<JobProgress> {
	return requestJson(`/api/workflows/jobs/${encodeURIComponent(jobId)}/cancel`, { method: 'POST', token });
}

/** Queues a job paused at the spend limit again (402 while nothing is left of the budget). */
export function resumeJob(jobId: string, token: string): Promise<JobProgress> {
	return requestJson(`/api/workflows/jobs/${encodeURIComponent(jobId)}/resume`, { method: 'POST', token });
}

/**
 * A new job over the same input: thanks to the cache only the failed rows reach the API. With
 * `rows` only those input rows run, with `failed` only the rows that failed (the grid shows them
 * over this job's other rows).
 */
export function retryJob(jobId: string, token: string, only?: { rows: number[] } | { failed: true }): Promise<RetryAnswer> {
	return requestJson(`/api/workflows/jobs/${encodeURIComponent(jobId)}/retry`, { method: 'POST', token, body: only });
}

/** A range of the live grid: rows with every block's cell (`errors`: only rows with a failed cell; `q`: a search). */
export function getJobCells(
	jobId: string,
	query: { offset: number; limit: number; errors?: boolean; q?: string },
	token?: string | null,
	signal?: AbortSignal
): Promise<GridPage> {
	return requestJson(
		withQuery(`/api/workflows/jobs/${encodeURIComponent(jobId)}/cells`, {
			offset: query.offset,
			limit: query.limit,
			errors: query.errors ? 'only' : undefined,
			q: query.q ? query.q : undefined,
			token: token ?? undefined
		}),
		{ token, signal }
	);
}

export function getJobRows(
	jobId: string,
	query: { offset: number; limit: number; errors?: boolean },
	token?: string | null,
	signal?: AbortSignal
): Promise<RowsPage> {
	return requestJson(
		withQuery(`/api/workflows/jobs/${encodeURIComponent(jobId)}/rows`, {
			offset: query.offset,
			limit: query.limit,
			errors: query.errors ? 'only' : undefined,
			token: token ?? undefined
		}),
		{ token, signal }
	);
}

export function downloadUrl(jobId: string, token?: string | null): string {
	return withQuery(`/api/workflows/jobs/${encodeURIComponent(jobId)}/download`, { token: token ?? undefined });
}

const versionsPath = (workflowId: string) => `/api/workflows/${encodeURIComponent(workflowId)}/versions`;

/** The workflow's versions, newest first (`before`: the next page). */
export function listVersions(workflowId: string, token: string, page: { before?: number; limit?: number } = {}): Promise<VersionsPage> {
	return requestJson(withQuery(versionsPath(workflowId), { limit: page.limit ?? 50, before: page.before }), { token });
}

/** One version and the workflow as it was then. */
export function getVersion(workflowId: string, version: number, token: string, signal?: AbortSignal): Promise<VersionAnswer> {
	return requestJson(`${versionsPath(workflowId)}/${version}`, { token, signal });
}

/** What changed since version `version`, up to now. */
export function diffVersion(workflowId: string, version: number, token: string, signal?: AbortSignal): Promise<VersionDiff> {
	return requestJson(`${versionsPath(workflowId)}/${version}/diff`, { token, signal });
}

/** Saves the workflow as it is now under `name` (edit link). */
export function createVersion(workflowId: string, token: string, name: string, author?: string): Promise<VersionSummary> {
	return requestJson(versionsPath(workflowId), { method: 'POST', body: { name, ...(author ? { author } : {}) }, token });
}

/** The version's workflow to apply (edit link); the server saves the current state first. */
export function restoreVersion(workflowId: string, version: number, token: string, author?: string): Promise<RestoreAnswer> {
	return requestJson(`${versionsPath(workflowId)}/${version}/restore`, {
		method: 'POST',
		body: author ? { author } : {},
		token
	});
}

/** Whether the server answers enrichment calls with its built-in simulator (no API key set). */
export function getStatus(signal?: AbortSignal): Promise<ServerStatus> {
	return requestJson('/api/status', { signal });
}
