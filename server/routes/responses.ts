/**
 * What the REST routes answer, as valibot schemas: the handlers build values of these types (so
 * `tsc` ties each answer to its schema and `hc<AppType>` infers the browser's types from them), and
 * the OpenAPI document (server/openapi) turns them into JSON Schema. Answers are built by the
 * server, not parsed at run time; tests/unit/openapi.test.ts checks real answers against them.
 * Requests are validated by the schemas each route file exports next to its handlers.
 */
import * as v from 'valibot';
import { AccessSchema, BlockProgressSchema, JobStatusSchema } from '../../src/lib/workflow/protocol';
import { BLOCK_TYPES, ROW_KINDS, WorkflowSchema } from '../../src/lib/workflow/schema';
import { SourceDialectSchema } from '../../src/lib/workflow/source-file';
import { WorkflowChangeSchema } from '../../src/lib/workflow/workflow-diff';

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Cents = v.pipe(v.number(), v.minValue(0));
const IsoTime = v.pipe(v.string(), v.isoTimestamp());

/** One cell: lists and objects from the API are stored as JSON text. */
export const CellSchema = v.union([v.string(), v.number(), v.boolean(), v.null()]);
/** A row: column → value. */
export const RowSchema = v.record(v.string(), CellSchema);

/** One problem, pointing at the field (`workflow.blocks.1.params.expression`). */
export const IssueSchema = v.object({
	path: v.string(),
	message: v.string(),
	/** For expressions: 0-based offset of the problem in the text, and how far it spans. */
	position: v.optional(Count),
	length: v.optional(Count)
});

/** Every 4xx and 5xx: a stable machine-readable `code`, a message for people, the fields at fault. */
export const ErrorBodySchema = v.object({
	error: v.object({ code: v.string(), message: v.string(), issues: v.optional(v.array(IssueSchema)) })
});

/** `GET /api/status`. */
export const StatusAnswerSchema = v.object({
	/** Where enrichment answers come from: the built-in simulator (no API key) or Sixtyfour. */
	enrichment: v.picklist(['simulator', 'sixtyfour']),
	upload_limit_bytes: Count
});
export type StatusAnswer = v.InferOutput<typeof StatusAnswerSchema>;

/** One block of `GET /api/workflows/blocks`. */
export const BlockDescriptionSchema = v.object({
	type: v.picklist(BLOCK_TYPES),
	label: v.string(),
	description: v.string(),
	category: v.picklist(['input', 'transform', 'enrichment', 'output']),
	uses_api: v.boolean(),
	/** Params a new block of this type starts with. */
	defaults: v.record(v.string(), v.unknown()),
	/** What rows the block takes and makes, with the default params. */
	row_kinds: v.object({ accepts: v.picklist(ROW_KINDS), produces: v.picklist([...ROW_KINDS, 'input', 'columns']) }),
	/** The params as JSON Schema, for generated forms. */
	params: v.record(v.string(), v.unknown())
});
export const BlocksAnswerSchema = v.object({ blocks: v.array(BlockDescriptionSchema) });
export type BlocksAnswer = v.InferOutput<typeof BlocksAnswerSchema>;

/** `GET /api/workflows/source`: what a read_csv path holds, read as its params say. */
export const SourceAnswerSchema = v.object({
	file_path: v.string(),
	columns: v.array(v.string()),
	/** Null when the file is too large to count on request. */
	row_count: v.nullable(Count),
	preview: v.array(RowSchema),
	/** How the file was read: delimiter and encoding (detected or chosen), sheet, renamed headers. */
	dialect: SourceDialectSchema,
	/** The name the file had on the uploader's computer (display only). */
	original_name: v.optional(v.string())
});
export type SourceAnswer = v.InferOutput<typeof SourceAnswerSchema>;

