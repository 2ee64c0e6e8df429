/**
 * Starting runs: `POST /api/workflows/run` validates a workflow completely (schema, files, filter
 * expressions, column flow) before anything is queued, and `POST /api/workflows/estimate` answers
 * what a run could cost without starting it. Both share one request schema and one check.
 *
 * Two kinds of request:
 * - `{ workflow_id, options? }`: a shared workflow. The server snapshots the room's document (any
 *   posted `workflow` is ignored: the document is the truth), validates it, and the job records the
 *   workflow id and that snapshot. Running needs the edit token, estimating the view token.
 * - `{ workflow, options? }`: a workflow posted as JSON, as the seed had it. The job belongs to no
 *   workflow (its unguessable id is its capability), so it reads samples and anonymous uploads
 *   only, never a shared workflow's upload or output.
 *
 * Every job has an owner — the workflow id, or `client:<address>` for a posted run — that the
 * queue takes turns on and the per-workflow spend limit counts against. A run whose cost bound
 * exceeds what is left of a daily budget is refused (402) before it is queued. A run with no bound
 * (Find people feeding paid blocks) is refused only when a budget is used up: refusing it always
 * would make such workflows unrunnable, and the limit inside the run pauses it at the budget anyway.
 */
import { Hono, type Context } from 'hono';
import * as v from 'valibot';
import { RunOptionsSchema, WorkflowSchema, type RunOptions, type Workflow } from '../../src/lib/workflow/schema';
import { ID_PATTERN, type Access } from '../access';
import type { AdminAccess } from '../admin-access';
import { HttpError, toIssues, type Issue } from '../http-error';
import { estimateRun, type RequestModel } from '../jobs/estimate';
import type { JobManager } from '../jobs/job-manager';
import { dollars, type SpendBudget } from '../jobs/spend-budget';
import { checkRun } from '../jobs/validate-run';
import type { CsvSource } from '../jobs/source-access';
import type { WorkflowDocs } from './workflows';
import type { EstimateAnswer, RunAnswer } from './responses';
import { jsonBodyBy, MAX_ISSUES } from './validate';
import type { VersionHistory } from '../history/version-history';

/** Longest presence name (the page cuts names at 40 too). */
const NAME_CHARS = 40;
import { requestToken, type WorkflowGuard } from './workflow-guard';

/**
 * Who starts the run: their presence name, shown in the run history (issue 13). Self-declared,
 * like the name people show in presence: it says who, it proves nothing.
 */
export const StartedBySchema = v.pipe(
	v.string('The name is text'),
	v.trim(),
	v.minLength(1, 'The name is empty'),
	v.maxLength(NAME_CHARS, `At most ${NAME_CHARS} characters`)
);

/** `{ workflow, options? }`: a workflow posted as JSON (an anonymous job). */
export const PostedRunRequestSchema = v.object({
	workflow: WorkflowSchema,
	options: v.optional(RunOptionsSchema, {}),
	started_by: v.optional(StartedBySchema)
});

/** `{ workflow_id, options? }`: the shared workflow's current document runs; `workflow` is ignored. */
export const SharedRunRequestSchema = v.object({
	workflow_id: v.pipe(v.string(), v.regex(ID_PATTERN, 'This is not a workflow id')),
	options: v.optional(RunOptionsSchema, {}),
	workflow: v.optional(v.unknown()),
	started_by: v.optional(StartedBySchema)
});

/** Either request; which one is meant is told by `workflow_id`. */
export const RunRequestSchema = v.union([SharedRunRequestSchema, PostedRunRequestSchema]);
export type RunRequest = v.InferOutput<typeof RunRequestSchema>;

const isShared = (body: unknown) => typeof body === 'object' && body !== null && (body as Record<string, unknown>).workflow_id != null;
const runBody = jsonBodyBy((body) => (isShared(body) ? SharedRunRequestSchema : PostedRunRequestSchema));

export interface RunRoutesOptions {
	dataDir: string;
	jobs: JobManager;
	/** Classifies read_csv files (upload, sample, output…) and says whose they are. */
	classify: (file: string) => Promise<CsvSource>;
	guard: WorkflowGuard;
	/** The shared documents; without them `workflow_id` requests find no workflow (404). */
	docs?: WorkflowDocs;
	/** With REQUIRE_ADMIN_FOR_POSTED_RUNS, a posted workflow runs for the operator only. */
	admin: AdminAccess;
	/** Daily spend limits checked before a run is queued; none: no limit. */
	budget?: SpendBudget;
	/** The requesting client's address (owner of posted runs); default `local`. */
	clientOf?: (c: Context) => string;
	/** How the server calls the API (async, webhooks, bulk): the estimate's requests per row. */
	requestModel?: RequestModel;
	/** Version history: a shared workflow's run records the version that ran (issue 13). */
	versions?: Pick<VersionHistory, 'record'>;
	/** Where a failure to record that version is told (the run goes on regardless). */
	onVersionError?: (error: unknown) => void;
	/** The key's rate limit now (requests/min): the time the estimate's requests take at it. */
	rateLimitPerMinute?: () => number | null;
}

