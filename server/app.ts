/**
 * The REST API as one Hono app: one sub-app per resource mounted under `/api`, one error handler
 * that gives every 4xx/5xx the same shape, body-size limits, and a JSON 404 for unknown routes.
 * Transport-free: `startServer` (index.ts) mounts it on node:http, tests call `app.request()`.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { createAdminAccess, type AdminAccessOptions } from './admin-access';
import { clientAddress, limitRequests, type ApiRateLimitRule, type ClientRateLimit } from './client-rate-limit';
import { HttpError, toErrorResponse } from './http-error';
import type { JobManager } from './jobs/job-manager';
import type { SpendBudget } from './jobs/spend-budget';
import type { RequestModel } from './jobs/estimate';
import { createApiDocsRoutes } from './routes/api-docs';
import { createBlockRoutes } from './routes/blocks';
import { createJobRoutes } from './routes/jobs';
import { createSourceClassifier } from './jobs/source-access';
import { createRunRoutes } from './routes/runs';
import { createSourceRoutes } from './routes/sources';
import { createStatusRoutes } from './routes/status';
import { createUploadRoutes } from './routes/uploads';
import { createWebhookRoutes, type WebhookRoutesOptions } from './routes/sixtyfour-webhook';
import { createWorkflowGuard } from './routes/workflow-guard';
import type { JobStore } from './store/job-store';
import type { WorkflowsRepo } from './store/workflows-repo';
import type { WorkflowDocs, WorkflowRoutes } from './routes/workflows';
import type { UploadStore } from './store/upload-store';
import type { VersionHistory } from './history/version-history';
import { createVersionRoutes, type VersionRoutes } from './routes/versions';

/** Largest JSON body (a 100-block workflow with long research plans fits easily). */
export const JSON_BODY_LIMIT = 2 * 1024 * 1024;

export interface AppDeps {
	/** Absolute data directory (uploads, outputs, samples). */
	dataDir: string;
	uploadLimitBytes: number;
	jobs: JobManager;
	jobStore: JobStore;
	uploads: UploadStore;
	logger: Logger;
	/** True when the built-in simulator answers instead of the real Sixtyfour API. */
	simulated: boolean;
	/**
	 * Issue 4 mounts its shared-workflow routes here (`POST /api/workflows`, `GET /api/workflows/:id`,
	 * `GET /api/workflows/:id/export`). Mounted after this app's own `/api/workflows/*` routes so
	 * `/blocks`, `/jobs`, `/upload`… are never taken for a workflow id.
	 */
	workflowRoutes?: WorkflowRoutes;
	/** Shared workflows (issue 4): token checks and document snapshots for runs, jobs and uploads. */
	shared?: SharedWorkflows;
	/** Per-client limits on creations, uploads and runs (`createApiRateLimit`); absent: none. */
	rateLimits?: ClientRateLimit<ApiRateLimitRule>;
	/** The operator's token and what it is needed for; absent: no operator (every job list closed). */
	admin?: AdminAccessOptions;
	/** Daily spend limits (runs are refused, paused jobs resumed against them); none: no limit. */
	budget?: SpendBudget;
	/** Key posted runs on `X-Forwarded-For` (see client-rate-limit.ts). Default false. */
	trustProxy?: boolean;
	/** How the server calls the API, for the estimate's requests per row. */
	requestModel?: RequestModel;
	/** The key's rate limit now (requests/min): the estimate's time at the rate limit (issue 12). */
	rateLimitPerMinute?: () => number | null;
	/** With PUBLIC_URL: the async tasks' completion POSTs (`/api/sixtyfour/webhook/:secret`). */
	webhooks?: WebhookRoutesOptions;
}

/** What the REST routes need of shared workflows. */
export interface SharedWorkflows {
	workflows: WorkflowsRepo;
	docs: WorkflowDocs;
	/** Version history (issue 13): `/:id/versions` routes, and a version per run. */
	versions?: VersionHistory;
}

/**
 * Builds the API app.
 * @example const app = createApp(deps); const res = await app.request('/api/workflows/blocks')
 */
