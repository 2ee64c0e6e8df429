/**
 * The job queue of the scale-out mode (issue 11): job ids wait on a BullMQ queue in Redis, and any
 * worker process (ROLE=worker or all) takes them, `concurrency` at a time. Web processes only add
 * to it. A worker killed mid-job stops renewing its lock; BullMQ's stalled-job check then moves
 * the job back to the line and another worker runs it, resuming from the checkpoint (the answers
 * cache and pending task ids in the store). The store's fenced status transitions (job-manager.ts)
 * make sure a job whose lock was lost is never run by two workers at once.
 *
 * Fairness between owners, as in the in-process queue: a job is added with the BullMQ priority
 * "1 + jobs of its owner already waiting or running", and equal priorities go first come first
 * served — so a client's pile of runs interleaves with everyone else's one by one (round-robin per
 * owner) rather than holding the line. Running jobs count too: a pile whose first runs started
 * before the rest was posted would otherwise queue its next run at priority 1, level with (and
 * ahead of) another owner's first run posted later. The per-owner counts are a Redis set each, a
 * job leaving it when it ends (not when it starts; a job put back in the line stays in it); a crash
 * can leave a stale member, which only delays that owner's later runs a little (the sets expire
 * after a day of no runs).
 *
 * Across processes it also carries the two messages a job manager needs: "cancel this job" (to the
 * process that runs it; also kept as a key, so a worker claiming the job later still sees it) and
 * "this job settled" (so a web process's cancel returns the final record).
 */
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { JobQueue, QueueHooks } from '../jobs/queue';
import { DEFAULT_QUEUE_KEY } from '../jobs/queue';
import { ServiceUnavailableError } from './redis';

export const JOB_QUEUE_NAME = 'leadflow-jobs';
const PREFIX = 'leadflow';
const CANCEL_CHANNEL = `${PREFIX}:jobs:cancel`;
const SETTLED_CHANNEL = `${PREFIX}:jobs:settled`;
const cancelKey = (jobId: string) => `${PREFIX}:jobs:cancel:${jobId}`;
const ownerKey = (owner: string) => `${PREFIX}:jobs:owner-waiting:${owner}`;
/** BullMQ's largest priority. */
const MAX_PRIORITY = 2_097_152;
const DAY_S = 86_400;

/** Priority of a new job of an owner: 1 + its jobs already waiting or running (atomically, then counted in). */
const ADD_OWNER_JOB = `
local n = redis.call('SCARD', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return n + 1`;

export interface BullJobQueueOptions {
	/** Producer connection (short-fused: fails fast while Redis is down). */
	redis: Redis;
	/** Blocking connections for the worker and the pub/sub subscriber (`connectRedis(url, { whileDown: 'wait' })`). */
	workerRedis?: Redis;
	subscriber: Redis;
	/** Take jobs in this process (ROLE=worker or all). */
	work: boolean;
	/** Jobs this process runs at once (MAX_CONCURRENT_JOBS). */
	concurrency: number;
	logger: Logger;
	/**
	 * How long a worker's lock on a job lasts without renewal (renewed every half of it): a killed
	 * worker's job goes to another after at most this plus `stalledIntervalMs`. Default 15 000.
	 */
	lockDurationMs?: number;
	/** How often workers look for stalled jobs (default 5 000). */
	stalledIntervalMs?: number;
}

