/**
 * The API app with shared workflows, as server/shared-workflows.ts wires it (workflows repository,
 * the collab server's documents, the workflow routes), over `createTestApp`'s store and job
 * manager: for route tests of runs, jobs, uploads and sources that belong to a workflow.
 */
import { join } from 'node:path';
import * as Y from 'yjs';
import { createApp } from '../../server/app';
import { createCollabServer, type CollabServer } from '../../server/collab';
import { createLogger } from '../../server/log';
import { collabWorkflowDocs } from '../../server/routes/workflow-docs';
import { createWorkflowRoutes } from '../../server/routes/workflows';
import { createSqliteWorkflowsRepo, type WorkflowsRepo } from '../../server/store/workflows-repo';
import { createSqliteVersionStore } from '../../server/store/version-store';
import { createVersionHistory, type VersionHistory, type VersionHistoryOptions } from '../../server/history/version-history';
import type { WorkflowInput } from '../../src/lib/workflow/schema';
import { createTestApp, uploadForm, type TestApp, type TestAppOptions } from './test-app';

const EXAMPLES_DIR = join(import.meta.dirname, '../../data/examples');

/** A workflow created through `POST /api/workflows`, with its two tokens. */
export interface TestWorkflow {
	id: string;
	editToken: string;
	viewToken: string;
}

export interface SharedTestApp extends TestApp {
	collab: CollabServer;
	workflows: WorkflowsRepo;
	/** Version history over the same database (issue 13). */
	versions: VersionHistory;
	/** The room's live document (edit it with the doc.ts functions, as a browser would). */
	doc(id: string): Promise<Y.Doc>;
	/** Creates a workflow through the API from a Workflow JSON (or an example name). */
	createWorkflow(from: WorkflowInput | string): Promise<TestWorkflow>;
	/** Uploads a CSV for `workflow` with its edit token; returns the stored `file_path`. */
	uploadFor(workflow: TestWorkflow, csv: string): Promise<string>;
}

/** Authorization header of a token (none for null). */
export const bearer = (token: string | null): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

export interface SharedTestAppOptions extends TestAppOptions {
	/** Version history settings (idle time, clock, timers) for tests of automatic versions. */
	versions?: Partial<Omit<VersionHistoryOptions, 'store' | 'getDoc'>>;
}

export async function createSharedTestApp(options: SharedTestAppOptions = {}): Promise<SharedTestApp> {
	const base = await createTestApp(options);
	const workflows = createSqliteWorkflowsRepo(base.store);
	const versions = createVersionHistory({
		store: createSqliteVersionStore(base.store),
		getDoc: (id) => collab.getDoc(id),
		...options.versions
	});
	const collab = createCollabServer({
		db: base.store,
		authorize: async (id, token) => ((await workflows.get(id)) ? ((await workflows.authorize(id, token)) ?? 'forbidden') : null),
		onEdit: (id, doc, author) => versions.noteEdit(id, doc, author)
	});
	const docs = collabWorkflowDocs(collab);
	const app = createApp({
		dataDir: base.dataDir,
		uploadLimitBytes: options.uploadLimitBytes ?? 1024 * 1024,
		jobs: base.jobs,
		jobStore: base.jobStore,
		uploads: base.uploads,
		logger: createLogger({ level: 'silent' }),
		simulated: true,
		workflowRoutes: createWorkflowRoutes({ workflows, docs, examplesDir: EXAMPLES_DIR }),
		shared: { workflows, docs, versions },
		admin: { token: options.adminToken, requireForPostedRuns: false },
		webhooks: options.webhooks
	});

	return {
		dataDir: base.dataDir,
		store: base.store,
		// A getter (it throws on PostgreSQL): spreading `base` would call it.
		get db() {
			return base.db;
		},
		jobs: base.jobs,
		jobStore: base.jobStore,
		uploads: base.uploads,
		app,
		collab,
		workflows,
		versions,
		doc: (id) => collab.getDoc(id),
		async createWorkflow(from) {
			const res = await app.request('/api/workflows', {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ from })
			});
			if (res.status !== 201) throw new Error(`creating a workflow: ${res.status} ${await res.text()}`);
			const body = (await res.json()) as { id: string; edit_token: string; view_token: string };
			return { id: body.id, editToken: body.edit_token, viewToken: body.view_token };
		},
		async uploadFor(workflow, csv) {
			const form = uploadForm(csv);
			form.set('workflow_id', workflow.id);
			const res = await app.request('/api/workflows/upload', { method: 'POST', body: form, headers: bearer(workflow.editToken) });
			if (res.status !== 200) throw new Error(`uploading: ${res.status} ${await res.text()}`);
			return ((await res.json()) as { file_path: string }).file_path;
		},
		async close() {
			await collab.close();
			await versions.flush();
			await base.close();
		}
	};
}
