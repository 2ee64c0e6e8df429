/**
 * The API app wired like the real server (store, job manager, real runJob) in a temporary data dir,
 * for route tests through `app.request()`: no port, no process. Its database is the `backend`
 * given (tests/helpers/backends.ts: a suite runs on each of `testBackends()`), else SQLite — or,
 * under `LEADFLOW_TEST_POSTGRES=1` (the scale project), PostgreSQL, as `startTestServer` does: a
 * suite listed in both the unit and the scale project runs on both (issue 11).
 */
import { RUNNERS } from '../../server/blocks';
import { join } from 'node:path';
import { createApp, type AppDeps } from '../../server/app';
import { runJob } from '../../server/engine/run-job';
import { EnrichmentError, type EnrichmentService } from '../../server/enrichment/types';
import { createJobManager, type JobManager } from '../../server/jobs/job-manager';
import { createLogger } from '../../server/log';
import { openDatabase, type Db } from '../../server/store/db';
import type { JobStore } from '../../server/store/job-store';
import { createJobStore } from '../../server/store/sqlite-job-store';
import { sqliteStore, type Store } from '../../server/store/store';
import { createUploadStore, type UploadStore } from '../../server/store/upload-store';
import { postgresBackend, withPostgres, type TestBackend } from './backends';
import type { RunJobOptions, RunJobResult } from '../../server/engine/types';
import { makeTempDir } from './temp-dir';

const refuse = async (): Promise<never> => {
	throw new EnrichmentError('no enrichment service in this test', null, false);
};
const refusingService = { enrichLead: refuse, findEmail: refuse, enrichCompany: refuse, findPhone: refuse };
/** An enrichment service for workflows that must not call the API: any call fails the row. */
export const noEnrichment: EnrichmentService = refusingService;

export interface TestAppOptions {
	enrichment?: EnrichmentService;
	uploadLimitBytes?: number;
	maxConcurrentJobs?: number;
	runJob?: (options: RunJobOptions) => Promise<RunJobResult>;
	/** The operator's token (ADMIN_TOKEN): unset, nobody may list every job. */
	adminToken?: string;
	/** Mounts the Sixtyfour webhook route (as PUBLIC_URL does). */
	webhooks?: AppDeps['webhooks'];
	/** The database (its `cleanup()` runs at `close()`); default: a SQLite file in the data dir (PostgreSQL under the scale project). */
	backend?: TestBackend;
}

export interface TestApp {
	app: ReturnType<typeof createApp>;
	dataDir: string;
	store: Store;
	/** The better-sqlite3 handle; throws on PostgreSQL (use `store`). */
	readonly db: Db;
	jobs: JobManager;
	jobStore: JobStore;
	uploads: UploadStore;
	close(): Promise<void>;
}

/** Builds the app over a fresh temporary data dir; `close()` stops jobs and deletes the dir. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
	const backend = options.backend ?? (withPostgres() ? postgresBackend() : undefined);
	const temp = backend ? null : await makeTempDir();
	const store = backend ? await backend.open() : sqliteStore(openDatabase(join(temp!.dir, 'app.db')));
	const dataDir = backend ? backend.location().dataDir : temp!.dir;
	const logger = createLogger({ level: 'silent' });
	const jobStore = createJobStore(store);
	const uploads = createUploadStore(store);
	const jobs = createJobManager({
		runners: RUNNERS,
		store: jobStore,
		dataDir,
		enrichment: options.enrichment ?? noEnrichment,
		logger,
		maxConcurrentJobs: options.maxConcurrentJobs ?? 2,
		runJob: options.runJob ?? runJob,
		progressIntervalMs: 20
	});
	const app = createApp({
		dataDir,
		uploadLimitBytes: options.uploadLimitBytes ?? 1024 * 1024,
		jobs,
		jobStore,
		uploads,
		logger,
		simulated: true,
		admin: { token: options.adminToken, requireForPostedRuns: false },
		webhooks: options.webhooks
	});
	return {
		app,
		dataDir,
		store,
		get db(): Db {
			if (!store.sqlite) throw new Error('this test app runs on PostgreSQL: use `store`');
			return store.sqlite;
		},
		jobs,
		jobStore,
		uploads,
		async close() {
			await jobs.shutdown();
			if (backend) await backend.cleanup();
			else {
				await store.close();
				await temp!.cleanup();
			}
		}
	};
}

/** A multipart body with one file field, as a browser's FormData would send it. */
export function uploadForm(content: string | Uint8Array, filename = 'leads.csv', field = 'file'): FormData {
	const form = new FormData();
	form.append(field, new Blob([content as BlobPart], { type: 'text/csv' }), filename);
	return form;
}

/** Polls `GET /jobs/:id` through `fetchJson` until the job is final; fails after `timeoutMs`. */
export async function waitForJob<T extends { status: string }>(fetchJson: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const job = await fetchJson();
		if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
		if (Date.now() > deadline) throw new Error(`job still ${job.status} after ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 20));
	}
}
