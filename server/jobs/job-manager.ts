/**
 * The job manager: accepts runs, queues them, drives each through `runJob`, persists every step
 * (status, per-block results, events, final rows) and republishes events to subscribers (the live
 * hub). Crash safety comes from two facts: every job is in SQLite before its id is returned, and a
 * resumed job re-runs from the start while the enrichment cache makes finished rows free.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RunOptions, Workflow } from '../../src/lib/workflow/schema';
import type { EnrichmentService } from '../enrichment/types';
import type { BlockProgress, JobStatus, RunEvent, RunJobOptions, RunJobResult } from '../engine/types';
import type { JobRecord, JobStore } from '../store/job-store';
import { createInProcessQueue, type JobQueue, type JobWorker } from './queue';

/** Everything subscribers hear: the runner's events plus the manager's own `job_created`. */
export type JobEvent =
	| RunEvent
	| { type: 'job_created'; job_id: string; at: number; workflow_id: string | null; retry_of: string | null };

export type JobListener = (event: JobEvent) => void;

export interface SubmitJobOptions {
	workflow: Workflow;
	options?: RunOptions;
	workflowId?: string | null;
	retryOf?: string | null;
}

export interface JobManagerOptions {
	store: JobStore;
	dataDir: string;
	enrichment: EnrichmentService;
	logger: Logger;
	/** Jobs running at once; the rest wait as `pending`. */
	maxConcurrentJobs: number;
	/** Rows in flight per API block when neither the block nor the run says. */
	defaultConcurrency?: number;
	runJob: (options: RunJobOptions) => Promise<RunJobResult>;
	/** Replace the in-process queue (e.g. with a Redis-backed one). */
	createQueue?: (worker: JobWorker) => JobQueue;
	progressIntervalMs?: number;
}

export interface JobManager {
	/** Stores a new `pending` job and queues it. */
	submit(options: SubmitJobOptions): Promise<JobRecord>;
	/** Cancels a pending or running job; null for an unknown id. Finished jobs are returned unchanged. */
	cancel(jobId: string): Promise<JobRecord | null>;
	/** A new job with the same workflow snapshot and options; null for an unknown id. */
	retry(jobId: string): Promise<JobRecord | null>;
	/** Queues the jobs a crash or shutdown left unfinished; returns their ids. Call once at start. */
	resumeUnfinished(): Promise<string[]>;
	/** Hears every job event; returns the unsubscribe function. */
	subscribe(listener: JobListener): () => void;
	/** Resolves with the job once it reaches a final state (or when the manager shuts down). */
	settled(jobId: string): Promise<JobRecord | null>;
	/** Stops taking work, aborts running jobs and leaves them `pending` to resume on the next start. */
	shutdown(): Promise<void>;
}

/** Why a run was aborted: a person's cancel, or the process shutting down (resume later). */
class ShutdownAbort extends Error {
	constructor() {
		super('Server shutting down');
		this.name = 'ShutdownAbort';
	}
}

const FINAL: JobStatus[] = ['completed', 'failed', 'cancelled'];

/**
 * Creates the job manager. Call `resumeUnfinished()` once after creating it.
 * @example const jobs = createJobManager({ store, dataDir, enrichment, logger, maxConcurrentJobs: 2, runJob })
 */
