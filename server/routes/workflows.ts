/**
 * Shared workflows as resources (mounted under `/api/workflows`):
 * - `POST /`            `{ name?, from? | template? }` → a new workflow and its edit and view links. `from`
 *                       is an example name (`data/examples/<name>.json`) or a Workflow JSON to import;
 *                       `template` is a gallery template id (an unknown one is a 404).
 * - `GET /templates`    the template gallery: each template's name, description, blocks and sample size.
 * - `GET /:id`          the document's current snapshot and what the token may do.
 * - `GET /:id/export`   the snapshot as a download that `from` re-imports as it is.
 * The document lives in the collaboration server; it is reached through the injected `docs`.
 */
import * as v from 'valibot';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowSchema, type Workflow, type WorkflowInput } from '../../src/lib/workflow/schema';
import { requireWorkflowAccess } from '../access';
import { BUNDLED_SAMPLES_DIR } from '../files/csv-path';
import { badRequest, HttpError, toIssues } from '../http-error';
import type { WorkflowsRepo } from '../store/workflows-repo';
import { GALLERY, listTemplates, loadTemplate, type TemplateOptions } from '../workflow-templates';
import type { CreatedWorkflow } from './responses';
import { jsonBody, MAX_ISSUES } from './validate';

/** The collaborative documents, as this resource needs them (the collab server implements it). */
export interface WorkflowDocs {
	/** Creates the document of a new workflow with this content. */
	createDoc(id: string, workflow: Workflow): Promise<void>;
	/** The document's current content as Workflow JSON (it may be mid-edit, so not validated). */
	snapshot(id: string): Promise<WorkflowInput>;
}

export interface WorkflowRoutesOptions {
	workflows: WorkflowsRepo;
	docs: WorkflowDocs;
	/** Directory of the example workflows (`basic.json`, `filtered.json`…). */
	examplesDir: string;
	/** Directory of the bundled samples the templates read (default `data/samples`). */
	samplesDir?: string;
	/** Largest request body; the app has its own limit, this keeps the sub-app safe alone. */
	maxBodyBytes?: number;
}

const EXAMPLE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const DEFAULT_NAME = 'Untitled workflow';

/** `POST /` body: a name, and what to start from (an example name or a Workflow JSON to import). */
export const CreateWorkflowBodySchema = v.strictObject({
	name: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'The name is empty'), v.maxLength(200))),
	from: v.optional(v.union([v.string(), v.record(v.string(), v.unknown())], 'Give an example name or a workflow object to import')),
	/** A template id from `GET /templates`: the new workflow is a copy of it, reading its bundled sample. */
	template: v.optional(v.pipe(v.string(), v.maxLength(64)))
});

/** The links people share: the page of the workflow with one of its tokens. */
export const workflowUrl = (id: string, token: string) => `/w/${id}?token=${token}`;

/**
 * Creates the sub-app.
 * @example app.route('/api/workflows', createWorkflowRoutes({ workflows, docs, examplesDir }))
 */
