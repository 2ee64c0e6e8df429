/**
 * One API key's token bucket for the whole fleet (issue 11): the policy of
 * enrichment/token-bucket.ts — `burst` tokens when full, refilled so that no 60 s ever holds more
 * than the key's requests/min, a Retry-After pause that empties it, a cap from
 * `X-RateLimit-Remaining` — kept in one Redis hash and changed only by one Lua script, so N
 * workers together never exceed the key's limit. The rate learnt from the API's headers is written
 * there too: every worker spends at the limit any one of them learnt.
 *
 * The refill is `rate − 2 × burst` per minute (the in-process bucket's is `rate − burst`): one more
 * second's worth is held back because a token granted in Redis travels through a process and the
 * network before its request reaches the API, and across several loaded processes that delay
 * varies by up to about a second — two requests granted 60 s apart can arrive 59.5 s apart. The
 * cost is 1/60 of the key's rate (`npm run bench -- scale`: ≥ 0.95 of the limit).
 *
 * Fair like the in-process bucket: requests are served first come first served across the fleet.
 * Each waiting request holds a place in a Redis line (a sorted set by arrival) and gets a token
 * only when everyone ahead of it has had theirs; it sleeps until the script says its turn can have
 * come. Places are leased: a request whose process died without leaving the line is dropped after
 * `leaseMs`, so a crash never blocks the key.
 *
 * While Redis cannot be reached a request waits (and retries every `retryMs`) instead of failing:
 * a job held up by Redis resumes when it is back and no row fails for it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { abortError, sleep } from '../enrichment/abortable';
import type { RateBucket } from '../enrichment/scheduler';

/**
 * The bucket's one script. KEYS: state hash, line (zset by arrival), leases (zset by expiry).
 * ARGV: op, member, lease ms, start rate/min, start burst, op argument. Time is Redis's own
 * (TIME), so the processes' clocks never matter. Returns { wait ms (0: token taken), rate, pause ms }.
 */
const SCRIPT = `
local op, member, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'tokens', 'last', 'rate', 'burst', 'paused')
local rate, burst, tokens, last, paused = tonumber(s[3]), tonumber(s[4]), tonumber(s[1]), tonumber(s[2]), tonumber(s[5])
if not rate then
  rate, burst = tonumber(ARGV[4]), tonumber(ARGV[5])
  tokens, last, paused = burst, now, 0
end
local function perMs()
  if 2 * burst < rate then return (rate - 2 * burst) / 60000 end
  if burst < rate then return (rate - burst) / 60000 end
  return rate / 60000
end
local from = math.max(last, paused)
if now > from then tokens = math.min(burst, tokens + (now - from) * perMs()) end
last = math.max(last, now)
local wait = 0
if op == 'acquire' then
  local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  if #dead > 0 then
    redis.call('ZREM', KEYS[2], unpack(dead))
    redis.call('ZREM', KEYS[3], unpack(dead))
  end
  if not redis.call('ZSCORE', KEYS[2], member) then
    redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[1], 'seq', 1), member)
  end
  local rank = redis.call('ZRANK', KEYS[2], member)
  if now >= paused and tokens >= rank + 1 then
    tokens = tokens - 1
    redis.call('ZREM', KEYS[2], member)
    redis.call('ZREM', KEYS[3], member)
  else
    redis.call('ZADD', KEYS[3], now + lease, member)
    wait = math.max(1, math.max(0, paused - now) + math.ceil(math.max(0, rank + 1 - tokens) / perMs()))
  end
elseif op == 'leave' then
  redis.call('ZREM', KEYS[2], member)
  redis.call('ZREM', KEYS[3], member)
elseif op == 'pause' then
  local untilMs = now + tonumber(ARGV[6])
  if untilMs > paused then
    paused = untilMs
    tokens = 0
  end
elseif op == 'cap' then
  tokens = math.max(0, math.min(tokens, tonumber(ARGV[6])))
elseif op == 'rate' then
  rate = tonumber(ARGV[6])
  burst = tonumber(ARGV[7])
  tokens = math.min(tokens, burst)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', last, 'rate', tostring(rate), 'burst', tostring(burst), 'paused', paused)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], 86400000) end
return { wait, tostring(rate), math.max(0, paused - now) }
`;

export interface RedisRateBucketOptions {
	redis: Redis;
	/** What identifies the key's budget (base URL + API key); stored only as a hash. */
	id: string;
	/** Where the rate starts when the fleet has no state for the key yet. */
	ratePerMinute: number;
	/** Tokens that may go back to back (default one second's worth, ≥ 1). */
	burst?: number;
	/** How long a waiting request's place survives without its process renewing it (default 10 000 ms). */
	leaseMs?: number;
	/** Pause between attempts while Redis cannot be reached (default 250 ms). */
	retryMs?: number;
	/** Told once per outage that Redis could not be reached (and once when it is back). */
	onRedisError?: (error: unknown) => void;
}

