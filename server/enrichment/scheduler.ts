/**
 * One scheduler per API key for the whole process (DESIGN.md "Calling a slow, paid, rate-limited
 * API well"). Every HTTP attempt passes, in order, through:
 *
 *   FIFO in-flight cap (p-limit, adaptive) → token bucket (requests/min, Retry-After pause) → send
 *
 * Taking the slot before the token keeps the *send* rate under the bucket (taking tokens while
 * queued for a slot would let a burst through when slots free up). Failures the attempt marks as
 * `RetryableError` (408/429/5xx, network, malformed answers) and timeouts are retried with
 * full-jitter exponential backoff; a 429 halves the in-flight cap (at most once per cool-down); once
 * the cool-down has passed, each success adds one back (additive increase) up to the maximum.
 *
 * The configured rate is only where the bucket starts: every answer's `X-RateLimit-Limit` sets it
 * to the key's real limit (up or down at once, never above `maxRatePerMinute`), its
 * `X-RateLimit-Remaining` caps the tokens held, and a `Retry-After` pauses the key (`observeLimits`).
 * Answers without these headers change nothing.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { abortError, raceAbort, sleep } from './abortable';
import { backoffDelay } from './backoff';
import type { RateLimitInfo } from './rate-limit-headers';
import { TokenBucket } from './token-bucket';
import type { CallMeter } from './types';

export interface SchedulerOptions {
	/** Requests per minute allowed for this key (polls and retries included); answers' headers adjust it. */
	ratePerMinute: number;
	/** Never go above this, whatever the API's headers say (default: no ceiling). */
	maxRatePerMinute?: number;
	/** Requests that may go out back to back after an idle spell (default one second's worth). */
	burst?: number;
	/** Upper bound of the adaptive in-flight cap; the cap starts here. */
	maxInFlight: number;
	/** The cap never drops below this (default 1). */
	minInFlight?: number;
	/** Attempts per request, the first included (default 4). */
	maxAttempts?: number;
	/** Per-attempt timeout in ms, from the moment the request is sent (default 60 s). */
	requestTimeoutMs?: number;
	/** Backoff ceiling of the first retry and of any retry (ms; default 500 and 30 000). */
	backoffBaseMs?: number;
	backoffCapMs?: number;
	/** After a cut of the in-flight cap, no further cut and no growth for this long (default 1 000 ms): one 429 storm, one cut. */
	decreaseCooldownMs?: number;
	/** Injectable for tests. */
	random?: () => number;
	now?: () => number;
	/**
	 * The key's token bucket. Default: one in this process (token-bucket.ts); the scale-out mode
	 * passes one kept in Redis for the whole fleet (server/scale/redis-rate-bucket.ts).
	 */
	bucket?: RateBucket;
}

/** What the scheduler needs of a key's token bucket (requests/min, Retry-After pause, learnt rate). */
export interface RateBucket {
	/** Resolves when the caller may send one request; rejects with the signal's reason on abort. */
	acquire(signal?: AbortSignal): Promise<void>;
	setRate(ratePerMinute: number, burst?: number): void;
	/** The server says only `n` requests are left in its window. */
	capTokens(n: number): void;
	pause(ms: number): void;
	readonly ratePerMinute: number;
	readonly pausedForMs: number;
	readonly waiting: number;
	close(reason?: unknown): void;
}

/** Per-request settings; the scheduler-wide values apply where these are absent. */
export interface ScheduleOptions {
	signal?: AbortSignal;
	/** `requests` counts every request sent; `waiting` is raised while this request is held back. */
	meter?: Pick<CallMeter, 'requests' | 'waiting'>;
	timeoutMs?: number;
	maxAttempts?: number;
}

/** Thrown by an attempt to ask for a retry: 408/429/5xx, network failure, unreadable answer. */
export class RetryableError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		/** From a `Retry-After` header: the whole key pauses this long. */
		readonly retryAfterMs: number | null = null
	) {
		super(message);
		this.name = 'RetryableError';
	}
}

/** Every attempt failed with a retryable error; `cause` is the last one. */
export class AttemptsExhaustedError extends Error {
	constructor(
		readonly attempts: number,
		override readonly cause: RetryableError
	) {
		super(`${cause.message} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`);
		this.name = 'AttemptsExhaustedError';
	}
}