export function createApp(deps: AppDeps) {
	const { logger } = deps;
	const jsonLimit = bodyLimit({
		maxSize: JSON_BODY_LIMIT,
		onError: () => {
			throw new HttpError(413, 'payload_too_large', `The request body is larger than ${JSON_BODY_LIMIT / 1024 / 1024} MB`);
		}
	});

	// Runs, jobs, uploads and sources of a shared workflow answer to its tokens (see workflow-guard.ts).
	const guard = createWorkflowGuard(deps.shared?.workflows);
	const classify = createSourceClassifier({ dataDir: deps.dataDir, uploads: deps.uploads, jobs: deps.jobStore });
	const { dataDir, budget } = deps;
	const admin = createAdminAccess(deps.admin ?? { token: undefined, requireForPostedRuns: false });
	const limit = (rule: ApiRateLimitRule) => limitRequests(deps.rateLimits, rule);
	// On node:http the Hono env carries the request (@hono/node-server); `app.request()` has none.
	const clientOf = (c: Context) => {
		const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
		return incoming ? clientAddress(incoming, deps.trustProxy ?? false) : 'local';
	};

	const workflows = new Hono()
		// Uploads stream to disk with their own limit; every other body is JSON and small.
		.use('*', async (c, next) => (c.req.path.endsWith('/upload') ? next() : jsonLimit(c, next)))
		// Per-client limits sit on the routes they guard (same method and path as the handlers
		// below), so the router — not a second reading of the raw path — decides what counts.
		.post('/', limit('workflows'))
		.post('/upload', limit('uploads'))
		.post('/run', limit('runs'))
		.post('/jobs/:id/retry', limit('runs'))
		.post('/jobs/:id/resume', limit('runs'))
		.route('/', createBlockRoutes())
		.route('/', createUploadRoutes({ dataDir, uploads: deps.uploads, maxBytes: deps.uploadLimitBytes, logger, guard }))
		.route('/', createSourceRoutes({ dataDir, classify, guard }))
		.route(
			'/',
			createRunRoutes({
				dataDir,
				jobs: deps.jobs,
				classify,
				guard,
				docs: deps.shared?.docs,
				admin,
				budget,
				clientOf,
				requestModel: deps.requestModel,
				rateLimitPerMinute: deps.rateLimitPerMinute,
				versions: deps.shared?.versions,
				onVersionError: (err) => logger.warn({ err }, 'could not record the version a run ran')
			})
		)
		.route(
			'/',
			createJobRoutes({ dataDir, store: deps.jobStore, jobs: deps.jobs, guard, admin, budget, requestModel: deps.requestModel })
		)
		// Version history (issue 13): after the job routes, so `/jobs/…` is never a workflow id.
		.route(
			'/',
			deps.shared?.versions
				? createVersionRoutes({ workflows: deps.shared.workflows, versions: deps.shared.versions, docs: deps.shared.docs })
				: (new Hono() as VersionRoutes)
		)
		// Last, so `/blocks`, `/jobs`… are never taken for a workflow id. Without shared workflows an
		// empty app stands in: no routes at run time, while `AppType` still carries theirs for the client.
		.route('/', deps.workflowRoutes ?? (new Hono() as WorkflowRoutes));

	const api = new Hono()
		.route('/', createStatusRoutes({ simulated: deps.simulated, uploadLimitBytes: deps.uploadLimitBytes }))
		.route('/', createApiDocsRoutes())
		.route('/workflows', workflows);
	if (deps.webhooks) api.route('/sixtyfour', createWebhookRoutes(deps.webhooks));

	const app = new Hono().route('/api', api);

	app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
	app.onError((err, c) => {
		const { status, body, internal } = toErrorResponse(err);
		if (internal) logger.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
		else logger.debug({ status, code: body.error.code, path: c.req.path }, 'request refused');
		return c.json(body, status);
	});
	return app;
}

/** The app's type, for the browser's typed client (`hc<AppType>`; `import type` only). */
export type AppType = ReturnType<typeof createApp>;