/** The Redis key prefix of a budget: a hash of its id, so no API key is ever written to Redis. */
export function rateBucketKey(id: string): string {
	return `leadflow:rate:${createHash('sha256').update(id).digest('hex').slice(0, 24)}`;
}

/**
 * The fleet-wide bucket, for `createScheduler({ bucket })`.
 * @example createScheduler({ ratePerMinute: 600, maxInFlight: 100, bucket: createRedisRateBucket({ redis, id: schedulerKey(url, key), ratePerMinute: 600 }) })
 */
export function createRedisRateBucket(options: RedisRateBucketOptions): RateBucket {
	const { redis } = options;
	const base = rateBucketKey(options.id);
	const keys = [`${base}:state`, `${base}:line`, `${base}:leases`];
	const leaseMs = options.leaseMs ?? 10_000;
	const retryMs = options.retryMs ?? 250;
	const processTag = randomBytes(6).toString('hex');
	let serial = 0;
	let rate = options.ratePerMinute;
	let burst = defaultBurst(options.burst, rate);
	let pausedUntil = 0;
	let waiting = 0;
	let closed: unknown = null;
	let down = false;
	const sleepers = new Set<AbortController>();

	async function call(op: string, member = '', ...extra: (string | number)[]): Promise<number> {
		const reply = (await redis.eval(SCRIPT, 3, ...keys, op, member, leaseMs, rate, burst, ...extra)) as [number, string, number];
		if (down) {
			down = false;
			options.onRedisError?.(null);
		}
		rate = Number(reply[1]);
		pausedUntil = Date.now() + Number(reply[2]);
		return Number(reply[0]);
	}

	/** A change every process must see (learnt rate, cap, pause): sent, not awaited; lost only with Redis itself. */
	function fireAndForget(op: string, ...extra: number[]) {
		call(op, '', ...extra).catch(noteDown);
	}

	function noteDown(err: unknown) {
		if (!down) {
			down = true;
			options.onRedisError?.(err);
		}
	}

	/** Sleeps `ms`, ending early on the caller's abort or on close. */
	async function pauseFor(ms: number, signal?: AbortSignal) {
		if (signal?.aborted) throw abortError(signal);
		const stop = new AbortController();
		sleepers.add(stop);
		const onAbort = () => stop.abort(abortError(signal!));
		signal?.addEventListener('abort', onAbort, { once: true });
		try {
			await sleep(ms, stop.signal);
		} finally {
			sleepers.delete(stop);
			signal?.removeEventListener('abort', onAbort);
		}
	}

	return {
		async acquire(signal) {
			if (signal?.aborted) throw abortError(signal);
			if (closed) throw closed;
			const member = `${processTag}:${++serial}`;
			waiting++;
			try {
				for (;;) {
					let wait: number;
					try {
						wait = await call('acquire', member);
					} catch (err) {
						if (closed) throw closed;
						noteDown(err);
						wait = retryMs;
					}
					if (wait === 0) return;
					// Wake before the place's lease runs out, to renew it.
					await pauseFor(Math.min(wait, leaseMs / 2), signal);
					if (closed) throw closed;
				}
			} catch (err) {
				call('leave', member).catch(() => undefined);
				throw signal?.aborted ? abortError(signal) : err;
			} finally {
				waiting--;
			}
		},
		setRate(ratePerMinute, nextBurst) {
			rate = checkRate(ratePerMinute);
			burst = defaultBurst(nextBurst, rate);
			fireAndForget('rate', rate, burst);
		},
		capTokens(n) {
			fireAndForget('cap', Math.max(0, n));
		},
		pause(ms) {
			pausedUntil = Math.max(pausedUntil, Date.now() + ms);
			fireAndForget('pause', Math.max(0, Math.ceil(ms)));
		},
		get ratePerMinute() {
			return rate;
		},
		get pausedForMs() {
			return Math.max(0, pausedUntil - Date.now());
		},
		get waiting() {
			return waiting;
		},
		close(reason: unknown = new Error('token bucket closed')) {
			closed = reason;
			for (const s of sleepers) s.abort(reason);
		}
	};
}

function checkRate(ratePerMinute: number): number {
	if (!(ratePerMinute > 0) || !Number.isFinite(ratePerMinute)) {
		throw new RangeError(`rate limit must be a positive number of requests per minute, got ${ratePerMinute}`);
	}
	return ratePerMinute;
}

function defaultBurst(burst: number | undefined, ratePerMinute: number): number {
	if (burst === undefined) return Math.max(1, Math.floor(ratePerMinute / 60));
	if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst must be at least 1, got ${burst}`);
	return burst;
}
