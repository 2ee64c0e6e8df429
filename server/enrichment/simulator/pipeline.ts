/**
 * The path every API request takes: counted (`meter`), authenticated (401), rate-limited (429 +
 * headers), body read (400) — then `deliver` applies the drawn fault and the simulated latency
 * and sends the answer, recording what was paid.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Charge } from './jobs';
import { sleep } from './latency';
import type { SimEndpoint } from './options';
import type { SimulatorState } from './state';

export type SimEnv = {
	/** Present when served by @hono/node-server (absent under `app.request()`). */
	Bindings: Partial<HttpBindings>;
	Variables: {
		apiKey: string;
		/** Set when nothing was sent (reset connection, aborted hang): no status is counted. */
		silent: boolean;
	};
};
export type SimContext = Context<SimEnv>;

/** What a handler produced: sent as JSON unless a fault intervenes; `charges` count only on 200. */
export interface Work {
	status: ContentfulStatusCode;
	body: unknown;
	charges: Charge[];
}

/** Bodies beyond this are refused with 413 before parsing. */
const MAX_BODY_BYTES = 2_000_000;

const KNOWN_PATHS = new Set([
	'/enrich-lead',
	'/people-intelligence',
	'/enrich-lead-async',
	'/enrich-company',
	'/company-intelligence',
	'/enrich-company-async',
	'/find-email',
	'/find-email-async',
	'/find-email-bulk',
	'/find-email-bulk-async',
	'/find-phone',
	'/find-phone-async'
]);

/** The `calls` key of a path: itself when known, `/job-status` for polls, else `other`. */
export function endpointKey(path: string): string {
	if (path.startsWith('/job-status/')) return '/job-status';
	return KNOWN_PATHS.has(path) ? path : 'other';
}

/** Counts requests, concurrency and answered statuses. */
export function meter(state: SimulatorState): MiddlewareHandler<SimEnv> {
	return async (c, next) => {
		state.stats.begin(endpointKey(c.req.path));
		try {
			await next();
		} finally {
			state.stats.finish(c.get('silent') ? null : c.res.status);
		}
	};
}

/** 401 unless `x-api-key` is the configured key (or, with none configured, any non-empty key). */
export function authenticate(state: SimulatorState): MiddlewareHandler<SimEnv> {
	return async (c, next) => {
		const key = c.req.header('x-api-key')?.trim() ?? '';
		const expected = state.options.apiKey;
		if (key === '' || (expected !== null && key !== expected)) {
			const rule = state.options.rateLimit;
			if (rule) setRateHeaders(c, state.limiter.peek(key, Date.now(), rule), rule.windowMs);
			return c.json({ detail: 'Invalid API key' }, 401);
		}
		c.set('apiKey', key);
		await next();
	};
}

/** Every admitted request (polls included) counts; over the limit → 429 with `Retry-After`. */
export function rateLimit(state: SimulatorState): MiddlewareHandler<SimEnv> {
	return async (c, next) => {
		const rule = state.options.rateLimit;
		if (!rule) return next();
		const decision = state.limiter.take(c.get('apiKey'), Date.now(), rule);
		setRateHeaders(c, decision, rule.windowMs);
		if (!decision.allowed) {
			c.header('Retry-After', String(decision.retryAfterSeconds));
			return c.json({ detail: 'Rate limit exceeded' }, 429);
		}
		await next();
	};
}

function setRateHeaders(c: SimContext, d: { limit: number; remaining: number; resetSeconds: number }, windowMs: number): void {
	// Per minute, as the real API sends it; another window is named the IETF way (`6;w=0.3`).
	c.header('X-RateLimit-Limit', windowMs === 60_000 ? String(d.limit) : `${d.limit};w=${Math.round(windowMs) / 1000}`);
	c.header('X-RateLimit-Remaining', String(d.remaining));
	c.header('X-RateLimit-Reset', String(d.resetSeconds));
}

/** The parsed JSON body, or the 400/413 answer to send instead. */
export async function readJson(c: SimContext): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
	const text = await c.req.text();
	if (text.length > MAX_BODY_BYTES) return { ok: false, response: c.json({ detail: 'Request body too large' }, 413) };
	try {
		return { ok: true, value: JSON.parse(text) as unknown };
	} catch {
		return { ok: false, response: c.json({ detail: 'Invalid JSON body' }, 400) };
	}
}

/**
 * Send `produce()`'s answer after the endpoint's latency — unless the drawn fault says otherwise.
 * A sync answer whose latency elapsed is paid even if the client has gone meanwhile: the work
 * was done, as with the real API.
 */
export async function deliver(c: SimContext, state: SimulatorState, endpoint: SimEndpoint, produce: () => Work): Promise<Response> {
	const fault = state.drawFault();
	if (fault) state.stats.fault(fault);
	if (fault === 'hung') return hang(c, state);
	if (!(await sleep(state.latencyMs(endpoint), state.shutdownSignal))) return shuttingDown(c);
	if (fault === 'error_500') return c.json({ detail: 'Internal Server Error' }, 500);
	if (fault === 'reset') return resetConnection(c);
	const work = produce();
	if (fault === 'malformed') {
		const text = JSON.stringify(work.body);
		return c.body(text.slice(0, Math.max(1, Math.floor(text.length * 0.6))), 200, { 'Content-Type': 'application/json' });
	}
	if (work.status === 200) state.charge(work.charges);
	return c.json(work.body, work.status);
}

/** Answer nothing until the client gives up (or the simulator stops); after `hangTimeoutMs`, 504. */
async function hang(c: SimContext, state: SimulatorState): Promise<Response> {
	const gaveUp = AbortSignal.any([c.req.raw.signal, state.shutdownSignal]);
	if (await sleep(state.options.hangTimeoutMs, gaveUp)) return c.json({ detail: 'Gateway Timeout' }, 504);
	c.set('silent', true);
	return c.body(null, 503);
}

/** Destroy the socket; under `app.request()` (no socket), a body stream that fails instead. */
function resetConnection(c: SimContext): Response {
	c.set('silent', true);
	const socket = c.env?.incoming?.socket;
	if (socket) {
		socket.destroy();
		return c.body(null, 503);
	}
	const failing = new ReadableStream<Uint8Array>({
		start(controller) {
			controller.error(Object.assign(new Error('Connection reset by simulator'), { code: 'ECONNRESET' }));
		}
	});
	return c.body(failing, 200, { 'Content-Type': 'application/json' });
}

function shuttingDown(c: SimContext): Response {
	c.set('silent', true);
	return c.json({ detail: 'Simulator shutting down' }, 503);
}
