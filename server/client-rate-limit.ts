/**
 * Per-client rate limits on the expensive, anonymous entry points: creating a workflow (a room, a
 * document and two tokens each), uploading a CSV (disk) and starting a run (paid API calls). One
 * token bucket per (rule, client address): a client may burst, then goes at the sustained rate;
 * over it → 429 with Retry-After, and other clients are unaffected.
 *
 * Rules are named, not matched on a path: the API app (app.ts) puts `limitRequests(limits, rule)`
 * on the very routes that create, upload or run, so the router decides which bucket a request
 * spends however its path is spelt (`/api/x/../workflows`, `/api/./workflows`, `%77orkflows`…: a
 * raw-path comparison missed all of these). It runs before the body is read, so a refused upload
 * never reaches the disk.
 *
 * The client is the socket's address. `X-Forwarded-For` is believed only with `trustProxy` (set it
 * behind your own reverse proxy, else every user shares the proxy's bucket), and then only its
 * right-most entry: the address your proxy saw, which a client cannot forge by sending the header
 * itself. IPv6 clients are keyed by their /64, the block one subscriber usually holds.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import * as v from 'valibot';
import { TokenBucket } from './token-bucket';

export const RateLimitRuleSchema = v.object({
	/** Shown in the 429 message, e.g. "workflow creations". */
	name: v.pipe(v.string(), v.minLength(1)),
	/** Sustained requests per minute per client. */
	perMinute: v.pipe(v.number(), v.finite(), v.gtValue(0)),
	/** Requests a client may make back to back after an idle spell (default `perMinute`). */
	burst: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)))
});
export type RateLimitRule = v.InferOutput<typeof RateLimitRuleSchema>;

export interface ClientRateLimitOptions<K extends string = string> {
	/** The rules by id; the routes name the id they spend. */
	rules: Partial<Record<K, v.InferInput<typeof RateLimitRuleSchema>>>;
	/** Believe `X-Forwarded-For` (right-most entry). Default false. */
	trustProxy?: boolean;
	/** Buckets kept before idle ones are dropped (default 10 000): memory stays bounded under a flood of addresses. */
	maxBuckets?: number;
	/** Clock in ms (tests). */
	now?: () => number;
}

/** A request the limiter refused. */
export interface RateLimitRefusal {
	rule: RateLimitRule;
	client: string;
	/** Whole seconds until the client's next request of this kind would pass (≥ 1). */
	retryAfterS: number;
}

export interface ClientRateLimit<K extends string = string> {
	/**
	 * Takes a token of rule `rule` for `client`; the refusal when the client is over. A rule not
	 * configured never refuses. Asynchronous when the buckets live in Redis (scale-out), which may
	 * also throw a 503 while Redis cannot be reached.
	 */
	take(rule: K, client: string): RateLimitRefusal | null | Promise<RateLimitRefusal | null>;
	/** The client a request counts against (its address, see `clientAddress`). */
	clientOf(req: IncomingMessage): string;
}

/** The in-process limiter: its answers come at once. */
export interface LocalClientRateLimit<K extends string = string> extends ClientRateLimit<K> {
	take(rule: K, client: string): RateLimitRefusal | null;
}

/** The configured rules by id, checked; throws a TypeError naming a bad rule. */
export function parseRateLimitRules<K extends string>(input: ClientRateLimitOptions<K>['rules']): Map<string, RateLimitRule> {
	const rules = new Map<string, RateLimitRule>();
	for (const [id, rule] of Object.entries(input) as [K, v.InferInput<typeof RateLimitRuleSchema> | undefined][]) {
		if (!rule) continue;
		const parsed = v.safeParse(RateLimitRuleSchema, rule);
		if (!parsed.success) throw new TypeError(`Invalid rate-limit rule ${id}: ${v.summarize(parsed.issues)}`);
		rules.set(id, parsed.output);
	}
	return rules;
}

/** A rule's bucket: a burst of `burst` (default a minute's worth), refilled at `perMinute`. */
export function ruleBucket(rule: RateLimitRule): { capacity: number; perSecond: number } {
	return { capacity: rule.burst ?? Math.max(1, Math.floor(rule.perMinute)), perSecond: rule.perMinute / 60 };
}

/** Builds the limiter; throws a TypeError naming a bad rule. */
export function createClientRateLimit<K extends string>(options: ClientRateLimitOptions<K>): LocalClientRateLimit<K> {
	const rules = parseRateLimitRules(options.rules);
	const now = options.now ?? (() => Date.now());
	const maxBuckets = options.maxBuckets ?? 10_000;
	const trustProxy = options.trustProxy ?? false;
	const buckets = new Map<string, TokenBucket>();

	/** Drops buckets that have refilled (forgetting them changes nothing), then the oldest while still full. */
	function sweep(): void {
		for (const [key, bucket] of buckets) if (bucket.full) buckets.delete(key);
		for (const key of buckets.keys()) {
			if (buckets.size < maxBuckets) break;
			buckets.delete(key);
		}
	}

	return {
		take(id, client) {
			const rule = rules.get(id);
			if (!rule) return null;
			const key = `${id} ${client}`;
			let bucket = buckets.get(key);
			if (!bucket) {
				if (buckets.size >= maxBuckets) sweep();
				bucket = new TokenBucket({ ...ruleBucket(rule), now });
				buckets.set(key, bucket);
			}
			if (bucket.take()) return null;
			return { rule, client, retryAfterS: Math.max(1, Math.ceil(bucket.msUntil() / 1000)) };
		},
		clientOf: (req) => clientAddress(req, trustProxy)
	};
}

