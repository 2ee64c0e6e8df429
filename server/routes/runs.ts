/**
 * Starting runs: `POST /api/workflows/run` validates a workflow completely (schema, files, filter
 * expressions, column flow) before anything is queued, and `POST /api/workflows/estimate` answers
 * what a run could cost without starting it. Both share one request schema and one check.
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { RunOptionsSchema, WorkflowSchema } from '../../src/lib/workflow/schema';
import { HttpError } from '../http-error';
import { estimateRun } from '../jobs/estimate';
import type { JobManager } from '../jobs/job-manager';
import { checkRun } from '../jobs/validate-run';
import type { UploadStore } from '../store/upload-store';
import { jsonBody, MAX_ISSUES } from './validate';

/**
 * `{ workflow, options? }`. Issue 4 extends this with `{ workflow_id }` (run the shared document's
 * current snapshot): add it as a second variant here, resolve it to a Workflow, then the same check.
 */
export const RunRequestSchema = v.object({
	workflow: WorkflowSchema,
	options: v.optional(RunOptionsSchema, {})
});
export type RunRequest = v.InferOutput<typeof RunRequestSchema>;

export interface RunRoutesOptions {
	dataDir: string;
	uploads: UploadStore;
	jobs: JobManager;
}

/** Sub-app mounted under `/api/workflows`. */
export function createRunRoutes(options: RunRoutesOptions) {
	const { dataDir, uploads, jobs } = options;

	async function plan(body: RunRequest) {
		const { issues, warnings, sources } = await checkRun(body.workflow, { dataDir, uploads });
		if (issues.length > 0) {
			const n = issues.length;
			throw new HttpError(
				400,
				'invalid_workflow',
				`The workflow cannot run: ${n} problem${n === 1 ? '' : 's'}`,
				issues.slice(0, MAX_ISSUES)
			);
		}
		const rows = Object.fromEntries(Object.entries(sources).map(([id, s]) => [id, s.rowCount]));
		return { estimate: estimateRun(body.workflow, body.options, rows), warnings };
	}

	return new Hono()
		.post('/run', jsonBody(RunRequestSchema), async (c) => {
			const body = c.req.valid('json');
			const { estimate, warnings } = await plan(body);
			const job = await jobs.submit({ workflow: body.workflow, options: body.options });
			return c.json({ job_id: job.id, status: job.status, estimate, warnings });
		})
		.post('/estimate', jsonBody(RunRequestSchema), async (c) => {
			const { estimate, warnings } = await plan(c.req.valid('json'));
			return c.json({ ...estimate, warnings });
		});
}