/** The BullMQ queue as the job manager's `JobQueue`; `close()` also ends its Redis use. */
export function createBullJobQueue(options: BullJobQueueOptions, hooks: QueueHooks): JobQueue {
	const { redis, logger } = options;
	const queue = new Queue(JOB_QUEUE_NAME, { connection: redis, prefix: PREFIX });
	queue.on('error', (err) => logger.warn({ err: err.message }, 'job queue: Redis error'));
	/**
	 * Executions per job id here. The job manager may hold a second execution of a job behind the
	 * first (BullMQ handed it back): a job counts as running, for the lock watchdog and its owner's
	 * place in line, until the last of them ends.
	 */
	const running = new Map<string, number>();
	let closed = false;
	let worker: Worker | null = null;

	if (options.work) {
		if (!options.workerRedis) throw new TypeError('a worker needs its own blocking Redis connection');
		worker = new Worker(
			JOB_QUEUE_NAME,
			async (job: Job<{ owner: string }>, token?: string) => {
				const jobId = job.id!;
				running.set(jobId, (running.get(jobId) ?? 0) + 1);
				let requeued = false;
				try {
					const outcome = await hooks.worker(jobId);
					if (outcome === 'requeue' && token) {
						// Checkpointed by a shutdown: back in the line for another worker, not "completed".
						requeued = true;
						await job.moveToWait(token);
						throw new WaitingError();
					}
				} finally {
					const left = (running.get(jobId) ?? 1) - 1;
					if (left > 0) running.set(jobId, left);
					else running.delete(jobId);
					// Ended here: no longer counts against its owner's next runs (a requeued one still does).
					if (!requeued && left === 0) await redis.srem(ownerKey(job.data.owner), jobId).catch(() => 0);
				}
			},
			{
				connection: options.workerRedis,
				prefix: PREFIX,
				concurrency: options.concurrency,
				lockDuration: options.lockDurationMs ?? 15_000,
				stalledInterval: options.stalledIntervalMs ?? 5_000,
				// A stalled job is always given to another worker: the store, not BullMQ, says when a job has failed.
				maxStalledCount: 1_000_000,
				removeOnComplete: { count: 0 },
				removeOnFail: { count: 0 }
			}
		);
		worker.on('error', (err) => logger.warn({ err: err.message }, 'job worker: Redis error (jobs are taken again once it is back)'));
		worker.on('lockRenewalFailed', (ids) => {
			for (const id of ids) {
				logger.warn({ job_id: id }, 'lost the lock on a running job: stopping it here (another worker resumes it)');
				hooks.lost(id);
			}
		});
		watchLocks(options.workerRedis, (options.lockDurationMs ?? 15_000) / 4, () => {
			for (const id of running.keys()) {
				logger.warn({ job_id: id }, 'Redis unreachable for half a lock: stopping the job here (it resumes from its checkpoint)');
				hooks.lost(id);
			}
		});
	}

	options.subscriber.on('message', (channel: string, jobId: string) => {
		if (channel === CANCEL_CHANNEL) hooks.cancel(jobId);
		else if (channel === SETTLED_CHANNEL) hooks.settled(jobId);
	});
	const subscribed = options.subscriber.subscribe(CANCEL_CHANNEL, SETTLED_CHANNEL).catch((err: Error) => {
		logger.error({ err: err.message }, 'could not subscribe to job control messages');
	});

	return {
		shared: true,
		async enqueue(jobId, key = DEFAULT_QUEUE_KEY) {
			if (closed) return;
			try {
				const priority = Math.min(MAX_PRIORITY, Number(await redis.eval(ADD_OWNER_JOB, 1, ownerKey(key), jobId, DAY_S)));
				// The job id is the BullMQ id: adding one already waiting or running changes nothing.
				await queue.add('run', { owner: key }, { jobId, priority, removeOnComplete: true, removeOnFail: true });
			} catch (err) {
				throw new ServiceUnavailableError('The job queue', err);
			}
		},
		async remove(jobId) {
			try {
				const job = await queue.getJob(jobId);
				if (!job) return false;
				const removed = (await queue.remove(jobId)) === 1;
				if (removed) await redis.srem(ownerKey((job.data as { owner: string }).owner), jobId);
				return removed;
			} catch (err) {
				throw new ServiceUnavailableError('The job queue', err);
			}
		},
		running: () => [...running.keys()],
		waiting: () => [],
		async requestCancel(jobId) {
			try {
				await redis.set(cancelKey(jobId), '1', 'EX', DAY_S);
				await redis.publish(CANCEL_CHANNEL, jobId);
			} catch (err) {
				throw new ServiceUnavailableError('Cancelling a running job', err);
			}
		},
		async cancelRequested(jobId) {
			return (await redis.exists(cancelKey(jobId)).catch(() => 0)) === 1;
		},
		announceSettled(jobId) {
			void redis
				.del(cancelKey(jobId))
				.then(() => redis.publish(SETTLED_CHANNEL, jobId))
				.catch((err: Error) => logger.warn({ err: err.message, job_id: jobId }, 'could not announce a settled job'));
		},
		async notQueued(jobIds) {
			if (jobIds.length === 0) return [];
			// A BullMQ job is a hash under its id while it waits, runs or is delayed (removed once it ends).
			const pipeline = redis.pipeline();
			for (const id of jobIds) pipeline.exists(queue.toKey(id));
			const answers = await pipeline.exec();
			if (!answers) throw new ServiceUnavailableError('The job queue');
			return jobIds.filter((_, i) => {
				const [err, exists] = answers[i]!;
				if (err) throw new ServiceUnavailableError('The job queue', err);
				return exists === 0;
			});
		},
		async close() {
			closed = true;
			await subscribed;
			// Waits for the running jobs, which the manager has already told to checkpoint — unless
			// Redis cannot be reached: BullMQ would then wait for it for ever (their locks lapse and
			// another worker resumes them from their checkpoints).
			const reachable = [redis, options.workerRedis, options.subscriber].every((r) => r === undefined || r.status === 'ready');
			// Bounded as well: Redis may go between this check and the end of the close.
			const bound = options.lockDurationMs ?? 15_000;
			if (worker && !(await settlesWithin(worker.close(!reachable), bound))) void worker.close(true).catch(() => undefined);
			if (reachable && (await settlesWithin(queue.close(), bound))) {
				await settlesWithin(options.subscriber.unsubscribe(), bound);
			} else void queue.close().catch(() => undefined);
		}
	};
}

/**
 * Calls `onLapse` when `connection` has been down for `afterMs`. Lock renewals need Redis: when it
 * cannot be reached, BullMQ only reports an 'error' (never `lockRenewalFailed`, which needs an
 * answer), while the lock runs out and another worker may take the job over — and two runs of one
 * job would then pay for the same rows and write the same output. BullMQ renews a lock every half
 * of its life, so when the connection closes as much as half may be left: stopping here after a
 * quarter, before it can lapse, leaves exactly one run — the one that resumes it. (A half-open
 * connection that never closes is not seen here; the lock-renewal error then is BullMQ's.)
 */
function watchLocks(connection: Redis, afterMs: number, onLapse: () => void): void {
	let timer: ReturnType<typeof setTimeout> | null = null;
	connection.on('close', () => {
		if (timer) return;
		timer = setTimeout(() => {
			timer = null;
			onLapse();
		}, afterMs);
		timer.unref?.();
	});
	connection.on('ready', () => {
		if (timer) clearTimeout(timer);
		timer = null;
	});
}

/** True if `promise` settled (either way) within `ms`; false if it is still pending then. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
	try {
		return await Promise.race([
			promise.then(
				() => true as const,
				() => true as const
			),
			late
		]);
	} finally {
		clearTimeout(timer);
	}
}