/** Live figures of one key's scheduler. */
export interface SchedulerStats {
	/** Requests sent and not yet answered. */
	inFlight: number;
	/** Requests waiting for an in-flight slot. */
	queued: number;
	/** Requests holding a slot, waiting for a rate-limit token (or a Retry-After pause). */
	waitingOnRateLimit: number;
	/** Requests sleeping before a retry. */
	backingOff: number;
	/** The adaptive in-flight cap right now. */
	concurrency: number;
	sent: number;
	succeeded: number;
	retries: number;
	rateLimited: number;
	timeouts: number;
	/** Remaining Retry-After pause of the key (ms). */
	pausedForMs: number;
	/** Requests per minute the bucket allows now: the configured start, or what the API said. */
	ratePerMinute: number;
	/** The limit the API's last `X-RateLimit-Limit` named (per minute), or null: none seen yet. */
	learnedLimitPerMinute: number | null;
	/** `X-RateLimit-Remaining` of the last answer that had one. */
	remaining: number | null;
}

export interface Scheduler {
	/**
	 * Runs `attempt` (one HTTP request) under the key's limits, retrying retryable failures.
	 * The attempt gets a signal that aborts on caller cancellation or on timeout.
	 */
	run<T>(attempt: (signal: AbortSignal) => Promise<T>, options?: ScheduleOptions): Promise<T>;
	stats(): SchedulerStats;
	/** What one answer's headers said about the key's limit (`readRateLimitHeaders`). */
	observeLimits(info: RateLimitInfo): void;
	/** Changes the rate or the cap ceiling while running (e.g. a new plan). */
	configure(options: { ratePerMinute?: number; burst?: number; maxInFlight?: number }): void;
	/** Rejects everything waiting for a token; in-flight requests finish on their own. */
	close(): void;
}

const NO_METER = { requests: 0, waiting: 0 };

