/**
 * The API app wired like the real server (SQLite store, job manager, real runJob) in a temporary
 * data dir, for route tests through `app.request()`: no port, no process.
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
import { createSqliteJobStore } from '../../server/store/sqlite-job-store';
import { createSqliteUploadStore, type UploadStore } from '../../server/store/upload-store';
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
}

export interface TestApp {
	app: ReturnType<typeof createApp>;
	dataDir: string;
	db: Db;
	jobs: JobManager;
	jobStore: JobStore;
	uploads: UploadStore;
	close(): Promise<void>;
}

/** Builds the app over a fresh temporary data dir; `close()` stops jobs and deletes the dir. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
	const temp = await makeTempDir();
	const db = openDatabase(join(temp.dir, 'app.db'));
	const logger = createLogger({ level: 'silent' });
	const jobStore = createSqliteJobStore(db);
	const uploads = createSqliteUploadStore(db);
	const jobs = createJobManager({
		runners: RUNNERS,
		store: jobStore,
		dataDir: temp.dir,
		enrichment: options.enrichment ?? noEnrichment,
		logger,
		maxConcurrentJobs: options.maxConcurrentJobs ?? 2,
		runJob: options.runJob ?? runJob,
		progressIntervalMs: 20
	});
	const app = createApp({
		dataDir: temp.dir,
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
		dataDir: temp.dir,
		db,
		jobs,
		jobStore,
		uploads,
		async close() {
			await jobs.shutdown();
			db.close();
			await temp.cleanup();
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
