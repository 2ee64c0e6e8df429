/**
 * What one process of the scale-out mode (issue 11) puts on Redis instead of its own memory: the
 * job queue (BullMQ; jobs taken only by ROLE=worker or all), each API key's token bucket (one for
 * the fleet) and the per-client HTTP limits. `startScaleOut` connects first and fails with one line
 * naming Redis when it is missing or unreachable; afterwards every connection reconnects by itself.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { apiRateLimitRules, type ApiRateLimitOptions, type ApiRateLimitRule, type ClientRateLimit } from '../client-rate-limit';
import { createScheduler, type Scheduler, type SchedulerOptions } from '../enrichment/scheduler';
import { schedulerKey } from '../enrichment/service';
import type { JobQueue, QueueHooks } from '../jobs/queue';
import { createBullJobQueue } from './bull-queue';
import { createRedisClientRateLimit } from './redis-client-rate-limit';
import { createRedisRateBucket } from './redis-rate-bucket';
import { connectRedis, pingRedis } from './redis';

/** What a process does: web = HTTP and sockets, worker = runs jobs, all = both. */
export type ProcessRole = 'web' | 'worker' | 'all';

export interface ScaleOutOptions {
	redisUrl: string;
	role: ProcessRole;
	/** Jobs this worker runs at once (MAX_CONCURRENT_JOBS). */
	maxConcurrentJobs: number;
	rateLimits: Pick<ApiRateLimitOptions, 'workflowsPerMinute' | 'uploadsPerMinute' | 'runsPerMinute'>;
	trustProxy: boolean;
	logger: Logger;
	/** A running job's lock on BullMQ (ms, default 15 000; tests shorten it). */
	lockDurationMs?: number;
}

export interface ScaleOut {
	role: ProcessRole;
	/** True when this process takes jobs off the queue. */
	works: boolean;
	/** For `createJobManager({ createQueue })`. */
	createQueue(hooks: QueueHooks): JobQueue;
	/** A key's scheduler whose token bucket lives in Redis (for `createEnrichmentService({ scheduler })`). */
	scheduler(key: { baseUrl: string; apiKey: string }, options: Omit<SchedulerOptions, 'bucket'>): Scheduler;
	/** Per-client limits counted in Redis. */
	rateLimits: ClientRateLimit<ApiRateLimitRule>;
	/** Whether Redis answers now, within a second (for /healthz). Never rejects. */
	ping(): Promise<boolean>;
	/** Ends every Redis connection (after the job manager has shut down). */
	close(): Promise<void>;
}

/**
 * Connects to Redis (rejects with a `RedisStartError` when it cannot).
 * @example const scale = await startScaleOut({ redisUrl, role: 'worker', maxConcurrentJobs: 2, rateLimits, trustProxy: false, logger })
 */
export async function startScaleOut(options: ScaleOutOptions): Promise<ScaleOut> {
	const { redisUrl, logger } = options;
	const works = options.role !== 'web';
	const connections: Redis[] = [];
	const open = async (name: string, whileDown: 'fail' | 'wait' = 'fail') => {
		const redis = await connectRedis(redisUrl, { name, whileDown });
		connections.push(redis);
		// One line per outage and one when back, not one per failed command.
		let down = false;
		redis.on('error', (err: Error) => {
			if (!down) logger.error({ connection: name, err: err.message }, 'Redis connection lost: reconnecting');
			down = true;
		});
		redis.on('ready', () => {
			if (down) logger.info({ connection: name }, 'Redis connection back');
			down = false;
		});
		return redis;
	};
	try {
		const main = await open('queue');
		const subscriber = await open('queue-control', 'wait');
		const workerRedis = works ? await open('queue-worker', 'wait') : undefined;
		const schedulers: Scheduler[] = [];
		return {
			role: options.role,
			works,
			createQueue: (hooks) =>
				createBullJobQueue(
					{
						redis: main,
						workerRedis,
						subscriber,
						work: works,
						concurrency: options.maxConcurrentJobs,
						logger,
						...(options.lockDurationMs === undefined ? {} : { lockDurationMs: options.lockDurationMs })
					},
					hooks
				),
			scheduler(key, schedulerOptions) {
				const bucket = createRedisRateBucket({
					redis: main,
					id: schedulerKey(key.baseUrl, key.apiKey),
					ratePerMinute: Math.min(schedulerOptions.ratePerMinute, schedulerOptions.maxRatePerMinute ?? Infinity),
					burst: schedulerOptions.burst,
					onRedisError: (err) =>
						err
							? logger.warn({ err: (err as Error).message }, 'rate limit: Redis unreachable, API requests wait for it')
							: logger.info('rate limit: Redis back')
				});
				const scheduler = createScheduler({ ...schedulerOptions, bucket });
				schedulers.push(scheduler);
				return scheduler;
			},
			rateLimits: createRedisClientRateLimit({
				redis: main,
				rules: apiRateLimitRules(options.rateLimits),
				trustProxy: options.trustProxy
			}),
			ping: () => pingRedis(main),
			async close() {
				for (const s of schedulers) s.close();
				// QUIT waits for an answer: to a Redis that cannot be reached it would wait for ever (the
				// command queues until a reconnect), and a process being stopped would never stop.
				await Promise.all(
					connections.map(async (r) => {
						if (r.status !== 'ready') return r.disconnect();
						const quit = r.quit().catch(() => undefined);
						const late = setTimeout(() => r.disconnect(), 2_000);
						await quit;
						clearTimeout(late);
					})
				);
			}
		};
	} catch (err) {
		for (const r of connections) r.disconnect();
		throw err;
	}
}
