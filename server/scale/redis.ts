/**
 * Redis connections for the scale-out mode (issue 11): one factory so every part (the message bus,
 * the queue, the fleet rate limits) gets the same reconnect policy, and one start-up check that
 * turns "Redis is not there" into the single line `main()` prints before exiting 1.
 *
 * A connection reconnects by itself, for ever, with a capped back-off; commands issued meanwhile
 * wait in ioredis' offline queue. URLs are never logged or echoed: they may hold a password.
 */
import { Redis, type RedisOptions } from 'ioredis';

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