/** The node:http request under a Hono context, when the app is served by @hono/node-server. */
function incomingOf(env: unknown): IncomingMessage | null {
	const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
	return incoming && typeof incoming === 'object' && 'socket' in incoming ? incoming : null;
}

/**
 * Hono middleware that spends one token of `rule` for the request's client, or answers 429
 * `{ error: { code: 'rate_limited', message } }` with `Retry-After`. Put it on the route itself
 * (same method and path as the handler), so the router's matching decides what is counted.
 * Without a node:http request (`app.request()` in tests) every caller is one client, "unknown".
 * @example workflows.post('/upload', limitRequests(limits, 'uploads'))
 */
export function limitRequests<K extends string>(limits: ClientRateLimit<K> | undefined, rule: K): MiddlewareHandler {
	return async (c, next) => {
		const incoming = incomingOf(c.env);
		const refusal = await limits?.take(rule, incoming ? limits.clientOf(incoming) : 'unknown');
		if (!refusal) return next();
		c.header('Retry-After', String(refusal.retryAfterS));
		return c.json(
			{
				error: {
					code: 'rate_limited',
					message: `Too many ${refusal.rule.name} from your address: try again in ${refusal.retryAfterS} s`
				}
			},
			429
		);
	};
}

/**
 * The address a request is counted against: the socket's, or with `trustProxy` the right-most
 * valid `X-Forwarded-For` entry. IPv4-mapped IPv6 becomes IPv4; IPv6 is cut to its /64.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
	if (trustProxy) {
		const header = req.headers['x-forwarded-for'];
		const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
		for (let i = entries.length - 1; i >= 0; i--) {
			const candidate = normaliseAddress(entries[i].trim());
			if (candidate) return candidate;
		}
	}
	return normaliseAddress(req.socket?.remoteAddress ?? '') ?? 'unknown';
}

/** A canonical bucket key for an IP address; null when it is not one. */
export function normaliseAddress(raw: string): string | null {
	const address = raw.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
	if (isIPv4(address)) return address;
	if (!isIPv6(address)) return null;
	const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
	if (mapped && isIPv4(mapped[1])) return mapped[1];
	return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (valid input), as lower-case hex without leading zeros. */
function expandIPv6(address: string): string[] {
	let text = address.toLowerCase();
	const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
	if (v4) {
		const [a, b, c, d] = v4[1].split('.').map(Number);
		text = text.slice(0, -v4[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
	}
	const [head, tail] = text.split('::');
	const left = head ? head.split(':') : [];
	const right = tail === undefined ? [] : tail ? tail.split(':') : [];
	const zeros = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
	return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}

/** The rules of the API: what each limited route spends. */
export type ApiRateLimitRule = 'workflows' | 'uploads' | 'runs';

/** The API's limits: creations, uploads and runs per client per minute (0 = no limit). */
export interface ApiRateLimitOptions {
	workflowsPerMinute: number;
	uploadsPerMinute: number;
	/** Posted runs, shared runs and retries alike: each may spend money. */
	runsPerMinute: number;
	trustProxy: boolean;
	now?: () => number;
}

/**
 * The limits the API applies (app.ts names the routes): `workflows` on `POST /api/workflows`
 * (create or import), `uploads` on `POST /api/workflows/upload`, `runs` on `POST
 * /api/workflows/run` and `POST /api/workflows/jobs/:id/retry`; each with bursts of up to a minute's worth.
 * @example const limits = createApiRateLimit({ workflowsPerMinute: 30, uploadsPerMinute: 10, runsPerMinute: 10, trustProxy: false })
 */
export function createApiRateLimit(options: ApiRateLimitOptions): LocalClientRateLimit<ApiRateLimitRule> {
	return createClientRateLimit<ApiRateLimitRule>({ rules: apiRateLimitRules(options), trustProxy: options.trustProxy, now: options.now });
}

/** The API's rules from its per-minute settings (0 = that rule is off); the Redis limiter uses the same. */
export function apiRateLimitRules(
	options: Pick<ApiRateLimitOptions, 'workflowsPerMinute' | 'uploadsPerMinute' | 'runsPerMinute'>
): ClientRateLimitOptions<ApiRateLimitRule>['rules'] {
	const rule = (name: string, perMinute: number) => (perMinute > 0 ? { name, perMinute } : undefined);
	return {
		workflows: rule('workflow creations', options.workflowsPerMinute),
		uploads: rule('uploads', options.uploadsPerMinute),
		runs: rule('runs', options.runsPerMinute)
	};
}
