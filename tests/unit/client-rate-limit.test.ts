import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, createApiRateLimit, createClientRateLimit, normaliseAddress } from '../../server/client-rate-limit';

/** A request as node:http hands it over: only what the limiter reads. */
function request(method: string, url: string, remoteAddress = '203.0.113.7', headers: Record<string, string | string[]> = {}): IncomingMessage {
	return { method, url, headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function clock(start = 1_000_000) {
	let t = start;
	return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** Takes `n` requests; returns how many were refused. */
function hammer(limit: ReturnType<typeof createClientRateLimit>, req: () => IncomingMessage, n: number): number {
	let refused = 0;
	for (let i = 0; i < n; i++) if (limit.check(req())) refused++;
	return refused;
}

describe('per-client token buckets', () => {
	it.each([
		{ perMinute: 30, burst: undefined, allowed: 30 },
		{ perMinute: 30, burst: 5, allowed: 5 },
		{ perMinute: 10, burst: 1, allowed: 1 },
		{ perMinute: 0.5, burst: undefined, allowed: 1 }
	])('$perMinute/min with burst $burst lets $allowed through back to back', ({ perMinute, burst, allowed }) => {
		const c = clock();
		const limit = createClientRateLimit({ rules: [{ name: 'things', method: 'POST', path: '/x', perMinute, burst }], now: c.now });
		expect(hammer(limit, () => request('POST', '/x'), allowed + 3)).toBe(3);
	});

	it.each([
		{ perMinute: 60, waitMs: 999, passes: false },
		{ perMinute: 60, waitMs: 1_000, passes: true },
		{ perMinute: 6, waitMs: 9_000, passes: false },
		{ perMinute: 6, waitMs: 10_000, passes: true }
	])('after the burst, $perMinute/min refills one request in 60/$perMinute s (waited $waitMs ms → $passes)', ({ perMinute, waitMs, passes }) => {
		const c = clock();
		const limit = createClientRateLimit({ rules: [{ name: 'things', method: 'POST', path: '/x', perMinute, burst: 2 }], now: c.now });
		expect(hammer(limit, () => request('POST', '/x'), 3)).toBe(1);
		c.advance(waitMs);
		expect(limit.check(request('POST', '/x')) === null).toBe(passes);
	});

	it.each([
		{ perMinute: 30, expected: 2 },
		{ perMinute: 10, expected: 6 },
		{ perMinute: 1, expected: 60 },
		{ perMinute: 600, expected: 1 }
	])('a refusal at $perMinute/min says retry in $expected s', ({ perMinute, expected }) => {
		const limit = createClientRateLimit({ rules: [{ name: 'things', method: 'POST', path: '/x', perMinute, burst: 1 }], now: clock().now });
		expect(limit.check(request('POST', '/x'))).toBeNull();
		expect(limit.check(request('POST', '/x'))?.retryAfterS).toBe(expected);
	});

	it('counts each client separately: one over its limit does not slow another', () => {
		const limit = createClientRateLimit({ rules: [{ name: 'things', method: 'POST', path: '/x', perMinute: 10, burst: 2 }], now: clock().now });
		expect(hammer(limit, () => request('POST', '/x', '198.51.100.1'), 5)).toBe(3);
		expect(hammer(limit, () => request('POST', '/x', '198.51.100.2'), 2)).toBe(0);
		expect(limit.check(request('POST', '/x', '198.51.100.1'))?.client).toBe('198.51.100.1');
	});

	it('counts each rule separately', () => {
		const limit = createClientRateLimit({
			rules: [
				{ name: 'a', method: 'POST', path: '/a', perMinute: 10, burst: 1 },
				{ name: 'b', method: 'POST', path: '/b', perMinute: 10, burst: 1 }
			],
			now: clock().now
		});
		expect(limit.check(request('POST', '/a'))).toBeNull();
		expect(limit.check(request('POST', '/b'))).toBeNull();
		expect(limit.check(request('POST', '/a'))?.rule.name).toBe('a');
	});

	it.each([
		{ method: 'POST', url: '/api/workflows', limited: true },
		{ method: 'post', url: '/api/workflows', limited: true },
		{ method: 'POST', url: '/api/workflows/', limited: true },
		{ method: 'POST', url: '/api/workflows?x=1', limited: true },
		{ method: 'POST', url: '/api/workflows/upload', limited: true },
		{ method: 'POST', url: '/api/workflows/upload?workflow_id=abc', limited: true },
		{ method: 'GET', url: '/api/workflows', limited: false },
		{ method: 'GET', url: '/api/workflows/abc', limited: false },
		{ method: 'POST', url: '/api/workflows/run', limited: false },
		{ method: 'POST', url: '/api/workflows/jobs/1/retry', limited: false },
		{ method: 'POST', url: '/api/workflows/uploads', limited: false }
	])('the API limits cover $method $url: $limited', ({ method, url, limited }) => {
		const limit = createApiRateLimit({ workflowsPerMinute: 1, uploadsPerMinute: 1, trustProxy: false, now: clock().now });
		limit.check(request(method, url));
		expect(limit.check(request(method, url)) !== null).toBe(limited);
	});

	it.each([
		{ workflowsPerMinute: 0, uploadsPerMinute: 1, url: '/api/workflows', limited: false },
		{ workflowsPerMinute: 1, uploadsPerMinute: 0, url: '/api/workflows/upload', limited: false },
		{ workflowsPerMinute: 0, uploadsPerMinute: 1, url: '/api/workflows/upload', limited: true }
	])('a limit of 0 is no limit ($workflowsPerMinute, $uploadsPerMinute → $url limited: $limited)', ({ url, limited, ...settings }) => {
		const limit = createApiRateLimit({ ...settings, trustProxy: false, now: clock().now });
		limit.check(request('POST', url));
		expect(limit.check(request('POST', url)) !== null).toBe(limited);
	});

	it('keeps at most maxBuckets: refilled buckets go first, then the oldest', () => {
		const c = clock();
		const limit = createClientRateLimit({ rules: [{ name: 'x', method: 'POST', path: '/x', perMinute: 60, burst: 1 }], maxBuckets: 2, now: c.now });
		expect(limit.check(request('POST', '/x', '10.0.0.1'))).toBeNull();
		expect(limit.check(request('POST', '/x', '10.0.0.2'))).toBeNull();
		// Both buckets are empty; a third client forces out the oldest (10.0.0.1), which starts afresh.
		expect(limit.check(request('POST', '/x', '10.0.0.3'))).toBeNull();
		expect(limit.check(request('POST', '/x', '10.0.0.2'))).not.toBeNull();
		expect(limit.check(request('POST', '/x', '10.0.0.1'))).toBeNull();
	});

	it.each([
		{ rule: { name: '', method: 'POST', path: '/x', perMinute: 1 }, problem: 'name' },
		{ rule: { name: 'x', method: 'POST', path: 'x', perMinute: 1 }, problem: 'path' },
		{ rule: { name: 'x', method: 'POST', path: '/x', perMinute: 0 }, problem: 'perMinute' },
		{ rule: { name: 'x', method: 'POST', path: '/x', perMinute: Number.NaN }, problem: 'perMinute' },
		{ rule: { name: 'x', method: 'POST', path: '/x', perMinute: 1, burst: 0.5 }, problem: 'burst' }
	])('refuses a rule with a bad $problem', ({ rule }) => {
		expect(() => createClientRateLimit({ rules: [rule] })).toThrow(TypeError);
	});
});

describe('refuse()', () => {
	function fakeResponse() {
		const sent = { status: 0, headers: {} as Record<string, unknown>, body: '' };
		const res = {
			writeHead(status: number, headers: Record<string, unknown>) {
				sent.status = status;
				sent.headers = headers;
				return res;
			},
			end(body?: string) {
				sent.body = body ?? '';
				return res;
			}
		};
		return { res: res as unknown as ServerResponse, sent };
	}

	it('answers 429 JSON with Retry-After once the burst is spent, and leaves the request alone before', () => {
		const limit = createClientRateLimit({ rules: [{ name: 'uploads', method: 'POST', path: '/up', perMinute: 10, burst: 1 }], now: clock().now });
		const first = fakeResponse();
		expect(limit.refuse(request('POST', '/up'), first.res)).toBe(false);
		expect(first.sent.status).toBe(0);
		const second = fakeResponse();
		expect(limit.refuse(request('POST', '/up'), second.res)).toBe(true);
		expect(second.sent.status).toBe(429);
		expect(second.sent.headers['retry-after']).toBe('6');
		expect(JSON.parse(second.sent.body)).toEqual({ error: { code: 'rate_limited', message: 'Too many uploads from your address: try again in 6 s' } });
	});
});

describe('the client address', () => {
	it.each([
		{ trust: false, socket: '203.0.113.7', xff: '198.51.100.9', expected: '203.0.113.7' },
		{ trust: true, socket: '127.0.0.1', xff: '198.51.100.9', expected: '198.51.100.9' },
		// The right-most entry is what our proxy saw; a client cannot forge it by sending its own header.
		{ trust: true, socket: '127.0.0.1', xff: '1.2.3.4, 198.51.100.9', expected: '198.51.100.9' },
		{ trust: true, socket: '127.0.0.1', xff: '198.51.100.9, not-an-ip', expected: '198.51.100.9' },
		{ trust: true, socket: '127.0.0.1', xff: 'garbage', expected: '127.0.0.1' },
		{ trust: true, socket: '127.0.0.1', xff: undefined, expected: '127.0.0.1' },
		{ trust: true, socket: '127.0.0.1', xff: ['1.2.3.4', '198.51.100.10'], expected: '198.51.100.10' },
		{ trust: false, socket: '::ffff:192.0.2.5', xff: undefined, expected: '192.0.2.5' },
		{ trust: false, socket: '', xff: undefined, expected: 'unknown' }
	])('trustProxy $trust, socket $socket, X-Forwarded-For $xff → $expected', ({ trust, socket, xff, expected }) => {
		const headers: Record<string, string | string[]> = xff === undefined ? {} : { 'x-forwarded-for': xff };
		expect(clientAddress(request('POST', '/', socket, headers), trust)).toBe(expected);
	});

	it.each([
		{ raw: '192.0.2.1', expected: '192.0.2.1' },
		{ raw: '::ffff:192.0.2.1', expected: '192.0.2.1' },
		{ raw: '2001:db8:1:2:3:4:5:6', expected: '2001:db8:1:2::/64' },
		{ raw: '2001:db8:1:2:ffff::1', expected: '2001:db8:1:2::/64' },
		{ raw: '2001:0db8:0001:0002::9', expected: '2001:db8:1:2::/64' },
		{ raw: '[2001:db8::1]', expected: '2001:db8:0:0::/64' },
		{ raw: 'fe80::1%eth0', expected: 'fe80:0:0:0::/64' },
		{ raw: '::1', expected: '0:0:0:0::/64' },
		{ raw: 'example.com', expected: null },
		{ raw: '', expected: null },
		{ raw: '999.1.1.1', expected: null }
	])('normalises $raw → $expected', ({ raw, expected }) => {
		expect(normaliseAddress(raw)).toBe(expected);
	});

	it('puts two addresses of one IPv6 /64 in one bucket, and another /64 in its own', () => {
		const limit = createClientRateLimit({ rules: [{ name: 'x', method: 'POST', path: '/x', perMinute: 10, burst: 1 }], now: clock().now });
		expect(limit.check(request('POST', '/x', '2001:db8:1:2::a'))).toBeNull();
		expect(limit.check(request('POST', '/x', '2001:db8:1:2::b'))).not.toBeNull();
		expect(limit.check(request('POST', '/x', '2001:db8:1:3::a'))).toBeNull();
	});
});
