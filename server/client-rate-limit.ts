/**
 * Per-client rate limits on the expensive, anonymous entry points: creating a workflow (a room, a
 * document and two tokens each) and uploading a CSV (disk). One token bucket per (rule, client
 * address): a client may burst, then goes at the sustained rate; over it → 429 with Retry-After,
 * and other clients are unaffected.
 *
 * Checked where node:http dispatches `/api` (index.ts), by method and path, before the body is
 * read — so a refused upload never reaches the disk.
 *
 * The client is the socket's address. `X-Forwarded-For` is believed only with `trustProxy` (set it
 * behind your own reverse proxy, else every user shares the proxy's bucket), and then only its
 * right-most entry: the address your proxy saw, which a client cannot forge by sending the header
 * itself. IPv6 clients are keyed by their /64, the block one subscriber usually holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import * as v from 'valibot';

export const RateLimitRuleSchema = v.object({
	/** Shown in the 429 message, e.g. "workflow creations". */
	name: v.pipe(v.string(), v.minLength(1)),
	method: v.pipe(v.string(), v.toUpperCase()),
	/** Exact request path (a trailing slash is ignored). */
	path: v.pipe(v.string(), v.startsWith('/')),
	/** Sustained requests per minute per client. */
	perMinute: v.pipe(v.number(), v.finite(), v.gtValue(0)),
	/** Requests a client may make back to back after an idle spell (default `perMinute`). */
	burst: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)))
});
export type RateLimitRule = v.InferOutput<typeof RateLimitRuleSchema>;

export interface ClientRateLimitOptions {
	rules: v.InferInput<typeof RateLimitRuleSchema>[];
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

export interface ClientRateLimit {
	/** Takes a token for `req` if a rule covers it; the refusal when the client is over. */
	check(req: IncomingMessage): RateLimitRefusal | null;
	/**
	 * `check`, and on refusal answers 429 `{ error: { code: 'rate_limited', message } }` with
	 * `Retry-After`. True when the request was answered (do not route it further).
	 * @example if (limits.refuse(req, res)) return;
	 */
	refuse(req: IncomingMessage, res: ServerResponse): boolean;
}

interface Bucket {
	tokens: number;
	updatedAt: number;
	capacity: number;
	/** Tokens added per ms. */
	perMs: number;
}

/** Builds the limiter; throws a TypeError naming a bad rule. */
export function createClientRateLimit(options: ClientRateLimitOptions): ClientRateLimit {
	const rules = options.rules.map((input, i) => {
		const parsed = v.safeParse(RateLimitRuleSchema, input);
		if (!parsed.success) throw new TypeError(`Invalid rate-limit rule ${i}: ${v.summarize(parsed.issues)}`);
		return { ...parsed.output, path: trimSlash(parsed.output.path) };
	});
	const now = options.now ?? (() => Date.now());
	const maxBuckets = options.maxBuckets ?? 10_000;
	const trustProxy = options.trustProxy ?? false;
	const buckets = new Map<string, Bucket>();

	const refill = (bucket: Bucket, t: number) => Math.min(bucket.capacity, bucket.tokens + Math.max(0, t - bucket.updatedAt) * bucket.perMs);

	/** Takes a token: null when granted, else whole seconds until one is there. */
	function take(rule: RateLimitRule, client: string): number | null {
		const key = `${rule.method} ${rule.path} ${client}`;
		const t = now();
		let bucket = buckets.get(key);
		if (bucket) {
			bucket.tokens = refill(bucket, t);
			bucket.updatedAt = t;
		} else {
			if (buckets.size >= maxBuckets) sweep(t);
			const capacity = rule.burst ?? Math.max(1, Math.floor(rule.perMinute));
			bucket = { tokens: capacity, updatedAt: t, capacity, perMs: rule.perMinute / 60_000 };
			buckets.set(key, bucket);
		}
		if (bucket.tokens >= 1) {
			bucket.tokens -= 1;
			return null;
		}
		return Math.max(1, Math.ceil((1 - bucket.tokens) / bucket.perMs / 1000));
	}

	/** Drops buckets that have refilled (forgetting them changes nothing), then the oldest while still full. */
	function sweep(t: number): void {
		for (const [key, bucket] of buckets) if (refill(bucket, t) >= bucket.capacity) buckets.delete(key);
		for (const key of buckets.keys()) {
			if (buckets.size < maxBuckets) break;
			buckets.delete(key);
		}
	}

	function check(req: IncomingMessage): RateLimitRefusal | null {
		const method = (req.method ?? 'GET').toUpperCase();
		const path = trimSlash((req.url ?? '/').split('?')[0]);
		const rule = rules.find((r) => r.method === method && r.path === path);
		if (!rule) return null;
		const client = clientAddress(req, trustProxy);
		const retryAfterS = take(rule, client);
		return retryAfterS === null ? null : { rule, client, retryAfterS };
	}

	return {
		check,
		refuse(req, res) {
			const refusal = check(req);
			if (!refusal) return false;
			const body = JSON.stringify({
				error: {
					code: 'rate_limited',
					message: `Too many ${refusal.rule.name} from your address: try again in ${refusal.retryAfterS} s`
				}
			});
			res.writeHead(429, {
				'content-type': 'application/json; charset=utf-8',
				'content-length': Buffer.byteLength(body),
				'retry-after': String(refusal.retryAfterS)
			});
			res.end(body);
			return true;
		}
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

function trimSlash(path: string): string {
	return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** The API's limits: creations and uploads per client per minute (0 = no limit). */
export interface ApiRateLimitOptions {
	workflowsPerMinute: number;
	uploadsPerMinute: number;
	trustProxy: boolean;
	now?: () => number;
}

/**
 * The limits `/api` applies: `POST /api/workflows` (create or import) and `POST
 * /api/workflows/upload`, each with bursts of up to a minute's worth.
 * @example const limits = createApiRateLimit({ workflowsPerMinute: 30, uploadsPerMinute: 10, trustProxy: false })
 */
export function createApiRateLimit(options: ApiRateLimitOptions): ClientRateLimit {
	const rules: ClientRateLimitOptions['rules'] = [];
	if (options.workflowsPerMinute > 0) {
		rules.push({ name: 'workflow creations', method: 'POST', path: '/api/workflows', perMinute: options.workflowsPerMinute });
	}
	if (options.uploadsPerMinute > 0) {
		rules.push({ name: 'uploads', method: 'POST', path: '/api/workflows/upload', perMinute: options.uploadsPerMinute });
	}
	return createClientRateLimit({ rules, trustProxy: options.trustProxy, now: options.now });
}
