/**
 * A shared workflow's version history (issue 13), mounted under `/api/workflows`:
 * - `GET  /:id/versions?limit=&before=`        the versions, newest first (view token)
 * - `GET  /:id/versions/:version`              one version and the workflow as it was (view token)
 * - `GET  /:id/versions/:version/diff`         what changed since that version, up to now (view token)
 * - `POST /:id/versions` `{ name, author? }`    save the workflow as it is now under a name (edit token)
 * - `POST /:id/versions/:version/restore` `{ author? }`  save the current state, answer the version's
 *   workflow (edit token). The editor applies it as ONE transaction with its undo origin, so Undo
 *   reverts the restore and every collaborator sees it as an ordinary edit; the server checks the
 *   edit token here, and a view link's document updates are dropped by the room anyway.
 */
import { Hono } from 'hono';
import { validator } from 'hono/validator';
import * as v from 'valibot';
import { describeChange, diffWorkflows, summarizeChanges } from '../../src/lib/workflow/workflow-diff';
import { requireWorkflowAccess, type WorkflowLookup, type WorkflowTokens } from '../access';
import type { VersionHistory, VersionSummary } from '../history/version-history';
import { HttpError, notFound, toIssues } from '../http-error';
import type { RestoreAnswer, VersionAnswer, VersionDiff, VersionSummaryAnswer, VersionsPage } from './responses';
import { StartedBySchema } from './runs';
import { jsonBody, queryInt, queryParams } from './validate';
import type { WorkflowDocs } from './workflows';

/** A version id in a path: a positive whole number. */
export const VersionIdSchema = v.pipe(
	v.string(),
	v.regex(/^[1-9]\d{0,14}$/, 'A version id is a positive whole number'),
	v.transform(Number)
);

export const VersionsQuerySchema = v.object({
	limit: queryInt(1, 100, 50),
	/** Versions older than this id (the page after one that ended with it). */
	before: v.optional(VersionIdSchema)
});

/** Longest version name. */
const NAME_CHARS = 80;

/** `POST /:id/versions`: a name for the workflow as it is now, and who saves it. */
export const CreateVersionBodySchema = v.strictObject({
	name: v.pipe(
		v.string('Give the version a name'),
		v.trim(),
		v.minLength(1, 'The name is empty'),
		v.maxLength(NAME_CHARS, `At most ${NAME_CHARS} characters`)
	),
	/** The saver's presence name. */
	author: v.optional(StartedBySchema)
});

/** `POST /:id/versions/:version/restore`: who restores. */
export const RestoreVersionBodySchema = v.strictObject({ author: v.optional(StartedBySchema) });

export interface VersionRoutesOptions {
	workflows: WorkflowLookup<WorkflowTokens & { id: string }>;
	versions: VersionHistory;
	docs: WorkflowDocs;
}

/** The `:version` path parameter, validated: 400 naming `version`. */
const versionParam = validator('param', (params: Record<string, string>) => {
	const result = v.safeParse(VersionIdSchema, params.version);
	if (!result.success) throw new HttpError(400, 'invalid_request', 'The version id is not valid', toIssues(result.issues, 'version'));
	return { id: params.id!, version: result.output };
});

/** A version as the API answers it. */
export function toVersionAnswer(version: VersionSummary): VersionSummaryAnswer {
	return {
		id: version.id,
		kind: version.kind,
		name: version.name,
		job_id: version.jobId,
		authors: version.authors,
		created_by: version.createdBy,
		created_at: new Date(version.createdAt).toISOString(),
		bytes: version.bytes
	};
}

/**
 * @example app.route('/api/workflows', createVersionRoutes({ workflows, versions, docs }))
 */
export function createVersionRoutes(options: VersionRoutesOptions) {
	const { workflows, versions, docs } = options;
	const view = requireWorkflowAccess({ workflows, level: 'view' });
	const edit = requireWorkflowAccess({ workflows, level: 'edit' });

	async function found(workflowId: string, id: number) {
		const version = await versions.get(workflowId, id);
		if (!version) throw notFound('Version');
		const workflow = await versions.workflowAt(workflowId, id);
		if (!workflow) throw notFound('Version');
		return { version, workflow };
	}

	return new Hono()
		.get('/:id/versions', view, queryParams(VersionsQuerySchema), async (c) => {
			const { limit, before } = c.req.valid('query');
			const list = await versions.list(c.var.workflow.id, { limit: limit + 1, before });
			const page = list.slice(0, limit);
			const answer: VersionsPage = {
				versions: page.map(toVersionAnswer),
				next_before: list.length > limit ? page[page.length - 1]!.id : null
			};
			return c.json(answer);
		})
		.post('/:id/versions', edit, jsonBody(CreateVersionBodySchema), async (c) => {
			const { name, author } = c.req.valid('json');
			const version = await versions.record(c.var.workflow.id, { kind: 'named', name, createdBy: author ?? null });
			return c.json(toVersionAnswer(version), 201);
		})
		.get('/:id/versions/:version', view, versionParam, async (c) => {
			const { version, workflow } = await found(c.var.workflow.id, c.req.valid('param').version);
			const answer: VersionAnswer = { version: toVersionAnswer(version), workflow };
			return c.json(answer);
		})
		.get('/:id/versions/:version/diff', view, versionParam, async (c) => {
			const { version, workflow } = await found(c.var.workflow.id, c.req.valid('param').version);
			const changes = diffWorkflows(workflow, await docs.snapshot(c.var.workflow.id));
			const answer: VersionDiff = {
				version: toVersionAnswer(version),
				summary: summarizeChanges(changes),
				changes,
				lines: changes.map(describeChange)
			};
			return c.json(answer);
		})
		.post('/:id/versions/:version/restore', edit, versionParam, jsonBody(RestoreVersionBodySchema), async (c) => {
			const workflowId = c.var.workflow.id;
			const id = c.req.valid('param').version;
			const { author } = c.req.valid('json');
			const { version, workflow } = await found(workflowId, id);
			const saved = await versions.record(workflowId, {
				kind: 'restore',
				name: `Before restoring version ${id}`,
				createdBy: author ?? null
			});
			const answer: RestoreAnswer = { restored: toVersionAnswer(version), saved: toVersionAnswer(saved), workflow };
			return c.json(answer);
		});
}

/** The type the browser client infers requests and answers from (`import type` only). */
export type VersionRoutes = ReturnType<typeof createVersionRoutes>;