const problems = (issues: Issue[]) => {
	const n = issues.length;
	return new HttpError(
		400,
		'invalid_workflow',
		`The workflow cannot run: ${n} problem${n === 1 ? '' : 's'}`,
		issues.slice(0, MAX_ISSUES)
	);
};

/** Sub-app mounted under `/api/workflows`. */
export function createRunRoutes(options: RunRoutesOptions) {
	const { dataDir, jobs, classify, guard, docs, admin, budget } = options;
	const ownerOf = (c: Context, workflowId: string | null) => workflowId ?? `client:${options.clientOf?.(c) ?? 'local'}`;

	/** 402 when the run's cost bound does not fit in what is left of a budget today. */
	function checkBudget(owner: string, maxCostCents: number | null) {
		const short = budget?.shortfall(owner, maxCostCents);
		if (!short) return;
		const bound =
			maxCostCents === null ? 'This run has no cost bound before it starts' : `This run could cost up to ${dollars(maxCostCents)}`;
		const advice = maxCostCents === null ? 'Wait for tomorrow' : 'Run fewer rows (row_limit), wait for tomorrow';
		throw new HttpError(402, 'budget_exceeded', `${bound}, and ${short.describe}. ${advice}, or raise ${short.setting}.`);
	}

	/** What runs, and whose files it may read; a shared workflow's run needs `level` on it. */
	async function resolve(body: RunRequest, token: string | null, level: Access) {
		if ('workflow_id' in body) {
			const workflowId = body.workflow_id;
			await guard.require(workflowId, token, level);
			if (!docs) throw new HttpError(404, 'not_found', 'Workflow not found');
			const parsed = v.safeParse(WorkflowSchema, await docs.snapshot(workflowId));
			if (!parsed.success) throw problems(toIssues(parsed.issues, 'workflow'));
			return { workflow: parsed.output, options: body.options, workflowId, mayReadOwned: (owner: string) => owner === workflowId };
		}
		// A posted workflow makes an anonymous job, which anyone with its id can read: it never reads
		// a shared workflow's files, whatever token comes along.
		return { workflow: body.workflow, options: body.options, workflowId: null, mayReadOwned: () => false };
	}

	async function plan(run: { workflow: Workflow; options: RunOptions; mayReadOwned: (owner: string) => boolean | Promise<boolean> }) {
		const { issues, warnings, sources } = await checkRun(run.workflow, { dataDir, classify, mayReadOwned: run.mayReadOwned });
		if (issues.length > 0) throw problems(issues);
		const rows = Object.fromEntries(Object.entries(sources).map(([id, s]) => [id, s.rowCount]));
		const estimate = estimateRun(run.workflow, run.options, rows, options.requestModel, options.rateLimitPerMinute?.() ?? null);
		return { estimate, warnings };
	}

	return new Hono()
		.post('/run', runBody, async (c) => {
			const body = c.req.valid('json');
			if (!('workflow_id' in body)) admin.requireForPostedRun(c);
			const run = await resolve(body, requestToken(c), 'edit');
			const { estimate, warnings } = await plan(run);
			const owner = ownerOf(c, run.workflowId);
			checkBudget(owner, estimate.max_cost_cents);
			const startedBy = body.started_by ?? null;
			const job = await jobs.submit({ workflow: run.workflow, options: run.options, workflowId: run.workflowId, owner, startedBy });
			if (run.workflowId !== null && options.versions) {
				try {
					await options.versions.record(run.workflowId, { kind: 'run', jobId: job.id, createdBy: startedBy });
				} catch (error) {
					// History is a record, not a gate: the run is queued either way.
					options.onVersionError?.(error);
				}
			}
			const answer: RunAnswer = { job_id: job.id, status: job.status, workflow_id: run.workflowId, estimate, warnings };
			return c.json(answer);
		})
		.post('/estimate', runBody, async (c) => {
			const run = await resolve(c.req.valid('json'), requestToken(c), 'view');
			const { estimate, warnings } = await plan(run);
			const answer: EstimateAnswer = {
				...estimate,
				warnings,
				...(budget ? { budget: budget.status(ownerOf(c, run.workflowId)) } : {})
			};
			return c.json(answer);
		});
}
