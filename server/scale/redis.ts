/**
 * Redis connections for the scale-out mode (issue 11). One factory, `connectRedis`, so every part
 * (the message bus, the job queue, the fleet rate limits) gets the same start-up check and the same
 * reconnect policy:
 * - at start it connects and waits for PING, or rejects with a `RedisStartError` whose message is
 *   the one line `main()` prints before exiting 1 (Redis's address and why, never the password);
 * - while running it reconnects by itself, for ever, with a capped back-off. What a command does
 *   meanwhile is the caller's choice (`whileDown`): fail at once (the API answers 503) or wait for
 *   the connection to come back (pub/sub, BullMQ workers).
 *
 * URLs are never logged or echoed with their password.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { HttpError } from '../http-error';

/** Longest pause between two reconnect attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000;

export interface ConnectRedisOptions {
	/** Shown as `leadflow:<name>` in `CLIENT LIST`, so an operator sees who holds a connection. */
	name: string;
	/**
	 * What a command does while the connection is lost:
	 * - `'fail'` (default): it fails at once, so a request answers 503 instead of hanging — the
	 *   queue's producer, the rate limits;
	 * - `'wait'`: it waits in ioredis' offline queue until the connection is back — pub/sub (a
	 *   subscriber re-subscribes by itself) and BullMQ workers (which require it).
	 */
	whileDown?: 'fail' | 'wait';
	/** Give up connecting at start after this long (default 5 000 ms). */
	connectTimeoutMs?: number;
}

/** Start-up failure a person can fix (Redis down, wrong URL): its message is the one line to print. */
export class RedisStartError extends Error {
	override name = 'RedisStartError';
}

/** Thrown while running when Redis cannot be reached: the API answers it as a 503 `service_unavailable`. */
export class ServiceUnavailableError extends HttpError {
	constructor(what: string, cause?: unknown) {
		super(503, 'service_unavailable', `${what} is unavailable (Redis cannot be reached); try again shortly`);
		this.name = 'ServiceUnavailableError';
		if (cause !== undefined) this.cause = cause;
	}
}

/**
 * A connection to `url` that answers PING, reconnecting by itself from then on.
 * Rejects with a `RedisStartError` when Redis cannot be reached within `connectTimeoutMs`.
 * @example const redis = await connectRedis(config.scaleOut.redisUrl, { name: 'rate-limits' })
 * @example const sub = await connectRedis(url, { name: 'bus-sub', whileDown: 'wait' })
 */
export async function connectRedis(url: string, options: ConnectRedisOptions): Promise<Redis> {
	const timeout = options.connectTimeoutMs ?? 5_000;
	const settings: RedisOptions = {
		connectionName: `leadflow:${options.name}`,
		lazyConnect: true,
		connectTimeout: timeout,
		retryStrategy: (attempt) => Math.min(100 * attempt, MAX_RECONNECT_DELAY_MS),
		...(options.whileDown === 'wait' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false })
	};
	let redis: Redis;
	try {
		redis = new Redis(url, settings);
	} catch (err) {
		throw new RedisStartError(`Cannot start: REDIS_URL is not a Redis URL (${redact((err as Error).message, url)})`);
	}
	// Errors while running show as failed (or waiting) commands; an unhandled 'error' event would crash.
	let lastError: Error | null = null;
	redis.on('error', (err: Error) => {
		lastError = err;
	});
	try {
		await withTimeout(redis.connect(), timeout);
		await withTimeout(redis.ping(), timeout);
	} catch (err) {
		redis.disconnect();
		const why = redact((lastError ?? (err as Error))?.message ?? String(err), url);
		throw new RedisStartError(`Cannot start: Redis at ${redactRedisUrl(url)} (REDIS_URL) is unreachable: ${why}`);
	}
	return redis;
}

/**
 * Whether `redis` answers PING within `timeoutMs` (for /healthz). Never rejects.
 * @example const up = await pingRedis(redis)
 */
export function pingRedis(redis: Redis, timeoutMs = 1_000): Promise<boolean> {
	return withTimeout(redis.ping(), timeoutMs).then(
		() => true,
		() => false
	);
}

/** `redis://user:secret@host:6379/2` → `redis://host:6379/2`: URLs are never printed with their password. */
export function redactRedisUrl(url: string): string {
	try {
		const u = new URL(url);
		u.username = '';
		u.password = '';
		// ioredis also reads `?password=` (and other options) from the query: none of it is shown.
		u.search = '';
		u.hash = '';
		return u.toString().replace(/\/$/, '');
	} catch {
		return 'an unreadable REDIS_URL';
	}
}

/** `message` with the URL and its password (if any) cut out. */
function redact(message: string, url: string): string {
	let out = message.split(url).join('REDIS_URL');
	try {
		const { password } = new URL(url);
		// The raw form first: a malformed %-escape must not stop the plain password being hidden.
		if (password) out = out.split(password).join('***');
		if (password) {
			try {
				out = out.split(decodeURIComponent(password)).join('***');
			} catch {
				// not decodable: the raw form was all there was to hide
			}
		}
	} catch {
		// not a URL: nothing more to hide
	}
	return out.replace(/\s+/g, ' ');
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