export function createWorkflowRoutes(options: WorkflowRoutesOptions) {
	const { workflows, docs, examplesDir } = options;
	const templates = { examplesDir, samplesDir: options.samplesDir ?? BUNDLED_SAMPLES_DIR };
	const maxBodyBytes = options.maxBodyBytes ?? 2 * 1024 * 1024;
	const limit = bodyLimit({
		maxSize: maxBodyBytes,
		onError: () => {
			throw new HttpError(413, 'payload_too_large', `The request body is larger than ${maxBodyBytes} bytes`);
		}
	});

	return new Hono()
		.post('/', limit, jsonBody(CreateWorkflowBodySchema), async (c) => {
			const body = c.req.valid('json');
			if (body.template !== undefined && body.from !== undefined)
				throw badRequest('Give either a template or a workflow to start from, not both', [
					{ path: 'template', message: 'Not with from' }
				]);
			const source =
				body.template !== undefined
					? await templateWorkflow(body.template, templates)
					: await resolveSource(body.from, examplesDir);
			const workflow: Workflow = { ...source, name: body.name ?? (source.name || DEFAULT_NAME) };
			const record = await workflows.create({ name: workflow.name });
			try {
				await docs.createDoc(record.id, workflow);
			} catch (err) {
				await workflows.delete(record.id);
				throw err;
			}
			const created: CreatedWorkflow = {
				id: record.id,
				name: record.name,
				edit_url: workflowUrl(record.id, record.editToken),
				view_url: workflowUrl(record.id, record.viewToken),
				edit_token: record.editToken,
				view_token: record.viewToken
			};
			return c.json(created, 201);
		})
		.get('/templates', async (c) => c.json({ templates: await listTemplates(templates) }))
		.get('/:id', requireWorkflowAccess({ workflows, level: 'view' }), async (c) => {
			const record = c.var.workflow;
			const access = c.var.access;
			const workflow = await docs.snapshot(record.id);
			c.header('Cache-Control', 'no-store');
			return c.json({
				id: record.id,
				name: workflow.name ?? record.name,
				access,
				workflow,
				view_url: workflowUrl(record.id, record.viewToken),
				// Only an editor may hand out the edit link again.
				...(access === 'edit' ? { edit_url: workflowUrl(record.id, record.editToken) } : {})
			});
		})
		.get('/:id/export', requireWorkflowAccess({ workflows, level: 'view' }), async (c) => {
			const record = c.var.workflow;
			const workflow = await docs.snapshot(record.id);
			const filename = `${slug(workflow.name ?? record.name)}.json`;
			c.header('Content-Type', 'application/json; charset=utf-8');
			c.header('Content-Disposition', `attachment; filename="${filename}"`);
			c.header('Cache-Control', 'no-store');
			return c.body(`${JSON.stringify(workflow, null, 2)}\n`);
		});
}

/** The template's workflow, or a 404 that lists the templates there are. */
async function templateWorkflow(id: string, options: TemplateOptions): Promise<Workflow> {
	const found = await loadTemplate(id, options);
	if (found) return found.workflow;
	throw new HttpError(404, 'not_found', `There is no template "${id.slice(0, 64)}". Templates: ${GALLERY.join(', ')}.`);
}

/** The type the browser client infers requests and answers from (`import type` only). */
export type WorkflowRoutes = ReturnType<typeof createWorkflowRoutes>;

/** Nothing, an example name, or an imported object → a valid Workflow, or a 400 naming the problem. */
async function resolveSource(from: string | Record<string, unknown> | undefined, examplesDir: string): Promise<Workflow> {
	if (from === undefined) return { name: DEFAULT_NAME, blocks: [] };
	if (typeof from === 'string') return loadExample(from, examplesDir);
	const result = v.safeParse(WorkflowSchema, from);
	if (!result.success) {
		const issues = toIssues(result.issues, 'from');
		throw badRequest('The imported workflow is not valid', issues.slice(0, MAX_ISSUES));
	}
	return result.output;
}

async function loadExample(name: string, examplesDir: string): Promise<Workflow> {
	const unknown = async () => {
		const names = await listExamples(examplesDir);
		const known = names.length ? ` Examples: ${names.join(', ')}.` : '';
		return badRequest(`There is no example named "${name.slice(0, 80)}".${known}`, [{ path: 'from', message: 'Unknown example' }]);
	};
	if (!EXAMPLE_NAME.test(name)) throw await unknown();
	let text: string;
	try {
		text = await readFile(join(examplesDir, `${name}.json`), 'utf8');
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw await unknown();
		throw err;
	}
	// A broken example is our bug, not the caller's: it surfaces as a 500 (and in the examples test).
	return v.parse(WorkflowSchema, JSON.parse(text));
}

/** Names of the examples on disk, for an error message that helps. */
export async function listExamples(examplesDir: string): Promise<string[]> {
	try {
		const files = await readdir(examplesDir);
		return files
			.filter((f) => f.endsWith('.json'))
			.map((f) => f.slice(0, -'.json'.length))
			.sort();
	} catch {
		return [];
	}
}

function slug(name: string): string {
	const s = name
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '-')
		.replace(/^-+|-+$/g, '')
		.slice(0, 60);
	return s || 'workflow';
}
