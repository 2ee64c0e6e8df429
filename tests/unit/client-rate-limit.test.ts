import type { IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { clientAddress, createApiRateLimit, createClientRateLimit, limitRequests, normaliseAddress } from '../../server/client-rate-limit';

/** A request as node:http hands it over: only what the limiter reads. */
function request(
	method: string,
	url: string,
	remoteAddress = '203.0.113.7',
	headers: Record<string, string | string[]> = {}
): IncomingMessage {
	return { method, url, headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function clock(start = 1_000_000) {
	let t = start;
	return { now: () => t, advance: (ms: number) => (t += ms) };
}

type Limit = ReturnType<typeof createClientRateLimit<string>>;

/** Takes `n` tokens of rule `x` for `client`; returns how many were refused. */
function hammer(limit: Limit, n: number, client = '203.0.113.7', rule = 'x'): number {
	let refused = 0;
	for (let i = 0; i < n; i++) if (limit.take(rule, client)) refused++;
	return refused;
}

describe('per-client token buckets', () => {
	it.each([
		{ perMinute: 30, burst: undefined, allowed: 30 },
		{ perMinute: 30, burst: 5, allowed: 5 },
		{ perMinute: 10, burst: 1, allowed: 1 },
		{ perMinute: 0.5, burst: undefined, allowed: 1 }
	])('$perMinute/min with burst $burst lets $allowed through back to back', ({ perMinute, burst, allowed }) => {
		const limit = createClientRateLimit({ rules: { x: { name: 'things', perMinute, burst } }, now: clock().now });
		expect(hammer(limit, allowed + 3)).toBe(3);
	});

	it.each([
		{ perMinute: 60, waitMs: 999, passes: false },
		{ perMinute: 60, waitMs: 1_000, passes: true },
		{ perMinute: 6, waitMs: 9_000, passes: false },
		{ perMinute: 6, waitMs: 10_000, passes: true }
	])(
		'after the burst, $perMinute/min refills one request in 60/$perMinute s (waited $waitMs ms → $passes)',
		({ perMinute, waitMs, passes }) => {
			const c = clock();
			const limit = createClientRateLimit({ rules: { x: { name: 'things', perMinute, burst: 2 } }, now: c.now });
			expect(hammer(limit, 3)).toBe(1);
			c.advance(waitMs);
			expect(limit.take('x', '203.0.113.7') === null).toBe(passes);
		}
	);

	it.each([
		{ perMinute: 30, expected: 2 },
		{ perMinute: 10, expected: 6 },
		{ perMinute: 1, expected: 60 },
		{ perMinute: 600, expected: 1 }
	])('a refusal at $perMinute/min says retry in $expected s', ({ perMinute, expected }) => {
		const limit = createClientRateLimit({ rules: { x: { name: 'things', perMinute, burst: 1 } }, now: clock().now });
		expect(limit.take('x', 'a')).toBeNull();
		expect(limit.take('x', 'a')?.retryAfterS).toBe(expected);
	});

	it('counts each client separately: one over its limit does not slow another', () => {
		const limit = createClientRateLimit({ rules: { x: { name: 'things', perMinute: 10, burst: 2 } }, now: clock().now });
		expect(hammer(limit, 5, '198.51.100.1')).toBe(3);
		expect(hammer(limit, 2, '198.51.100.2')).toBe(0);
		expect(limit.take('x', '198.51.100.1')?.client).toBe('198.51.100.1');
	});

	it('counts each rule separately, and a rule that is not configured never refuses', () => {
		const limit = createClientRateLimit({
			rules: { a: { name: 'a', perMinute: 10, burst: 1 }, b: { name: 'b', perMinute: 10, burst: 1 } },
			now: clock().now
		});
		expect(limit.take('a', 'c')).toBeNull();
		expect(limit.take('b', 'c')).toBeNull();
		expect(limit.take('a', 'c')?.rule.name).toBe('a');
		expect(hammer(limit, 100, 'c', 'unset')).toBe(0);
	});

	it.each([
		{ rule: 'workflows', limited: true },
		{ rule: 'uploads', limited: true },
		{ rule: 'runs', limited: true }
	] as const)('the API has a $rule rule', ({ rule, limited }) => {
		const limit = createApiRateLimit({
			workflowsPerMinute: 1,
			uploadsPerMinute: 1,
			runsPerMinute: 1,
			trustProxy: false,
			now: clock().now
		});
		limit.take(rule, 'c');
		expect(limit.take(rule, 'c') !== null).toBe(limited);
	});

	it.each([
		{ settings: { workflowsPerMinute: 0, uploadsPerMinute: 1, runsPerMinute: 1 }, rule: 'workflows', limited: false },
		{ settings: { workflowsPerMinute: 1, uploadsPerMinute: 0, runsPerMinute: 1 }, rule: 'uploads', limited: false },
		{ settings: { workflowsPerMinute: 1, uploadsPerMinute: 1, runsPerMinute: 0 }, rule: 'runs', limited: false },
		{ settings: { workflowsPerMinute: 0, uploadsPerMinute: 1, runsPerMinute: 0 }, rule: 'uploads', limited: true }
	] as const)('a limit of 0 is no limit ($settings → $rule limited: $limited)', ({ settings, rule, limited }) => {
		const limit = createApiRateLimit({ ...settings, trustProxy: false, now: clock().now });
		limit.take(rule, 'c');
		expect(limit.take(rule, 'c') !== null).toBe(limited);
	});

	it('keeps at most maxBuckets: refilled buckets go first, then the oldest', () => {
		const c = clock();
		const limit = createClientRateLimit({ rules: { x: { name: 'x', perMinute: 60, burst: 1 } }, maxBuckets: 2, now: c.now });
		expect(limit.take('x', '10.0.0.1')).toBeNull();
		expect(limit.take('x', '10.0.0.2')).toBeNull();
		// Both buckets are empty; a third client forces out the oldest (10.0.0.1), which starts afresh.
		expect(limit.take('x', '10.0.0.3')).toBeNull();
		expect(limit.take('x', '10.0.0.2')).not.toBeNull();
		expect(limit.take('x', '10.0.0.1')).toBeNull();
	});

	it.each([
		{ rule: { name: '', perMinute: 1 }, problem: 'name' },
		{ rule: { name: 'x', perMinute: 0 }, problem: 'perMinute' },
		{ rule: { name: 'x', perMinute: Number.NaN }, problem: 'perMinute' },
		{ rule: { name: 'x', perMinute: 1, burst: 0.5 }, problem: 'burst' }
	])('refuses a rule with a bad $problem', ({ rule }) => {
		expect(() => createClientRateLimit({ rules: { x: rule } })).toThrow(TypeError);
	});
});

describe('limitRequests() on a route', () => {
	function appWith(limit: Limit) {
		return new Hono()
			.post('/up', limitRequests(limit, 'x'))
			.post('/up', (c) => c.text('stored'))
			.post('/other', (c) => c.text('other'));
	}
	const env = (remoteAddress: string) => ({ incoming: request('POST', '/up', remoteAddress) });

	it('answers 429 JSON with Retry-After once the burst is spent, and lets the handler answer before', async () => {
		const app = appWith(createClientRateLimit({ rules: { x: { name: 'uploads', perMinute: 10, burst: 1 } }, now: clock().now }));
		const first = await app.request('/up', { method: 'POST' }, env('198.51.100.1'));
		expect(await first.text()).toBe('stored');
		const second = await app.request('/up', { method: 'POST' }, env('198.51.100.1'));
		expect(second.status).toBe(429);
		expect(second.headers.get('retry-after')).toBe('6');
		expect(await second.json()).toEqual({
			error: { code: 'rate_limited', message: 'Too many uploads from your address: try again in 6 s' }
		});
		// Another address, and another route of the same address, are not touched.
		expect((await app.request('/up', { method: 'POST' }, env('198.51.100.2'))).status).toBe(200);
		expect((await app.request('/other', { method: 'POST' }, env('198.51.100.1'))).status).toBe(200);
	});

	it('counts every caller as one client when there is no socket (app.request without env)', async () => {
		const app = appWith(createClientRateLimit({ rules: { x: { name: 'uploads', perMinute: 10, burst: 1 } }, now: clock().now }));
		expect((await app.request('/up', { method: 'POST' })).status).toBe(200);
		expect((await app.request('/up', { method: 'POST' })).status).toBe(429);
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
		const limit = createClientRateLimit({ rules: { x: { name: 'x', perMinute: 10, burst: 1 } }, now: clock().now });
		const take = (address: string) => limit.take('x', limit.clientOf(request('POST', '/x', address)));
		expect(take('2001:db8:1:2::a')).toBeNull();
		expect(take('2001:db8:1:2::b')).not.toBeNull();
		expect(take('2001:db8:1:3::a')).toBeNull();
	});
});