/** `POST /api/workflows/upload`: the stored file described, as the source route describes it. */
export const UploadAnswerSchema = v.object({
	...SourceAnswerSchema.entries,
	row_count: Count,
	original_name: v.string(),
	upload_id: v.string(),
	size_bytes: Count,
	/** The workflow the upload belongs to; null: anonymous. */
	workflow_id: v.nullable(v.string())
});
export type UploadAnswer = v.InferOutput<typeof UploadAnswerSchema>;

/** Upper bounds for one block of a run. */
export const BlockEstimateSchema = v.object({
	block_id: v.string(),
	block_type: v.picklist(BLOCK_TYPES),
	/** Most rows that can reach the block. */
	max_rows: v.nullable(Count),
	/** Most paid API calls (polls of async calls are free but count against the rate limit). */
	max_calls: v.nullable(Count),
	cents_per_call: Cents,
	max_cost_cents: v.nullable(Cents),
	/** API requests (submits, polls, bulk requests) one row is expected to cost in the server's mode. */
	requests_per_row: v.pipe(v.number(), v.minValue(0)),
	/** `max_rows × requests_per_row`: what the rate limit has to carry. */
	expected_requests: v.nullable(v.pipe(v.number(), v.minValue(0))),
	/** Least and most requests for `max_rows` uncached rows, polls included (retries after 429/5xx not). */
	requests_low: v.nullable(v.pipe(v.number(), v.minValue(0))),
	requests_high: v.nullable(v.pipe(v.number(), v.minValue(0)))
});

/** What a run could cost before it starts (null: no bound, e.g. after Find people). */
export const RunEstimateSchema = v.object({
	/** Rows in the input file (null when unknown). */
	input_rows: v.nullable(Count),
	/** Rows the run will read (`row_limit` applied). */
	rows: v.nullable(Count),
	blocks: v.array(BlockEstimateSchema),
	max_calls: v.nullable(Count),
	max_cost_cents: v.nullable(Cents),
	expected_requests: v.nullable(v.pipe(v.number(), v.minValue(0))),
	requests_low: v.nullable(v.pipe(v.number(), v.minValue(0))),
	requests_high: v.nullable(v.pipe(v.number(), v.minValue(0))),
	/** The key's rate limit now (requests/min), when known. */
	rate_limit_per_min: v.nullable(v.pipe(v.number(), v.minValue(0))),
	/** Seconds the rate limit alone implies for the requests (low, expected, high): the run cannot be faster. */
	seconds_at_rate_limit: v.nullable(
		v.object({
			low: v.pipe(v.number(), v.minValue(0)),
			expected: v.pipe(v.number(), v.minValue(0)),
			high: v.pipe(v.number(), v.minValue(0))
		})
	),
	assumptions: v.array(v.string())
});
export type RunEstimateAnswer = v.InferOutput<typeof RunEstimateSchema>;

/** One daily budget (null limit: none). */
export const BudgetLineSchema = v.object({
	limit_cents: v.nullable(Cents),
	spent_cents: Cents,
	left_cents: v.nullable(Cents)
});
export const BudgetStatusSchema = v.object({
	/** The UTC day counted (`YYYY-MM-DD`) and when the next one begins. */
	day: v.pipe(v.string(), v.isoDate()),
	resets_at: IsoTime,
	server: BudgetLineSchema,
	/** This workflow's budget (for a posted run: the posting address's). */
	workflow: BudgetLineSchema
});

/** `POST /api/workflows/run`: the queued job. */
export const RunAnswerSchema = v.object({
	job_id: v.string(),
	status: JobStatusSchema,
	workflow_id: v.nullable(v.string()),
	estimate: RunEstimateSchema,
	/** Things that will not stop the run but deserve a look (a column that may be missing…). */
	warnings: v.array(IssueSchema)
});
export type RunAnswer = v.InferOutput<typeof RunAnswerSchema>;

