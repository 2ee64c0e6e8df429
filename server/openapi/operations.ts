/**
 * Every REST route as the OpenAPI document describes it: method, path, the schemas its validators
 * use (imported from the route files, so the document and the checks are the same objects), the
 * schema of its answer (server/routes/responses.ts) and the errors it may give. The document
 * (document.ts) is built from this list; tests/unit/openapi.test.ts checks that the list and the
 * app's router hold the same routes and calls each one.
 */
import type { JsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { RunOptionsSchema, WorkflowSchema } from '../../src/lib/workflow/schema';
import { WebhookBodySchema } from '../enrichment/task-webhooks';
import { ID_PATTERN } from '../access';
import { CellsQuerySchema, HistoryQuerySchema, JOB_ID, RetryBodySchema, RowsQuerySchema, XLSX_TYPE } from '../routes/jobs';
import * as answers from '../routes/responses';
import { PostedRunRequestSchema, SharedRunRequestSchema } from '../routes/runs';
import { SourceQuerySchema } from '../routes/sources';
import { UploadQuerySchema } from '../routes/uploads';
import { CreateWorkflowBodySchema } from '../routes/workflows';
import { CreateVersionBodySchema, RestoreVersionBodySchema, VersionIdSchema, VersionsQuerySchema } from '../routes/versions';

/**
 * The named schemas of the document (`#/components/schemas/<name>`): request bodies converted as
 * they are sent (defaults optional), answers as they come back.
 */
export const REQUEST_SCHEMAS = {
	Workflow: WorkflowSchema,
	RunOptions: RunOptionsSchema,
	CreateWorkflowRequest: CreateWorkflowBodySchema,
	SharedRunRequest: SharedRunRequestSchema,
	PostedRunRequest: PostedRunRequestSchema,
	WebhookDelivery: WebhookBodySchema,
	CreateVersionRequest: CreateVersionBodySchema,
	RestoreVersionRequest: RestoreVersionBodySchema,
	RetryRequest: RetryBodySchema
} as const;

export const ANSWER_SCHEMAS = {
	Error: answers.ErrorBodySchema,
	Issue: answers.IssueSchema,
	Row: answers.RowSchema,
	Status: answers.StatusAnswerSchema,
	BlockDescription: answers.BlockDescriptionSchema,
	Blocks: answers.BlocksAnswerSchema,
	Source: answers.SourceAnswerSchema,
	Upload: answers.UploadAnswerSchema,
	RunEstimate: answers.RunEstimateSchema,
	BudgetStatus: answers.BudgetStatusSchema,
	RunAnswer: answers.RunAnswerSchema,
	EstimateAnswer: answers.EstimateAnswerSchema,
	JobSummary: answers.JobSummarySchema,
	JobProgress: answers.JobProgressSchema,
	JobsPage: answers.JobsPageSchema,
	RetryAnswer: answers.RetryAnswerSchema,
	RowsPage: answers.RowsPageSchema,
	JobQueuePlace: answers.JobQueuePlaceSchema,
	GridPage: answers.GridPageSchema,
	EstimateVsActual: answers.EstimateVsActualSchema,
	GridCell: answers.GridCellSchema,
	CreatedWorkflow: answers.CreatedWorkflowSchema,
	TemplateSummary: answers.TemplateSummarySchema,
	Templates: answers.TemplatesAnswerSchema,
	WorkflowDraft: answers.WorkflowDraftSchema,
	WorkflowInfo: answers.WorkflowInfoSchema,
	WebhookAnswer: answers.WebhookAnswerSchema,
	Version: answers.VersionSummarySchema,
	VersionsPage: answers.VersionsPageSchema,
	VersionAnswer: answers.VersionAnswerSchema,
	VersionDiff: answers.VersionDiffSchema,
	RestoreAnswer: answers.RestoreAnswerSchema
} as const;

export type AnswerName = keyof typeof ANSWER_SCHEMAS;

/** How a request may prove what it may do (see access.ts, admin-access.ts). */
export type Auth =
	/** Nothing needed. */
	| 'none'
	/** A shared workflow's link token when the resource belongs to one; anonymous ones need none. */
	| 'link-if-owned'
	/** A shared workflow's link token (edit or view, as the route says). */
	| 'link'
	/** As `link-if-owned`; without a workflow, the operator's ADMIN_TOKEN. */
	| 'link-or-admin';

export interface Operation {
	method: 'get' | 'post';
	/** OpenAPI path (`/api/workflows/jobs/{id}`). */
	path: string;
	operationId: string;
	tag: 'Status' | 'Workflows' | 'Versions' | 'Files' | 'Runs' | 'Jobs' | 'Webhooks';
	summary: string;
	description?: string;
	auth: Auth;
	/** Path parameters: name → schema and what it is. */
	params?: Record<string, { schema: v.GenericSchema; description: string }>;
	/** The query string's schema (a `v.object`, as `queryParams` validates it). */
	query?: v.ObjectSchema<v.ObjectEntries, undefined>;
	/** What each query parameter is, where the schema does not say. */
	queryDocs?: Record<string, string>;
	/** A JSON body: one named request schema, or any of several. */
	body?: { json: (keyof typeof REQUEST_SCHEMAS)[]; example: unknown } | { multipart: true };
	/** The success answer: JSON of a named schema, or other media (downloads, pages): a name or a JSON Schema each. */
	answer:
		| { status: 200 | 201; json: AnswerName; description: string }
		| { status: 200; media: Record<string, AnswerName | JsonSchema>; description: string };
	/** Error statuses the route may answer, each with the `Error` body. */
	errors: number[];
	/** Mounted only under a setting (the document says which). */
	mountedWith?: string;
}

/** Job ids are UUIDs; workflow ids are base64url. */
const JobId = { schema: v.pipe(v.string(), v.regex(JOB_ID)), description: 'The job id (a UUID)' };
const WorkflowId = { schema: v.pipe(v.string(), v.regex(ID_PATTERN)), description: 'The workflow id' };
/** Errors every JSON-body route may give besides its own: not JSON, too large, rate-limited. */
const JSON_BODY_ERRORS = [400, 413, 415];
const EXAMPLE_WORKFLOW_ID = 'Qk3v9xY2mN8pL4tR7wZ1aB';
const VersionId = { schema: VersionIdSchema, description: 'The version id (a positive whole number)' };

export const OPERATIONS: Operation[] = [
	{
		method: 'get',
		path: '/api/status',
		operationId: 'getStatus',
		tag: 'Status',
		auth: 'none',
		summary: 'Where enrichment answers come from, and the upload limit',
		answer: { status: 200, json: 'Status', description: 'The server status' },
		errors: []
	},
	{
		method: 'get',
		path: '/api/openapi.json',
		operationId: 'getOpenApiDocument',
		tag: 'Status',
		auth: 'none',
		summary: 'This document: OpenAPI 3.1, generated from the schemas the routes validate with',
		answer: {
			status: 200,
			media: { 'application/json': { type: 'object', description: 'An OpenAPI 3.1 document' } },
			description: 'The document'
		},
		errors: []
	},
	{
		method: 'get',
		path: '/api/docs',
		operationId: 'getApiReference',
		tag: 'Status',
		auth: 'none',
		summary: 'This document as a readable HTML reference (static: no script)',
		answer: { status: 200, media: { 'text/html': { type: 'string' } }, description: 'The reference page' },
		errors: []
	},
	{
		method: 'get',
		path: '/api/workflows/blocks',
		operationId: 'listBlocks',
		tag: 'Workflows',
		auth: 'none',
		summary: 'The block catalogue, each block’s params as JSON Schema',
		answer: { status: 200, json: 'Blocks', description: 'Every block type, in palette order' },
		errors: []
	},
	{
		method: 'post',
		path: '/api/workflows',
		operationId: 'createWorkflow',
		tag: 'Workflows',
		auth: 'none',
		summary: 'Create a shared workflow: empty, from a template or an example, or from imported Workflow JSON',
		description: 'Answers the workflow’s edit and view links; each token is the only key to it (keep the edit one private).',
		body: { json: ['CreateWorkflowRequest'], example: { name: 'US founders', from: 'basic' } },
		answer: { status: 201, json: 'CreatedWorkflow', description: 'The new workflow and its links' },
		errors: [...JSON_BODY_ERRORS, 404, 429]
	},
	{
		method: 'get',
		path: '/api/workflows/templates',
		operationId: 'listTemplates',
		tag: 'Workflows',
		auth: 'none',
		summary: 'The template gallery: each template’s name, description, block chain and bundled sample size',
		answer: { status: 200, json: 'Templates', description: 'Every template, simplest first' },
		errors: []
	},
	{
		method: 'get',
		path: '/api/workflows/{id}',
		operationId: 'getWorkflow',
		tag: 'Workflows',
		auth: 'link',
		summary: 'A shared workflow’s current document and what the token may do',
		params: { id: WorkflowId },
		answer: { status: 200, json: 'WorkflowInfo', description: 'The snapshot' },
		errors: [401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/{id}/export',
		operationId: 'exportWorkflow',
		tag: 'Workflows',
		auth: 'link',
		summary: 'Download the workflow as JSON that `createWorkflow` re-imports as it is',
		params: { id: WorkflowId },
		answer: { status: 200, media: { 'application/json': 'WorkflowDraft' }, description: 'The workflow JSON, as an attachment' },
		errors: [401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/{id}/versions',
		operationId: 'listVersions',
		tag: 'Versions',
		auth: 'link',
		summary:
			'The workflow’s versions, newest first: automatic (after a pause in the edits), named, one per run, one before each restore',
		description:
			'Each lists the presence names of the people whose edits went into it and what it costs to store (bytes). A view token suffices.',
		params: { id: WorkflowId },
		query: VersionsQuerySchema,
		queryDocs: { limit: 'Versions per page (1–100)', before: 'Only versions older than this id (`next_before` of the page before)' },
		answer: { status: 200, json: 'VersionsPage', description: 'One page of versions' },
		errors: [400, 401, 403, 404]
	},
	{
		method: 'post',
		path: '/api/workflows/{id}/versions',
		operationId: 'createVersion',
		tag: 'Versions',
		auth: 'link',
		summary: 'Save the workflow as it is now as a named version (edit token)',
		params: { id: WorkflowId },
		body: { json: ['CreateVersionRequest'], example: { name: 'Before the big import', author: 'Ada' } },
		answer: { status: 201, json: 'Version', description: 'The new version' },
		errors: [...JSON_BODY_ERRORS, 401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/{id}/versions/{version}',
		operationId: 'getVersion',
		tag: 'Versions',
		auth: 'link',
		summary: 'One version and the workflow as it was then (view token)',
		params: { id: WorkflowId, version: VersionId },
		answer: { status: 200, json: 'VersionAnswer', description: 'The version' },
		errors: [400, 401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/{id}/versions/{version}/diff',
		operationId: 'diffVersion',
		tag: 'Versions',
		auth: 'link',
		summary: 'What changed since a version, up to now: blocks added, removed, moved, params changed (view token)',
		params: { id: WorkflowId, version: VersionId },
		answer: { status: 200, json: 'VersionDiff', description: 'The changes, as data and as sentences' },
		errors: [400, 401, 403, 404]
	},
	{
		method: 'post',
		path: '/api/workflows/{id}/versions/{version}/restore',
		operationId: 'restoreVersion',
		tag: 'Versions',
		auth: 'link',
		summary: 'Restore a version (edit token): the current state is saved as a version, and the version’s workflow is answered',
		description:
			'The editor applies the answered workflow as one undoable edit that every collaborator sees; a view link gets 403 here, and its document updates are dropped by the room.',
		params: { id: WorkflowId, version: VersionId },
		body: { json: ['RestoreVersionRequest'], example: { author: 'Ada' } },
		answer: {
			status: 200,
			json: 'RestoreAnswer',
			description: 'The version restored, the version saved before, the workflow to apply'
		},
		errors: [...JSON_BODY_ERRORS, 401, 403, 404]
	},
	{
		method: 'post',
		path: '/api/workflows/upload',
		operationId: 'uploadFile',
		tag: 'Files',
		auth: 'link-if-owned',
		summary: 'Upload a CSV or .xlsx file (multipart field `file`) for a read_csv block',
		description:
			'With `workflow_id` (form field or query) and its edit token the file belongs to that workflow; without, it is anonymous.',
		query: UploadQuerySchema,
		queryDocs: { workflow_id: 'The workflow the file is for: checked before any byte is stored' },
		body: { multipart: true },
		answer: { status: 200, json: 'Upload', description: 'The stored file: its path for read_csv, columns, first rows' },
		errors: [400, 401, 403, 404, 413, 415, 429]
	},
	{
		method: 'get',
		path: '/api/workflows/source',
		operationId: 'describeSource',
		tag: 'Files',
		auth: 'link-if-owned',
		summary: 'Columns, row count and first rows of a file a read_csv block reads',
		query: SourceQuerySchema,
		queryDocs: {
			path: 'The read_csv `path` (`uploads/…`, `samples/…`, `outputs/…`)',
			delimiter: 'Read with this delimiter (`auto`: detected)',
			encoding: 'Read in this encoding (`auto`: detected)',
			sheet: 'For an .xlsx file: the sheet to read'
		},
		answer: { status: 200, json: 'Source', description: 'The file, as the block would read it' },
		errors: [400, 401, 403, 404]
	},
	{
		method: 'post',
		path: '/api/workflows/run',
		operationId: 'runWorkflow',
		tag: 'Runs',
		auth: 'link-or-admin',
		summary: 'Validate and queue a run: a shared workflow (`workflow_id`, edit token) or a posted Workflow JSON',
		description:
			'Refused with 400 and one issue per problem before anything is queued; 402 when the cost bound exceeds a daily budget.',
		body: { json: ['SharedRunRequest', 'PostedRunRequest'], example: { workflow_id: EXAMPLE_WORKFLOW_ID, options: { row_limit: 10 } } },
		answer: { status: 200, json: 'RunAnswer', description: 'The queued job, its estimate and warnings' },
		errors: [...JSON_BODY_ERRORS, 401, 402, 403, 404, 429]
	},
	{
		method: 'post',
		path: '/api/workflows/estimate',
		operationId: 'estimateRun',
		tag: 'Runs',
		auth: 'link-if-owned',
		summary: 'What a run could cost, without starting it (view token suffices)',
		body: { json: ['SharedRunRequest', 'PostedRunRequest'], example: { workflow_id: EXAMPLE_WORKFLOW_ID, options: {} } },
		answer: { status: 200, json: 'EstimateAnswer', description: 'Upper bounds per block, warnings, today’s budgets' },
		errors: [...JSON_BODY_ERRORS, 401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/jobs',
		operationId: 'listJobs',
		tag: 'Jobs',
		auth: 'link-or-admin',
		summary: 'A page of jobs, newest first: a shared workflow’s (with its token), those named in `ids`, or every job (operator)',
		query: HistoryQuerySchema,
		queryDocs: {
			offset: 'Jobs to skip',
			limit: 'Jobs per page (1–100)',
			workflow_id: 'A shared workflow’s jobs (needs its token)',
			ids: 'Comma-separated job ids: those the request may read are listed'
		},
		answer: { status: 200, json: 'JobsPage', description: 'One page of the history' },
		errors: [400, 401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/jobs/{id}',
		operationId: 'getJob',
		tag: 'Jobs',
		auth: 'link-if-owned',
		summary: 'A job’s progress: status, every block’s counters, the first rows',
		params: { id: JobId },
		answer: { status: 200, json: 'JobProgress', description: 'The job' },
		errors: [401, 403, 404]
	},
	{
		method: 'post',
		path: '/api/workflows/jobs/{id}/cancel',
		operationId: 'cancelJob',
		tag: 'Jobs',
		auth: 'link-if-owned',
		summary: 'Cancel a job (edit token); a finished job is answered as it is',
		params: { id: JobId },
		answer: { status: 200, json: 'JobProgress', description: 'The job after the cancel' },
		errors: [401, 403, 404]
	},
	{
		method: 'post',
		path: '/api/workflows/jobs/{id}/retry',
		operationId: 'retryJob',
		tag: 'Jobs',
		auth: 'link-or-admin',
		summary: 'Run a finished job again as a new job (cached rows cost nothing): all of it, some rows, or the failed rows',
		description:
			'No body: the whole job again. `{ "rows": [3, 17] }`: only those input rows (0 = the first data row); `{ "failed": true }`: the rows with a failed cell. The grid of a partial re-run shows the retried job’s other rows.',
		params: { id: JobId },
		body: { json: ['RetryRequest'], example: { rows: [0, 4] } },
		answer: { status: 200, json: 'RetryAnswer', description: 'The new job' },
		errors: [400, 401, 403, 404, 409, 429]
	},
	{
		method: 'post',
		path: '/api/workflows/jobs/{id}/resume',
		operationId: 'resumeJob',
		tag: 'Jobs',
		auth: 'link-or-admin',
		summary: 'Queue a job paused at a daily spend limit again',
		params: { id: JobId },
		answer: { status: 200, json: 'JobProgress', description: 'The job, pending again' },
		errors: [401, 402, 403, 404, 409, 429]
	},
	{
		method: 'get',
		path: '/api/workflows/jobs/{id}/queue',
		operationId: 'getJobQueuePlace',
		tag: 'Jobs',
		auth: 'link-if-owned',
		summary: 'Where a waiting job stands: runs ahead of it (and how many are this workflow’s), runs going, roughly when it starts',
		params: { id: JobId },
		answer: { status: 200, json: 'JobQueuePlace', description: 'Its place in the queue' },
		errors: [401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/jobs/{id}/rows',
		operationId: 'getJobRows',
		tag: 'Jobs',
		auth: 'link-if-owned',
		summary: 'A page of a job’s final rows (or only those with an `_error`)',
		params: { id: JobId },
		query: RowsQuerySchema,
		queryDocs: { offset: 'Rows to skip', limit: 'Rows per page (1–1000)', errors: '`only`: just the rows whose `_error` is set' },
		answer: { status: 200, json: 'RowsPage', description: 'One page of rows' },
		errors: [400, 401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/jobs/{id}/estimate',
		operationId: 'getJobEstimate',
		tag: 'Jobs',
		auth: 'link-if-owned',
		summary: 'Estimate vs actual: per API block, the estimate for the rows the run read beside what it did, the difference explained',
		params: { id: JobId },
		answer: { status: 200, json: 'EstimateVsActual', description: 'The comparison' },
		errors: [401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/jobs/{id}/cells',
		operationId: 'getJobCells',
		tag: 'Jobs',
		auth: 'link-if-owned',
		summary: 'A range of the live grid: each row read, with every block’s cell (running, answered, failed, dropped)',
		params: { id: JobId },
		query: CellsQuerySchema,
		queryDocs: {
			offset: 'Rows to skip',
			limit: 'Rows per page (1–1000)',
			errors: '`only`: just the rows with a failed cell',
			q: 'Only rows with a cell containing this text'
		},
		answer: { status: 200, json: 'GridPage', description: 'One range of rows' },
		errors: [400, 401, 403, 404]
	},
	{
		method: 'get',
		path: '/api/workflows/jobs/{id}/download',
		operationId: 'downloadJob',
		tag: 'Jobs',
		auth: 'link-if-owned',
		summary: 'Download a finished job’s result: its save_csv file (CSV or .xlsx), else the rows as CSV',
		params: { id: JobId },
		answer: {
			status: 200,
			media: { 'text/csv': { type: 'string' }, [XLSX_TYPE]: { type: 'string', contentMediaType: XLSX_TYPE } },
			description: 'The result file, as an attachment'
		},
		errors: [401, 403, 404, 409]
	},
	{
		method: 'post',
		path: '/api/sixtyfour/webhook/{secret}',
		operationId: 'deliverWebhook',
		tag: 'Webhooks',
		auth: 'none',
		summary: 'Sixtyfour’s completion POST for an async task this server submitted',
		description:
			'Called by Sixtyfour, not by clients. The secret path segment is the credential: a wrong one is answered like an unknown route.',
		params: { secret: { schema: v.pipe(v.string(), v.minLength(32)), description: 'The server’s webhook secret' } },
		body: { json: ['WebhookDelivery'], example: { task_id: 'task_8f2c', status: 'completed', result: {} } },
		answer: { status: 200, json: 'WebhookAnswer', description: 'What became of the delivery' },
		errors: [400, 404, 413],
		mountedWith: 'PUBLIC_URL'
	}
];
