/**
 * The per-client HTTP limits (workflow creations, uploads, runs — client-rate-limit.ts) counted in
 * Redis, so a client spreading its requests over every web process gets the same allowance as
 * against one. One small hash per (rule, client), refilled and spent by one Lua script on Redis's
 * clock, expiring once it would be full again (an idle client costs nothing). Same rules, same
 * 429 with Retry-After; while Redis cannot be reached the limited routes answer 503.
 */
import type { Redis } from 'ioredis';
import { clientAddress, parseRateLimitRules, ruleBucket, type ClientRateLimit, type ClientRateLimitOptions } from '../client-rate-limit';
import { ServiceUnavailableError } from './redis';

/**
 * KEYS: the bucket hash. ARGV: capacity, tokens per ms. Returns 0 when a token was taken, else the
 * whole ms until one will be there.
 */
const TAKE = `
local capacity, perMs = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens, last = tonumber(s[1]), tonumber(s[2])
if not tokens then tokens, last = capacity, now end
if now > last then tokens = math.min(capacity, tokens + (now - last) * perMs) end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / perMs) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', math.max(last, now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perMs) + 1000)
return wait`;

export interface RedisClientRateLimitOptions<K extends string> extends Pick<ClientRateLimitOptions<K>, 'rules' | 'trustProxy'> {
	redis: Redis;
	/** Key prefix (default `leadflow:client-rate`). */
	prefix?: string;
}

/**
 * The limiter for `limitRequests`, in Redis.
 * @example createRedisClientRateLimit({ redis, rules: apiRateLimitRules(config.rateLimits), trustProxy: config.trustProxy })
 */
export function createRedisClientRateLimit<K extends string>(options: RedisClientRateLimitOptions<K>): ClientRateLimit<K> {
	const rules = parseRateLimitRules(options.rules);
	const prefix = options.prefix ?? 'leadflow:client-rate';
	const trustProxy = options.trustProxy ?? false;
	return {
		async take(id, client) {
			const rule = rules.get(id);
			if (!rule) return null;
			const { capacity, perSecond } = ruleBucket(rule);
			let wait: number;
			try {
				wait = Number(await options.redis.eval(TAKE, 1, `${prefix}:${id}:${client}`, capacity, perSecond / 1_000));
			} catch (err) {
				throw new ServiceUnavailableError('Rate limiting', err);
			}
			if (wait === 0) return null;
			return { rule, client, retryAfterS: Math.max(1, Math.ceil(wait / 1000)) };
		},
		clientOf: (req) => clientAddress(req, trustProxy)
	};
}