/** `POST /api/workflows/estimate`: the estimate, warnings, and today's budgets when limits are set. */
export const EstimateAnswerSchema = v.object({
	...RunEstimateSchema.entries,
	warnings: v.array(IssueSchema),
	budget: v.optional(BudgetStatusSchema)
});
export type EstimateAnswer = v.InferOutput<typeof EstimateAnswerSchema>;

/** A job in the history list: the progress view without blocks, sample rows and workflow. */
export const JobSummarySchema = v.object({
	job_id: v.string(),
	status: JobStatusSchema,
	current_block: v.nullable(v.string()),
	/**
	 * Rows the current block has finished (left its ordered output), out of the rows it will get;
	 * `answered`/`in_flight`/`requests`/`rows_per_s`/`eta_s` as in `results[]` (null while unknown).
	 */
	current_block_progress: v.nullable(
		v.object({
			done: Count,
			total: v.nullable(Count),
			errors: Count,
			answered: BlockProgressSchema.entries.answered,
			in_flight: BlockProgressSchema.entries.in_flight,
			requests: BlockProgressSchema.entries.requests,
			rows_per_s: v.optional(v.nullable(v.pipe(v.number(), v.finite(), v.minValue(0))), null),
			eta_s: BlockProgressSchema.entries.eta_s
		})
	),
	/** The save_csv file, relative to the data directory. */
	output_path: v.nullable(v.string()),
	error: v.nullable(v.string()),
	created_at: IsoTime,
	started_at: v.nullable(IsoTime),
	finished_at: v.nullable(IsoTime),
	workflow_id: v.nullable(v.string()),
	workflow_name: v.string(),
	retry_of: v.nullable(v.string()),
	/** The presence name of who started the run; null for retries, posted runs and older jobs. */
	started_by: v.nullable(v.string()),
	row_count: Count,
	columns: v.nullable(v.array(v.string())),
	totals: v.object({ calls: Count, cached: Count, cost_cents: Cents, errors: Count })
});
export type JobSummary = v.InferOutput<typeof JobSummarySchema>;

/** `GET /api/workflows/jobs/{id}`: a job's progress, every block of its workflow in order. */
export const JobProgressSchema = v.object({
	...JobSummarySchema.entries,
	results: v.array(BlockProgressSchema),
	/** The first rows of the final output; the rest is paged through `/rows`. */
	sample_data: v.array(RowSchema),
	/** The exact workflow the job runs: for a shared workflow, the snapshot taken at the start. */
	workflow: WorkflowSchema
});
export type JobProgress = v.InferOutput<typeof JobProgressSchema>;

/**
 * `GET /api/workflows/jobs/{id}/queue`: where a waiting job stands (server/jobs/queue-place.ts).
 * Other workflows' runs are only counted.
 */
export const JobQueuePlaceSchema = v.object({
	/** True while the job waits in this server's line. */
	waiting: v.boolean(),
	/** Runs that start before it, and how many of them are this workflow's. */
	ahead: Count,
	ahead_here: Count,
	/** Runs going now, and how many of them are this workflow's. */
	running: Count,
	running_here: Count,
	/** Roughly how many seconds until it starts (from the running runs' ETAs); null when unknowable. */
	wait_s: v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0)))
});
export type JobQueuePlace = v.InferOutput<typeof JobQueuePlaceSchema>;

/** `GET /api/workflows/jobs`: one page of the history, newest first. */
export const JobsPageSchema = v.object({ jobs: v.array(JobSummarySchema), total: Count, offset: Count, limit: Count });
export type JobsPage = v.InferOutput<typeof JobsPageSchema>;

/** `POST /api/workflows/jobs/{id}/retry`: the new job. */
export const RetryAnswerSchema = v.object({
	job_id: v.string(),
	status: JobStatusSchema,
	retry_of: v.string(),
	workflow_id: v.nullable(v.string()),
	/** How many rows the new job runs (null: all of them). */
	rows_retried: v.nullable(Count),
	/**
	 * With `{ "failed": true }`: failed rows left out of this retry, which takes at most 10,000
	 * (the first ones); retry failed rows again on the new job for the rest. 0 otherwise.
	 */
	failed_rows_left: Count
});
export type RetryAnswer = v.InferOutput<typeof RetryAnswerSchema>;

