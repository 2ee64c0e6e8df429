/**
 * The job manager: accepts runs, queues them, drives each through `runJob`, keeps each job's
 * status in the store (its block results, events and rows are recorded by run-recorder.ts) and
 * republishes events to subscribers (the live hub). Crash safety comes from two facts: every job is in SQLite before its id is returned, and a
 * resumed job re-runs from the start while the enrichment cache makes finished rows free.
 *
 * Jobs wait in a round-robin queue keyed on their owner (workflow or posting client), and with a
 * spend budget each runs behind a budget gate: at the daily limit the job stops as `paused` (see
 * budget-gate.ts), to be resumed — re-run from the start, paid rows from the cache — or cancelled.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { LiveEvent } from '../../src/lib/workflow/protocol';
import type { RunOptions, Workflow } from '../../src/lib/workflow/schema';
import type { EnrichmentService } from '../enrichment/types';
import type { BlockProgress, BlockRunners, JobStatus, RunJobOptions, RunJobResult } from '../engine/types';
import type { JobRecord, JobStore } from '../store/job-store';
import { createBudgetGate } from './budget-gate';
import { createInProcessQueue, DEFAULT_QUEUE_KEY, type JobQueue, type QueueHooks } from './queue';
import { createRunRecorder } from './run-recorder';
import type { SpendBudget } from './spend-budget';

/**
 * Everything subscribers hear: the runner's events plus the manager's own `job_created`,
 * `job_paused` and `job_resumed` — exactly the /live deltas, so the hub forwards them as they are.
 */
export type JobEvent = LiveEvent;

export type JobListener = (event: JobEvent) => void;

export interface SubmitJobOptions {
	workflow: Workflow;
	options?: RunOptions;
	workflowId?: string | null;
	/** Who the job counts against (queue turns, per-workflow budget); default: its workflow id. */
	owner?: string | null;
	retryOf?: string | null;
	/** The presence name of who started it (shown in the run history). */
	startedBy?: string | null;
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
	/** Daily spend limits; without it jobs spend without a limit. */
	budget?: SpendBudget;
	/** How each block type runs (`RUNNERS` from server/blocks), passed on to `runJob`. */
	runners: BlockRunners;
	/** Replace the in-process queue (e.g. with the BullMQ one of server/scale/bull-queue.ts). */
	createQueue?: (hooks: QueueHooks) => JobQueue;
	/** With a shared queue: how often a waiter re-reads a job run elsewhere, in case a settle message was lost (default 1 000 ms). */
	settledPollMs?: number;
	/**
	 * With a shared queue, in a process that runs jobs: how often `requeueLost` sweeps (none when
	 * absent). A sweep is one store query and one Redis round trip.
	 */
	sweepIntervalMs?: number;
	progressIntervalMs?: number;
}

export interface JobManager {
	/** Stores a new `pending` job and queues it. */
	submit(options: SubmitJobOptions): Promise<JobRecord>;
	/** Cancels a pending or running job; null for an unknown id. Finished jobs are returned unchanged. */
	cancel(jobId: string): Promise<JobRecord | null>;
	/**
	 * A new job with the same workflow snapshot and options; null for an unknown id. With `rows`,
	 * only those input rows run (the grid shows them over this job's other rows).
	 */
	retry(jobId: string, rows?: number[]): Promise<JobRecord | null>;
	/** Queues a `paused` job again; null for an unknown id, the job unchanged when it is not paused. */
	resume(jobId: string): Promise<JobRecord | null>;
	/** Queues the jobs a crash or shutdown left unfinished; returns their ids. Call once at start. */
	resumeUnfinished(): Promise<string[]>;
	/**
	 * Shared queue only (else none): queues again the `pending` jobs the queue does not hold — stored
	 * by a web process that died before it queued them — created at least `graceMs` ago (default
	 * 10 s: a submit in progress is between its two steps). Idempotent: the queue's id is the job's,
	 * so a job already queued or running is never added twice, and sweeps in several workers at once
	 * are harmless. Returns the ids queued again.
	 */
	requeueLost(graceMs?: number): Promise<string[]>;
	/** Hears every job event; returns the unsubscribe function. */
	subscribe(listener: JobListener): () => void;
	/** The jobs running and waiting now, in the order the waiting ones would start. */
	queueState(): { running: string[]; waiting: string[] };
	/** Resolves with the job once it reaches a final state or pauses (or when the manager shuts down). */
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

/** Why a run was aborted: this worker lost the job's lock and another runs it now; record nothing. */
class LostClaim extends Error {
	constructor() {
		super('Another worker took the job over');
		this.name = 'LostClaim';
	}
}

/** Why a run was aborted: it reached a spend limit, so it ends `paused` (resumable). */
class BudgetPause extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'BudgetPause';
	}
}

