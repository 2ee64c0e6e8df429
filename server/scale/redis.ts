/**
 * Redis connections of the scale-out mode (issue 11). `openRedis` connects once and fails fast at
 * start — a missing or unreachable Redis stops the process with one line naming it — and then
 * reconnects by itself for ever: a connection lost while running makes the commands that need it
 * fail (the API answers 503) until it is back, instead of queueing them without bound.
 *
 * BullMQ workers need their own blocking connection with `maxRetriesPerRequest: null`
 * (`forWorker`); everything else (queue producer, rate limits, pub/sub) uses short-fused ones.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { HttpError } from '../http-error';

/** Start-up failure a person can fix (Redis down, wrong URL): printed as its one-line message. */
export class ServiceUnreachableError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ServiceUnreachableError';
	}
}

/** Thrown while running when Redis cannot be reached: the API answers it as a 503 `service_unavailable`. */
export class ServiceUnavailableError extends HttpError {
	constructor(what: string, cause?: unknown) {
		super(503, 'service_unavailable', `${what} is unavailable (Redis cannot be reached); try again shortly`);
		this.name = 'ServiceUnavailableError';
		if (cause !== undefined) this.cause = cause;
	}
}

export interface OpenRedisOptions {
	/** A connection for a BullMQ Worker or a blocking reader: commands wait for a reconnect instead of failing. */
	forWorker?: boolean;
	/** Give up connecting at start after this long (default 5 000 ms). */
	connectTimeoutMs?: number;
}

/** `redis://user:secret@host:6379/2` → `redis://host:6379/2`: URLs are never printed with their password. */
export function redactRedisUrl(url: string): string {
	try {
		const u = new URL(url);
		u.username = '';
		u.password = '';
		return u.toString().replace(/\/$/, '');
	} catch {
		return 'an unreadable REDIS_URL';
	}
}

/**
 * Connects to `url` and resolves once Redis answers PING; rejects with a `ServiceUnreachableError`
 * naming the URL (without its password) and the reason. `name` is the connection's CLIENT SETNAME.
 * @example const redis = await openRedis(config.scaleOut.redisUrl, 'leadflow-rate')
 */
export async function openRedis(url: string, name: string, options: OpenRedisOptions = {}): Promise<Redis> {
	const timeout = options.connectTimeoutMs ?? 5_000;
	const base: RedisOptions = {
		connectionName: name,
		lazyConnect: true,
		connectTimeout: timeout,
		// Reconnect for ever, never faster than every 100 ms nor slower than every 2 s.
		retryStrategy: (times) => Math.min(100 * times, 2_000),
		...(options.forWorker
			? { maxRetriesPerRequest: null, enableReadyCheck: false }
			: { maxRetriesPerRequest: 1, enableOfflineQueue: false })
	};
	let redis: Redis;
	try {
		redis = new Redis(url, base);
	} catch (err) {
		throw new ServiceUnreachableError(`Cannot start: REDIS_URL is not a Redis URL (${(err as Error).message})`);
	}
	// Errors while running are reported through failed commands; an unhandled 'error' event would crash.
	let lastError: Error | null = null;
	redis.on('error', (err: Error) => {
		lastError = err;
	});
	try {
		await withTimeout(redis.connect(), timeout);
		await withTimeout(redis.ping(), timeout);
	} catch (err) {
		redis.disconnect();
		const why = (lastError ?? (err as Error))?.message ?? String(err);
		throw new ServiceUnreachableError(`Cannot start: Redis at ${redactRedisUrl(url)} (REDIS_URL) is unreachable: ${why}`);
	}
	return redis;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
		promise.then(
			(value) => {
				clearTimeout(timer);
				resolve(value);
			},
			(err: unknown) => {
				clearTimeout(timer);
				reject(err instanceof Error ? err : new Error(String(err)));
			}
		);
	});
}