/** `GET /api/workflows/jobs/{id}/rows`: one page of the final rows. */
export const RowsPageSchema = v.object({
	job_id: v.string(),
	status: JobStatusSchema,
	offset: Count,
	limit: Count,
	total: Count,
	/** Present when only rows with an `_error` were asked for. */
	errors: v.optional(v.literal('only')),
	columns: v.array(v.string()),
	rows: v.array(RowSchema)
});
export type RowsPage = v.InferOutput<typeof RowsPageSchema>;

const NonNeg = v.pipe(v.number(), v.minValue(0));
/** `GET /api/workflows/jobs/{id}/estimate`: per API block, the estimate for the rows read beside what the run did. */
export const EstimateVsActualSchema = v.object({
	job_id: v.string(),
	estimate: RunEstimateSchema,
	blocks: v.array(
		v.object({
			block_id: v.string(),
			block_type: v.picklist(BLOCK_TYPES),
			estimate: v.object({
				max_rows: v.nullable(Count),
				max_calls: v.nullable(Count),
				max_cost_cents: v.nullable(NonNeg),
				expected_requests: v.nullable(NonNeg),
				requests_low: v.nullable(NonNeg),
				requests_high: v.nullable(NonNeg)
			}),
			actual: v.object({ rows: Count, calls: Count, cached: Count, errors: Count, requests: Count, cost_cents: NonNeg }),
			requests_per_call: v.object({ actual: v.nullable(NonNeg), low: NonNeg, expected: NonNeg, high: NonNeg }),
			within_bounds: v.boolean(),
			explanation: v.array(v.string())
		})
	)
});
export type EstimateVsActualAnswer = v.InferOutput<typeof EstimateVsActualSchema>;

/** One block's cell of one grid row (issue 12). */
export const GridCellSchema = v.object({
	state: v.picklist(['running', 'done', 'error', 'dropped']),
	cached: v.optional(v.boolean()),
	values: v.optional(RowSchema),
	error: v.optional(v.string()),
	rows: v.optional(Count),
	/** The job that wrote it (a re-run of some rows shows over the job it retried). */
	job_id: v.string()
});

/** `GET /api/workflows/jobs/{id}/cells`: a range of the live grid. */
export const GridPageSchema = v.object({
	job_id: v.string(),
	jobs: v.array(v.string()),
	offset: Count,
	limit: Count,
	total: Count,
	rows_read: Count,
	blocks: v.array(v.object({ block_id: v.string(), block_type: v.picklist(BLOCK_TYPES), columns: v.array(v.string()) })),
	rows: v.array(v.object({ row: Count, cells: v.record(v.string(), GridCellSchema) }))
});
export type GridPageAnswer = v.InferOutput<typeof GridPageSchema>;

/** `POST /api/workflows`: the new workflow and its two capability links. */
export const CreatedWorkflowSchema = v.object({
	id: v.string(),
	name: v.string(),
	/** `/w/<id>?token=<edit token>`: the link that lets its holder edit and run. */
	edit_url: v.string(),
	/** `/w/<id>?token=<view token>`: read-only. */
	view_url: v.string(),
	edit_token: v.string(),
	view_token: v.string()
});
export type CreatedWorkflow = v.InferOutput<typeof CreatedWorkflowSchema>;

/**
 * A shared workflow's live document as it is now: people may be mid-edit, so only its outline is
 * promised (a run validates it completely against `Workflow`).
 */
export const WorkflowDraftSchema = v.object({
	name: v.optional(v.string()),
	blocks: v.array(v.object({ id: v.string(), type: v.string(), params: v.record(v.string(), v.unknown()) }))
});