const FINAL: JobStatus[] = ['completed', 'failed', 'cancelled'];
/** How old a `pending` job must be before the sweep may call it lost (its submit has long finished). */
const LOST_JOB_GRACE_MS = 10_000;
/** States a job leaves only when someone acts: final ones, and `paused`. */
const STOPPED: JobStatus[] = [...FINAL, 'paused'];

/** The queue turn a job waits for: its owner's (jobs from before owners share one line). */
const queueKey = (job: JobRecord) => job.owner ?? job.workflowId ?? DEFAULT_QUEUE_KEY;

/**
 * Creates the job manager. Call `resumeUnfinished()` once after creating it.
 * @example const jobs = createJobManager({ store, dataDir, enrichment, logger, maxConcurrentJobs: 2, runJob, runners: RUNNERS })
 */
export function createJobManager(options: JobManagerOptions): JobManager {
	const { store, logger } = options;
	const listeners = new Set<JobListener>();
	const controllers = new Map<string, AbortController>();
	const waiters = new Map<string, ((job: JobRecord | null) => void)[]>();
	let stopping = false;
	/** Jobs this manager is executing now (from pick-up to settled). */
	const executing = new Set<string>();
	/** Cancels that arrived while their job was starting (running, but no controller yet). */
	const cancelRequested = new Set<string>();
	/** Each job's latest execution here: a second one of the same job waits for the first (see `execute`). */
	const inProgress = new Map<string, Promise<unknown>>();

	const queue = (options.createQueue ?? defaultQueue(options.maxConcurrentJobs, logger))({
		worker: execute,
		cancel: (jobId) => abortHere(jobId, new Error('Cancelled')),
		settled: (jobId) => void notifySettled(jobId),
		lost: (jobId) => abortHere(jobId, new LostClaim())
	});
	/** With a shared queue a job may run in another process: settle waiters also re-read the store. */
	const shared = queue.shared === true;

	/** Aborts `jobId` if it runs in this process (a cancel from another process, a lost lock). */
	function abortHere(jobId: string, reason: Error) {
		const controller = controllers.get(jobId);
		if (controller) controller.abort(reason);
		else if (executing.has(jobId) && !(reason instanceof LostClaim)) cancelRequested.add(jobId);
	}

	/** Puts a stored job in the line; a queue that cannot take it (Redis down) fails with its 503. */
	async function enqueue(job: JobRecord) {
		await queue.enqueue(job.id, queueKey(job));
	}

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
		// A broken store must not leave a waiter (a cancel) hanging: it hears null instead.
		const job = await store.get(jobId).catch((err) => {
			logger.error({ err, job_id: jobId }, 'could not read the settled job');
			return null;
		});
		for (const resolve of list) resolve(job);
	}

	/**
	 * Runs a job the queue handed out. A shared queue may hand the same job to this process again
	 * while its first run is still unwinding (its lock was judged stalled): the second execution
	 * waits for the first to settle and then looks at the job afresh — never two runs of one job in
	 * one process, whose cleanup would take the other's controller (and a cancel would find nothing).
	 */
	function execute(jobId: string): Promise<void | 'requeue'> {
		const earlier = inProgress.get(jobId);
		const run = (async () => {
			if (earlier) await earlier.catch(() => {});
			return executeOnce(jobId);
		})();
		inProgress.set(jobId, run);
		const forget = () => {
			if (inProgress.get(jobId) === run) inProgress.delete(jobId);
		};
		run.then(forget, forget);
		return run;
	}

	async function executeOnce(jobId: string): Promise<void | 'requeue'> {
		const job = await store.get(jobId);
		// A shared queue hands out a job left `running` by a worker that died (or lost its lock): the
		// fenced claim in runAndRecord lets exactly one worker take it over.
		if (!job || !(job.status === 'pending' || (shared && job.status === 'running'))) return;
		// Handed out while this process shuts down: back in the line, not dropped (a shared queue would
		// count it done and nobody would run it); the in-process one leaves it for the next start.
		if (stopping) return 'requeue';
		const log = logger.child({ job_id: jobId });
		let controller: AbortController | null = null;
		executing.add(jobId);
		try {
			return await runAndRecord(job, log, (c) => (controller = c));
		} catch (err) {
			// The store failed under the run (disk full, database locked). A shutdown leaves the job for
			// resume; otherwise it must not stay `running` (or `pending`) for ever: record it as failed.
			log.error({ err }, 'job could not be run to its end');
			const reason = (controller as AbortController | null)?.signal.reason;
			if (!(reason instanceof ShutdownAbort || reason instanceof LostClaim)) {
				const message = err instanceof Error ? err.message : String(err);
				await store
					.transition(jobId, ['pending', 'running'], {
						status: 'failed',
						error: `Job failed: ${message}`,
						finishedAt: Date.now()
					})
					.catch((e) => log.error({ err: e }, 'could not mark the job failed'));
			}
			throw err;
		} finally {
			executing.delete(jobId);
			cancelRequested.delete(jobId);
			// Always wake the waiters (a cancel awaits this), whatever state the job was left in.
			await notifySettled(jobId);
			queue.announceSettled?.(jobId);
		}
	}

	async function runAndRecord(job: JobRecord, log: Logger, onController: (c: AbortController) => void): Promise<void | 'requeue'> {
		const jobId = job.id;
		// `startedAt` is also this run's fencing token: every later status change of the run names it,
		// so a worker that lost the job to another can no longer write its state.
		const startedAt = Math.max(Date.now(), (job.startedAt ?? 0) + 1);
		const fence = { startedAt };
		if (job.status === 'running') {
			// Taken over from a worker that died: only the one whose claim names the last start wins.
			const claimed = await store.transition(
				jobId,
				['running'],
				{ status: 'running', startedAt, finishedAt: null },
				{ startedAt: job.startedAt }
			);
			if (!claimed) return;
			log.info({ was_started_at: job.startedAt }, 'taking over a job whose worker stopped');
			await store.resetProgress(jobId);
		} else if (shared) {
			// Claim first, then forget the last attempt's rows: a worker that loses the claim must not
			// wipe the rows the winner is already writing.
			if (!(await store.transition(jobId, ['pending'], { status: 'running', startedAt, finishedAt: null }))) return;
			await store.resetProgress(jobId);
		} else {
			// A resumed job re-runs from the start: forget the partial rows and results of the last attempt.
			await store.resetProgress(jobId);
			if (!(await store.transition(jobId, ['pending'], { status: 'running', startedAt, finishedAt: null }))) return;
		}
		const controller = new AbortController();
		controllers.set(jobId, controller);
		onController(controller);
		// A shutdown that began while the job was starting found no controller to abort: do it now.
		if (stopping) controller.abort(new ShutdownAbort());
		// So did a cancel that came in between the status change and this point (or, with a shared
		// queue, one asked of another process before this one claimed the job).
		else if (cancelRequested.delete(jobId) || (await queue.cancelRequested?.(jobId))) controller.abort(new Error('Cancelled'));
		log.info({ blocks: job.workflow.blocks.length, resumed: job.startedAt !== null, options: job.options }, 'job started');

		// Block results, events and rows are stored as they come, in order (run-recorder.ts).
		const recorder = createRunRecorder({
			store,
			job,
			startedAt,
			log,
			abort: (reason) => controller.abort(reason),
			publish
		});

		let result: RunJobResult;
		try {
			result = await options.runJob({
				jobId,
				workflow: job.workflow,
				options: { ...job.options, concurrency: job.options.concurrency ?? options.defaultConcurrency },
				signal: controller.signal,
				dataDir: options.dataDir,
				enrichment: options.budget
					? createBudgetGate({
							service: options.enrichment,
							budget: options.budget,
							owner: job.owner,
							onExhausted: (message) => controller.abort(new BudgetPause(message))
						})
					: options.enrichment,
				runners: options.runners,
				onEvent: recorder.onEvent,
				onRows: recorder.onRows,
				onSourceRows: recorder.onSourceRows,
				progressIntervalMs: options.progressIntervalMs ?? 250
			});
		} catch (err) {
			// runJob reports failures in its result; a throw here is our bug, recorded as a failure.
			const message = err instanceof Error ? err.message : String(err);
			log.error({ err }, 'runJob threw');
			result = { status: 'failed', error: message, outputPath: null, blocks: [], columns: [], rowsOut: recorder.rowsReceived };
		} finally {
			controllers.delete(jobId);
		}
		await recorder.flushed();
		const { persistError, rowsStored } = recorder;

		if (controller.signal.reason instanceof LostClaim) return;
		if (controller.signal.reason instanceof ShutdownAbort) {
			await store.transition(jobId, ['running'], { status: 'pending' }, fence);
			log.info(
				{ rows_done: rowsStored },
				shared ? 'job checkpointed: another worker resumes it' : 'job checkpointed for resume after restart'
			);
			return 'requeue';
		}
		if (controller.signal.reason instanceof BudgetPause && persistError === null && result.status === 'cancelled') {
			await pause(jobId, controller.signal.reason.message, result.blocks, rowsStored, log, fence);
			return;
		}
		if (persistError !== null) {
			// Also when the run had already finished: its last write failed after it returned.
			const message = persistError instanceof Error ? persistError.message : String(persistError);
			result = { ...result, status: 'failed', error: `could not store results: ${message}`, outputPath: null };
		}
		const finishedAt = Date.now();
		const recorded = await store.transition(
			jobId,
			['running'],
			{
				status: result.status,
				error: result.error,
				outputPath: result.outputPath,
				columns: result.columns,
				rowCount: rowsStored,
				finishedAt
			},
			fence
		);
		if (!recorded && shared && (await store.get(jobId))?.startedAt !== startedAt) {
			log.warn('another worker took the job over: this run records nothing');
			return;
		}
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
			{ status: result.status, error: result.error, rows: rowsStored, duration_ms: finishedAt - startedAt, ...totals(result.blocks) },
			'job finished'
		);
		publish(event);
	}

	/** Records a run stopped by its budget as `paused`, with the message that says why and what next. */
	async function pause(
		jobId: string,
		message: string,
		finalBlocks: BlockProgress[],
		rowsStored: number,
		log: Logger,
		fence: { startedAt: number }
	) {
		const blocks = finalBlocks.map((b) => (b.status === 'cancelled' ? { ...b, status: 'paused' as const } : b));
		const positions = new Map(blocks.map((b, i) => [b.block_id, i]));
		for (const block of blocks) await store.saveBlock(jobId, positions.get(block.block_id) ?? 0, block);
		if (!(await store.transition(jobId, ['running'], { status: 'paused', error: message, rowCount: rowsStored }, fence))) return;
		log.info({ rows_done: rowsStored, ...totals(blocks) }, 'job paused at the spend limit');
		publish({ type: 'job_paused', job_id: jobId, at: Date.now(), message, blocks });
	}

	const manager: JobManager = {
		queueState: () => ({ running: queue.running(), waiting: queue.waiting() }),
		async submit({ workflow, options: runOptions = {}, workflowId = null, owner = workflowId, retryOf = null, startedBy = null }) {
			if (stopping) throw new Error('The server is shutting down');
			const job = await store.create({
				id: randomUUID(),
				workflow,
				options: runOptions,
				workflowId,
				owner,
				retryOf,
				startedBy,
				createdAt: Date.now()
			});
			logger.info({ job_id: job.id, workflow_id: workflowId, retry_of: retryOf }, 'job created');
			publish({
				type: 'job_created',
				job_id: job.id,
				at: job.createdAt,
				workflow_id: workflowId,
				retry_of: retryOf,
				started_by: startedBy
			});
			try {
				await enqueue(job);
			} catch (err) {
				// Not queued (Redis down): the job must not wait for ever as `pending`.
				const error = 'Could not be queued: the job queue is unavailable';
				const at = Date.now();
				if (await store.transition(job.id, ['pending'], { status: 'failed', error, finishedAt: at }).catch(() => false)) {
					publish({ type: 'job_finished', job_id: job.id, at, status: 'failed', error, output_path: null, blocks: [] });
				}
				logger.error({ job_id: job.id, err }, 'job could not be queued');
				throw err;
			}
			return job;
		},

		async cancel(jobId) {
			let job = await store.get(jobId);
			if (!job) return null;
			if (job.status === 'pending' || job.status === 'paused') {
				// Out of the line if it can be; if not (Redis down), the worker that takes it finds it cancelled.
				await Promise.resolve()
					.then(() => queue.remove(jobId))
					.catch((err: unknown) => logger.warn({ err, job_id: jobId }, 'could not take a cancelled job out of the queue'));
				const at = Date.now();
				if (!(await store.transition(jobId, ['pending', 'paused'], { status: 'cancelled', error: 'Cancelled', finishedAt: at }))) {
					// It started meanwhile: cancel it as a running job below.
					job = await store.get(jobId);
					if (!job) return null;
				} else {
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
					return store.get(jobId);
				}
			}
			if (job.status === 'running') {
				logger.info({ job_id: jobId }, 'job cancel requested');
				const controller = controllers.get(jobId);
				if (controller) {
					controller.abort(new Error('Cancelled'));
					await manager.settled(jobId);
				} else if (executing.has(jobId)) {
					cancelRequested.add(jobId); // still starting: aborted as soon as it can be
					await manager.settled(jobId);
				} else if (queue.requestCancel) {
					// Running in another process: ask it, and wait for its final record.
					await queue.requestCancel(jobId);
					await manager.settled(jobId);
				}
			}
			return store.get(jobId);
		},

		async retry(jobId, rows) {
			const job = await store.get(jobId);
			if (!job) return null;
			return manager.submit({
				workflow: job.workflow,
				options: rows ? { ...job.options, rows } : job.options,
				workflowId: job.workflowId,
				owner: job.owner,
				retryOf: job.id
			});
		},

		async resume(jobId) {
			if (stopping) throw new Error('The server is shutting down');
			const job = await store.get(jobId);
			if (!job || job.status !== 'paused') return job;
			if (!(await store.transition(jobId, ['paused'], { status: 'pending', error: null }))) return store.get(jobId);
			try {
				await enqueue(job);
			} catch (err) {
				await store.transition(jobId, ['pending'], { status: 'paused', error: job.error }).catch(() => false);
				throw err;
			}
			logger.info({ job_id: jobId }, 'paused job resumed');
			publish({ type: 'job_resumed', job_id: jobId, at: Date.now() });
			return store.get(jobId);
		},

		async resumeUnfinished() {
			const jobs = await store.listUnfinished();
			for (const job of jobs) {
				// With a shared queue a `running` job may be running in another worker right now: leave its
				// status; re-adding it is a no-op while BullMQ holds it, and a takeover when it was lost.
				if (job.status === 'running' && !shared) await store.transition(job.id, ['running'], { status: 'pending' });
				logger.info({ job_id: job.id, was: job.status }, 'resuming unfinished job');
				await enqueue(job);
			}
			return jobs.map((j) => j.id);
		},

		async requeueLost(graceMs = LOST_JOB_GRACE_MS) {
			if (!Number.isFinite(graceMs) || graceMs < 0) throw new RangeError(`graceMs must be a duration in ms, not ${graceMs}`);
			if (!queue.notQueued || stopping) return [];
			const before = Date.now() - graceMs;
			const pending = (await store.listUnfinished()).filter((j) => j.status === 'pending' && j.createdAt <= before);
			const lost = new Set(await queue.notQueued(pending.map((j) => j.id)));
			const requeued: string[] = [];
			for (const job of pending) {
				if (!lost.has(job.id) || stopping) continue;
				logger.warn({ job_id: job.id }, 'a stored job was never queued (or the queue lost it): queueing it again');
				await enqueue(job);
				requeued.push(job.id);
			}
			return requeued;
		},

		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},

		settled(jobId) {
			// The waiter goes in before the store is read, so a job settling meanwhile cannot be missed.
			return new Promise<JobRecord | null>((resolve, reject) => {
				const list = waiters.get(jobId) ?? [];
				list.push(resolve);
				waiters.set(jobId, list);
				const forget = () => {
					const current = waiters.get(jobId);
					if (!current) return;
					const rest = current.filter((r) => r !== resolve);
					if (rest.length > 0) waiters.set(jobId, rest);
					else waiters.delete(jobId);
				};
				let poll: ReturnType<typeof setInterval> | null = null;
				const check = (first: boolean) =>
					store.get(jobId).then(
						(job) => {
							if (!job || STOPPED.includes(job.status) || stopping) {
								if (poll) clearInterval(poll);
								forget();
								resolve(job);
							}
						},
						(err) => {
							if (!first) return; // a later re-read failing is not the end: the settle message may still come
							if (poll) clearInterval(poll);
							forget();
							reject(err);
						}
					);
				void check(true);
				// Run elsewhere, the job's settle message may be lost with a Redis connection: re-read it.
				if (shared) {
					poll = setInterval(() => {
						if (!waiters.get(jobId)?.includes(resolve)) clearInterval(poll!);
						else void check(false);
					}, options.settledPollMs ?? 1_000);
					poll.unref();
				}
			});
		},

		async shutdown() {
			if (stopping) return;
			stopping = true;
			if (sweep) clearInterval(sweep);
			logger.info({ running: queue.running(), waiting: queue.waiting() }, 'job manager stopping');
			for (const controller of controllers.values()) controller.abort(new ShutdownAbort());
			await queue.close();
			for (const id of [...waiters.keys()]) await notifySettled(id);
		}
	};
	// The lost-job sweep (scale-out workers): one at a time; a failure (Redis or the database away) waits for the next.
	let sweeping = false;
	const sweep =
		shared && queue.notQueued && options.sweepIntervalMs
			? setInterval(() => {
					if (sweeping) return;
					sweeping = true;
					manager
						.requeueLost()
						.catch((err: unknown) => logger.warn({ err }, 'the lost-job sweep failed; it runs again shortly'))
						.finally(() => (sweeping = false));
				}, options.sweepIntervalMs)
			: null;
	sweep?.unref();
	return manager;
}

function defaultQueue(concurrency: number, logger: Logger) {
	return ({ worker }: QueueHooks) =>
		createInProcessQueue({
			concurrency,
			worker,
			// The store failed under the manager (disk full, database locked); execute already tried to
			// mark the job failed and woke its waiters.
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