export function createJobManager(options: JobManagerOptions): JobManager {
	const { store, logger } = options;
	const listeners = new Set<JobListener>();
	const controllers = new Map<string, AbortController>();
	const waiters = new Map<string, ((job: JobRecord | null) => void)[]>();
	let stopping = false;

	const queue = (options.createQueue ?? defaultQueue(options.maxConcurrentJobs, logger))(execute);

	function publish(event: JobEvent) {
		for (const listener of listeners) {
			try {
				listener(event);
			} catch (err) {
				logger.warn({ err, job_id: event.job_id }, 'job event listener threw');
			}
		}
	}

	async function notifySettled(jobId: string) {
		const list = waiters.get(jobId);
		if (!list) return;
		waiters.delete(jobId);
		const job = await store.get(jobId);
		for (const resolve of list) resolve(job);
	}

	async function execute(jobId: string): Promise<void> {
		const job = await store.get(jobId);
		if (!job || job.status !== 'pending' || stopping) return;
		// A resumed job re-runs from the start: forget the partial rows and results of the last attempt.
		await store.resetProgress(jobId);
		const startedAt = Date.now();
		if (!(await store.transition(jobId, ['pending'], { status: 'running', startedAt, finishedAt: null }))) return;
		const controller = new AbortController();
		controllers.set(jobId, controller);
		const log = logger.child({ job_id: jobId });
		log.info({ blocks: job.workflow.blocks.length, resumed: job.startedAt !== null, options: job.options }, 'job started');

		// The store is async: writes go through one chain so they land in event order.
		let chain: Promise<unknown> = Promise.resolve();
		const persist = (write: () => Promise<unknown>) => {
			chain = chain.then(write).catch((err) => log.error({ err }, 'could not persist job progress'));
			return chain;
		};
		const positions = new Map(job.workflow.blocks.map((b, i) => [b.id, i]));
		let rowIndex = 0;

		const onEvent = (received: RunEvent) => {
			// One start time for the job: the store's, so a late joiner's snapshot matches the event.
			const event: RunEvent = received.type === 'job_started' ? { ...received, at: startedAt } : received;
			switch (event.type) {
				case 'block_started':
				case 'block_finished':
					persist(async () => {
						await store.saveBlock(jobId, positions.get(event.block.block_id) ?? 0, event.block);
						if (event.type === 'block_started') await store.update(jobId, { currentBlock: event.block.block_id });
						await store.appendEvent(jobId, event);
					});
					break;
				case 'block_progress':
					persist(() => store.saveBlock(jobId, positions.get(event.block.block_id) ?? 0, event.block));
					break;
				case 'job_finished':
					// Republished below, after the final state is stored, so listeners see the stored truth.
					return;
				default:
					persist(() => store.appendEvent(jobId, event));
			}
			publish(event);
		};

		let result: RunJobResult;
		try {
			result = await options.runJob({
				jobId,
				workflow: job.workflow,
				options: { ...job.options, concurrency: job.options.concurrency ?? options.defaultConcurrency },
				signal: controller.signal,
				dataDir: options.dataDir,
				enrichment: options.enrichment,
				onEvent,
				onRows: (rows) => {
					const first = rowIndex;
					rowIndex += rows.length;
					return persist(() => store.appendRows(jobId, first, rows)).then(() => undefined);
				},
				progressIntervalMs: options.progressIntervalMs ?? 250
			});
		} catch (err) {
			// runJob reports failures in its result; a throw here is our bug, recorded as a failure.
			const message = err instanceof Error ? err.message : String(err);
			log.error({ err }, 'runJob threw');
			result = { status: 'failed', error: message, outputPath: null, blocks: [], columns: [], rowsOut: rowIndex };
		} finally {
			controllers.delete(jobId);
		}
		await chain;

		if (controller.signal.reason instanceof ShutdownAbort) {
			await store.transition(jobId, ['running'], { status: 'pending' });
			log.info({ rows_done: rowIndex }, 'job checkpointed for resume after restart');
			return;
		}
		const finishedAt = Date.now();
		await store.transition(jobId, ['running'], {
			status: result.status,
			error: result.error,
			outputPath: result.outputPath,
			columns: result.columns,
			rowCount: rowIndex,
			finishedAt
		});
		const event: JobEvent = {
			type: 'job_finished',
			job_id: jobId,
			at: finishedAt,
			status: result.status,
			error: result.error,
			output_path: result.outputPath,
			blocks: result.blocks
		};
		await store.appendEvent(jobId, event);
		log.info(
			{ status: result.status, error: result.error, rows: rowIndex, duration_ms: finishedAt - startedAt, ...totals(result.blocks) },
			'job finished'
		);
		publish(event);
		await notifySettled(jobId);
	}

	const manager: JobManager = {
		async submit({ workflow, options: runOptions = {}, workflowId = null, retryOf = null }) {
			if (stopping) throw new Error('The server is shutting down');
			const job = await store.create({
				id: randomUUID(),
				workflow,
				options: runOptions,
				workflowId,
				retryOf,
				createdAt: Date.now()
			});
			logger.info({ job_id: job.id, workflow_id: workflowId, retry_of: retryOf }, 'job created');
			publish({ type: 'job_created', job_id: job.id, at: job.createdAt, workflow_id: workflowId, retry_of: retryOf });
			queue.enqueue(job.id);
			return job;
		},

		async cancel(jobId) {
			const job = await store.get(jobId);
			if (!job) return null;
			if (job.status === 'pending') {
				queue.remove(jobId);
				const at = Date.now();
				if (await store.transition(jobId, ['pending'], { status: 'cancelled', error: 'Cancelled', finishedAt: at })) {
					const event: JobEvent = {
						type: 'job_finished',
						job_id: jobId,
						at,
						status: 'cancelled',
						error: 'Cancelled',
						output_path: null,
						blocks: []
					};
					await store.appendEvent(jobId, event);
					logger.info({ job_id: jobId }, 'job cancelled before it started');
					publish(event);
					await notifySettled(jobId);
				}
			} else if (job.status === 'running') {
				logger.info({ job_id: jobId }, 'job cancel requested');
				const controller = controllers.get(jobId);
				if (controller) {
					controller.abort(new Error('Cancelled'));
					await manager.settled(jobId);
				}
			}
			return store.get(jobId);
		},

		async retry(jobId) {
			const job = await store.get(jobId);
			if (!job) return null;
			return manager.submit({ workflow: job.workflow, options: job.options, workflowId: job.workflowId, retryOf: job.id });
		},

		async resumeUnfinished() {
			const jobs = await store.listUnfinished();
			for (const job of jobs) {
				if (job.status === 'running') await store.transition(job.id, ['running'], { status: 'pending' });
				logger.info({ job_id: job.id, was: job.status }, 'resuming unfinished job');
				queue.enqueue(job.id);
			}
			return jobs.map((j) => j.id);
		},

		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},

		async settled(jobId) {
			const job = await store.get(jobId);
			if (!job || FINAL.includes(job.status) || stopping) return job;
			return new Promise((resolve) => {
				const list = waiters.get(jobId) ?? [];
				list.push(resolve);
				waiters.set(jobId, list);
			});
		},

		async shutdown() {
			if (stopping) return;
			stopping = true;
			logger.info({ running: queue.running(), waiting: queue.waiting() }, 'job manager stopping');
			for (const controller of controllers.values()) controller.abort(new ShutdownAbort());
			await queue.close();
			for (const id of [...waiters.keys()]) await notifySettled(id);
		}
	};
	return manager;
}

function defaultQueue(concurrency: number, logger: Logger) {
	return (worker: JobWorker) =>
		createInProcessQueue({
			concurrency,
			worker,
			// The store failed under the manager (disk full, database locked): the job stays where it was.
			onWorkerError: (jobId, err) => logger.error({ err, job_id: jobId }, 'job could not be run')
		});
}

function totals(blocks: BlockProgress[]) {
	let calls = 0;
	let cached = 0;
	let cost = 0;
	let errors = 0;
	for (const b of blocks) {
		calls += b.calls;
		cached += b.cached;
		cost += b.cost_cents;
		errors += b.errors;
	}
	return { calls, cached, cost_cents: Math.round(cost * 100) / 100, errors };
}