/** `GET /api/workflows/{id}`: the document's snapshot and what the token may do. */
export const WorkflowInfoSchema = v.object({
	id: v.string(),
	name: v.string(),
	access: AccessSchema,
	workflow: WorkflowDraftSchema,
	view_url: v.string(),
	/** Given to edit links only. */
	edit_url: v.optional(v.string())
});

/** `POST /api/sixtyfour/webhook/{secret}`: what became of the delivery. */
export const WebhookAnswerSchema = v.object({ outcome: v.picklist(['applied', 'duplicate', 'ignored']) });
export type WebhookAnswer = v.InferOutput<typeof WebhookAnswerSchema>;

/** One gallery card, as `GET /api/workflows/templates` answers it. */
export const TemplateSummarySchema = v.object({
	/** What `POST /api/workflows { template }` takes. */
	id: v.string(),
	name: v.string(),
	description: v.string(),
	/** The block chain, in order, with each block's display label. */
	blocks: v.array(v.object({ type: v.string(), label: v.string() })),
	/** The bundled sample the Read CSV block reads, and its data rows; null when it reads no sample. */
	sample: v.nullable(v.object({ path: v.string(), rows: v.number() }))
});
export type TemplateSummary = v.InferOutput<typeof TemplateSummarySchema>;

/** `GET /api/workflows/templates`: the gallery, simplest first. */
export const TemplatesAnswerSchema = v.object({ templates: v.array(TemplateSummarySchema) });

/** One version of a shared workflow (issue 13), as `GET /api/workflows/{id}/versions` lists it. */
export const VersionSummarySchema = v.object({
	id: Count,
	/** `auto`: after a pause in the edits; `named`: saved with a name; `run`: what a run ran; `restore`: just before a restore. */
	kind: v.picklist(['auto', 'named', 'run', 'restore']),
	name: v.nullable(v.string()),
	/** The run whose snapshot this is (`run` versions). */
	job_id: v.nullable(v.string()),
	/** Presence names of the people whose edits went into this version since the one before. */
	authors: v.array(v.string()),
	/** Who saved it, started the run or restored; null for automatic versions. */
	created_by: v.nullable(v.string()),
	created_at: IsoTime,
	/** What the version costs in the database: its Yjs update and state vector. */
	bytes: Count
});
export type VersionSummaryAnswer = v.InferOutput<typeof VersionSummarySchema>;

/** `GET /api/workflows/{id}/versions`: newest first; `next_before` pages on (null: no older ones). */
export const VersionsPageSchema = v.object({ versions: v.array(VersionSummarySchema), next_before: v.nullable(Count) });
export type VersionsPage = v.InferOutput<typeof VersionsPageSchema>;

/** `GET /api/workflows/{id}/versions/{version}`: the version and the workflow as it was then. */
export const VersionAnswerSchema = v.object({ version: VersionSummarySchema, workflow: WorkflowDraftSchema });
export type VersionAnswer = v.InferOutput<typeof VersionAnswerSchema>;

/** `GET /api/workflows/{id}/versions/{version}/diff`: what changed since that version, up to now. */
export const VersionDiffSchema = v.object({
	version: VersionSummarySchema,
	/** One line, e.g. `1 block added, 2 settings changed`. */
	summary: v.string(),
	changes: v.array(WorkflowChangeSchema),
	/** Each change as a sentence, in the same order. */
	lines: v.array(v.string())
});
export type VersionDiff = v.InferOutput<typeof VersionDiffSchema>;

/** `POST /api/workflows/{id}/versions/{version}/restore`: the workflow to apply, and the version saved just before. */
export const RestoreAnswerSchema = v.object({
	restored: VersionSummarySchema,
	/** The workflow as it was before the restore, saved so it can be found again. */
	saved: VersionSummarySchema,
	/** What the editor applies as one undoable edit. */
	workflow: WorkflowDraftSchema
});
export type RestoreAnswer = v.InferOutput<typeof RestoreAnswerSchema>;
