/**
 * Redis connections for the scale-out mode (issue 11): one factory so every part (the message bus,
 * the queue, the fleet rate limits) gets the same reconnect policy, and one start-up check that
 * turns "Redis is not there" into the single line `main()` prints before exiting 1.
 *
 * A connection reconnects by itself, for ever, with a capped back-off; commands issued meanwhile
 * wait in ioredis' offline queue. URLs are never logged or echoed: they may hold a password.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { HttpError } from '../http-error';

/** Longest pause between two reconnect attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * A connection to `url`, named `leadflow:<name>` in `CLIENT LIST` (so an operator sees who holds it).
 * @example const redis = openRedis(config.scaleOut.redisUrl, 'bus-pub')
 */
export function openRedis(url: string, name: string, options: RedisOptions = {}): Redis {
	return new Redis(url, {
		connectionName: `leadflow:${name}`,
		retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), MAX_RECONNECT_DELAY_MS),
		// A command waits for the connection to come back rather than failing after a few tries.
		maxRetriesPerRequest: null,
		...options
	});
}

/** The start-up error raised by `checkRedis`: its message is the one line to print. */
export class RedisUnavailableError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'RedisUnavailableError';
	}
}

/**
 * Resolves once Redis at `url` answers PING; otherwise rejects with a `RedisUnavailableError`
 * whose message names Redis and its host (never the password) — for `main()` to print and exit 1.
 * @example await checkRedis(config.scaleOut.redisUrl).catch((e) => { console.error(e.message); process.exit(1) })
 */
export async function checkRedis(url: string, timeoutMs = 5_000): Promise<void> {
	const where = describeRedisUrl(url);
	const probe = new Redis(url, {
		connectionName: 'leadflow:start-check',
		lazyConnect: true,
		retryStrategy: () => null,
		maxRetriesPerRequest: 0,
		enableOfflineQueue: false,
		connectTimeout: timeoutMs
	});
	// The error is reported through the rejection below; an unhandled 'error' event would crash.
	probe.on('error', () => {});
	try {
		await probe.connect();
		await probe.ping();
	} catch (error) {
		const why = error instanceof Error ? redactUrl(error.message, url) : 'no answer';
		throw new RedisUnavailableError(
			`Cannot start: Redis at ${where} is unreachable (${why}). Check REDIS_URL and that Redis is running.`
		);
	} finally {
		probe.disconnect();
	}
}

/** `host:port/db` of a Redis URL, without user or password. */
export function describeRedisUrl(url: string): string {
	try {
		const parsed = new URL(url);
		const db = parsed.pathname.replace(/^\//, '') || '0';
		return `${parsed.hostname}:${parsed.port || '6379'}/${db}`;
	} catch {
		return '(an invalid REDIS_URL)';
	}
}

/** `message` with the URL and its password (if any) cut out. */
function redactUrl(message: string, url: string): string {
	let out = message.split(url).join('REDIS_URL');
	try {
		const { password } = new URL(url);
		if (password) out = out.split(decodeURIComponent(password)).join('***').split(password).join('***');
	} catch {
		// not a URL: nothing more to hide
	}
	return out;
}

/*
 * Connections that must exist before the process serves (the queue, the fleet rate limits): connect
 * once and fail fast at start, then reconnect for ever; while Redis is away their commands fail
 * (the API answers 503) instead of queueing without bound. BullMQ workers need a blocking one
 * (`forWorker`: commands wait for a reconnect).
 */

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
 * @example const redis = await connectRedis(config.scaleOut.redisUrl, 'leadflow-rate')
 */
export async function connectRedis(url: string, name: string, options: OpenRedisOptions = {}): Promise<Redis> {
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