/** A scheduler of its own (tests, or a key that must not share limits). */
export function createScheduler(options: SchedulerOptions): Scheduler {
	const minInFlight = positiveInt(options.minInFlight ?? 1, 'minInFlight');
	let maxInFlight = positiveInt(options.maxInFlight, 'maxInFlight');
	if (minInFlight > maxInFlight) throw new RangeError('minInFlight must not exceed maxInFlight');
	const defaultAttempts = positiveInt(options.maxAttempts ?? 4, 'maxAttempts');
	const defaultTimeout = options.requestTimeoutMs ?? 60_000;
	const backoff = { baseMs: options.backoffBaseMs ?? 500, capMs: options.backoffCapMs ?? 30_000, random: options.random };
	const cooldown = options.decreaseCooldownMs ?? 1_000;
	const now = options.now ?? (() => performance.now());
	const rateCeiling = options.maxRatePerMinute ?? Infinity;
	if (!(rateCeiling > 0)) throw new RangeError(`maxRatePerMinute must be positive, got ${rateCeiling}`);
	const bucket: RateBucket =
		options.bucket ?? new TokenBucket({ ratePerMinute: Math.min(options.ratePerMinute, rateCeiling), burst: options.burst, now });
	const limit: LimitFunction = pLimit(maxInFlight);
	let ratePerMinute = options.ratePerMinute;
	let learned: number | null = null;
	let remaining: number | null = null;
	let cap = maxInFlight;
	let lastCut = -Infinity;
	const figures = {
		inFlight: 0,
		queued: 0,
		waitingOnRateLimit: 0,
		backingOff: 0,
		sent: 0,
		succeeded: 0,
		retries: 0,
		rateLimited: 0,
		timeouts: 0
	};

	function setCap(next: number): void {
		cap = Math.min(maxInFlight, Math.max(minInFlight, next));
		const whole = Math.floor(cap);
		if (limit.concurrency !== whole) limit.concurrency = whole;
	}

	function onRateLimited(error: RetryableError): void {
		figures.rateLimited++;
		if (error.retryAfterMs != null && error.retryAfterMs > 0) bucket.pause(error.retryAfterMs);
		const t = now();
		if (t - lastCut >= cooldown) {
			lastCut = t;
			setCap(Math.floor(cap / 2));
		}
	}

	/** One attempt: wait for a slot, then a token, then send with a timeout. */
	function once<T>(
		attempt: (signal: AbortSignal) => Promise<T>,
		signal: AbortSignal | undefined,
		meter: ScheduleOptions['meter'] & object,
		timeoutMs: number
	): Promise<T> {
		if (signal?.aborted) return Promise.reject(abortError(signal));
		let state: 'queued' | 'started' | 'dead' = 'queued';
		let held = true;
		const release = () => {
			if (held) {
				held = false;
				meter.waiting--;
			}
		};
		const onAbort = () => {
			if (state === 'queued') {
				state = 'dead';
				figures.queued--;
			}
			release();
		};
		figures.queued++;
		meter.waiting++;
		signal?.addEventListener('abort', onAbort, { once: true });

		const run = limit(async (): Promise<T> => {
			if (state === 'dead') throw abortError(signal!);
			state = 'started';
			figures.queued--;
			figures.waitingOnRateLimit++;
			try {
				await bucket.acquire(signal);
			} finally {
				figures.waitingOnRateLimit--;
				release();
				signal?.removeEventListener('abort', onAbort);
			}
			return send(attempt, signal, meter, timeoutMs);
		});
		if (!signal) return run;
		return raceAbort(run, signal);
	}

	async function send<T>(
		attempt: (signal: AbortSignal) => Promise<T>,
		signal: AbortSignal | undefined,
		meter: { requests: number },
		timeoutMs: number
	): Promise<T> {
		figures.inFlight++;
		figures.sent++;
		meter.requests++;
		const controller = new AbortController();
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
		}, timeoutMs);
		const forward = () => controller.abort(abortError(signal!));
		signal?.addEventListener('abort', forward, { once: true });
		try {
			const result = await raceAbort(attempt(controller.signal), controller.signal);
			figures.succeeded++;
			if (cap < maxInFlight && now() - lastCut >= cooldown) setCap(cap + 1);
			return result;
		} catch (error) {
			if (timedOut && !signal?.aborted) {
				figures.timeouts++;
				throw new RetryableError(`no answer within ${timeoutMs} ms (timeout)`, null);
			}
			throw error;
		} finally {
			clearTimeout(timer);
			signal?.removeEventListener('abort', forward);
			figures.inFlight--;
		}
	}

	async function run<T>(attempt: (signal: AbortSignal) => Promise<T>, opts: ScheduleOptions = {}): Promise<T> {
		const { signal } = opts;
		const meter = opts.meter ?? { ...NO_METER };
		const maxAttempts = opts.maxAttempts ?? defaultAttempts;
		const timeoutMs = opts.timeoutMs ?? defaultTimeout;
		for (let n = 1; ; n++) {
			try {
				return await once(attempt, signal, meter, timeoutMs);
			} catch (error) {
				if (signal?.aborted) throw abortError(signal);
				if (!(error instanceof RetryableError)) throw error;
				if (error.status === 429) onRateLimited(error);
				if (n >= maxAttempts) throw new AttemptsExhaustedError(n, error);
				figures.retries++;
				figures.backingOff++;
				meter.waiting++;
				try {
					await sleep(backoffDelay(n - 1, backoff), signal);
				} finally {
					figures.backingOff--;
					meter.waiting--;
				}
			}
		}
	}

	function observeLimits(info: RateLimitInfo): void {
		if (info.limitPerMinute != null && info.limitPerMinute > 0) {
			learned = info.limitPerMinute;
			const target = Math.min(learned, rateCeiling);
			if (target !== bucket.ratePerMinute) bucket.setRate(target, options.burst);
		}
		if (info.remaining != null) {
			remaining = info.remaining;
			bucket.capTokens(info.remaining);
		}
		if (info.retryAfterMs != null && info.retryAfterMs > 0) bucket.pause(info.retryAfterMs);
	}

	return {
		run,
		observeLimits,
		stats: () => ({
			...figures,
			concurrency: limit.concurrency,
			pausedForMs: bucket.pausedForMs,
			ratePerMinute: bucket.ratePerMinute,
			learnedLimitPerMinute: learned,
			remaining
		}),
		configure(next) {
			if (next.ratePerMinute !== undefined || next.burst !== undefined) {
				bucket.setRate(next.ratePerMinute ?? ratePerMinute, next.burst);
				ratePerMinute = next.ratePerMinute ?? ratePerMinute;
			}
			if (next.maxInFlight !== undefined) {
				maxInFlight = positiveInt(next.maxInFlight, 'maxInFlight');
				setCap(Math.min(cap, maxInFlight));
			}
		},
		close: () => bucket.close()
	};
}

const registry = new Map<string, Scheduler>();

/**
 * The process-wide scheduler for `key` (an API key, or base URL + key): every job and block using
 * the key shares its rate and in-flight budget. The first caller's options create it; use
 * `configure` to change limits later.
 */
export function getScheduler(key: string, options: SchedulerOptions): Scheduler {
	let scheduler = registry.get(key);
	if (!scheduler) {
		scheduler = createScheduler(options);
		registry.set(key, scheduler);
	}
	return scheduler;
}

/** Drops (and closes) the scheduler of `key`, so the next `getScheduler` starts afresh. */
export function forgetScheduler(key: string): void {
	registry.get(key)?.close();
	registry.delete(key);
}

function positiveInt(value: number, name: string): number {
	if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number ≥ 1, got ${value}`);
	return value;
}
