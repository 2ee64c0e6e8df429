/**
 * The snapshot a live room starts from, read from the job store: the workflow's recent jobs and
 * any still unfinished, oldest first, each with its blocks (pending ones included) and first row
 * errors — the same `LiveJob` shape the hub's deltas keep up to date.
 */
import { pendingBlock, RECENT_JOBS, ROW_ERRORS_KEPT } from '../../src/lib/workflow/live-jobs';
import type { LiveJob, LiveRowError } from '../../src/lib/workflow/protocol';
import type { JobRecord, JobStore } from '../store/job-store';

export interface LiveJobsLoaderOptions {
	store: Pick<JobStore, 'list' | 'listUnfinished' | 'listBlocks' | 'listEvents'>;
	/** Turns a stored output path into the one clients see (never the server's layout). */
	publicPath?: (path: string | null) => string | null;
}

/**
 * Creates the hub's `loadSnapshot`.
 * @example createLiveHub({ authorize, loadSnapshot: createLiveJobsLoader({ store, publicPath: (p) => publicPath(dataDir, p) }) })
 */
export function createLiveJobsLoader(options: LiveJobsLoaderOptions): (workflowId: string) => Promise<LiveJob[]> {
	const { store } = options;
	const publicPath = options.publicPath ?? ((p: string | null) => p);

	async function toLiveJob(job: JobRecord): Promise<LiveJob> {
		const stored = new Map((await store.listBlocks(job.id)).map((b) => [b.block_id, b]));
		const rowErrors: LiveRowError[] = [];
		for (const { event } of await store.listEvents(job.id, 0, 5_000)) {
			if (event.type !== 'row_error') continue;
			rowErrors.push({ block_id: event.block_id, row: event.row, message: event.message });
			if (rowErrors.length >= ROW_ERRORS_KEPT) break;
		}
		return {
			job_id: job.id,
			status: job.status,
			created_at: job.createdAt,
			started_at: job.startedAt,
			finished_at: job.finishedAt,
			error: job.error,
			output_path: publicPath(job.outputPath),
			retry_of: job.retryOf,
			started_by: job.startedBy,
			blocks: job.workflow.blocks.map((b) => stored.get(b.id) ?? pendingBlock({ block_id: b.id, block_type: b.type })),
			row_errors: rowErrors
		};
	}

	return async (workflowId) => {
		const [{ jobs: recent }, unfinished] = await Promise.all([
			store.list({ workflowId, offset: 0, limit: RECENT_JOBS }),
			store.listUnfinished()
		]);
		const byId = new Map<string, JobRecord>();
		for (const job of [...recent, ...unfinished.filter((j) => j.workflowId === workflowId)]) byId.set(job.id, job);
		const jobs = [...byId.values()].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
		return Promise.all(jobs.map(toLiveJob));
	};
}
