/**
 * The key's real limit is learnt from every answer's `X-RateLimit-Limit` / `-Remaining` /
 * `Retry-After`: header parsing, the scheduler's reaction (higher, lower, ceiling, changing
 * mid-run, missing or malformed: unchanged), and the whole path client → scheduler → run progress.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { readRateLimitHeaders } from '../../server/enrichment/rate-limit-headers';
import { createScheduler } from '../../server/enrichment/scheduler';
import { createEnrichmentService } from '../../server/enrichment/service';
import { runJob } from '../../server/engine/run-job';
import { createMetrics } from '../../server/metrics';
import { openDatabase, type Db } from '../../server/store/db';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { jobTotals } from '../../src/lib/job-totals';
import { startFakeSixtyfour, type FakeSixtyfour } from '../helpers/fake-sixtyfour';
import { RUNNERS } from '../../server/blocks';

const headers = (h: Record<string, string | undefined>) =>
	new Headers(Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined));

describe('readRateLimitHeaders', () => {
	it.each([
		{ case: 'missing', h: {}, limit: null, remaining: null, retry: null },
		{
			case: 'plain per-minute figures',
			h: { 'X-RateLimit-Limit': '6000', 'X-RateLimit-Remaining': '5999' },
			limit: 6000,
			remaining: 5999,
			retry: null
		},
		{
			case: 'IETF draft form with a 1 s window',
			h: { 'X-RateLimit-Limit': '100;w=1' },
			limit: 6000,
			remaining: null,
			retry: null
		},
		{
			case: "a sub-second window (the simulator's short windows)",
			h: { 'X-RateLimit-Limit': '6;w=0.3' },
			limit: 1200,
			remaining: null,
			retry: null
		},
		{ case: 'malformed: zero window', h: { 'X-RateLimit-Limit': '6;w=0' }, limit: null, remaining: null, retry: null },
		{
			case: 'IETF list form, first policy',
			h: { 'X-RateLimit-Limit': '1000, 1000;w=60' },
			limit: 1000,
			remaining: null,
			retry: null
		},
		{
			case: 'Retry-After seconds',
			h: { 'Retry-After': '2' },
			limit: null,
			remaining: null,
			retry: 2000
		},
		{
			case: 'spaces around',
			h: { 'X-RateLimit-Limit': ' 500 ', 'X-RateLimit-Remaining': ' 0 ' },
			limit: 500,
			remaining: 0,
			retry: null
		},
		{
			case: 'malformed: words',
			h: { 'X-RateLimit-Limit': 'lots', 'X-RateLimit-Remaining': 'some' },
			limit: null,
			remaining: null,
			retry: null
		},
		{
			case: 'malformed: negative',
			h: { 'X-RateLimit-Limit': '-5', 'X-RateLimit-Remaining': '-1' },
			limit: null,
			remaining: null,
			retry: null
		},
		{
			case: 'malformed: exponent and fraction',
			h: { 'X-RateLimit-Limit': '1e9', 'X-RateLimit-Remaining': '2.5' },
			limit: null,
			remaining: null,
			retry: null
		},
		{
			case: 'malformed: zero limit',
			h: { 'X-RateLimit-Limit': '0' },
			limit: null,
			remaining: null,
			retry: null
		},
		{
			case: 'malformed: absurdly long',
			h: { 'X-RateLimit-Limit': '9'.repeat(40) },
			limit: null,
			remaining: null,
			retry: null
		},
		{
			case: 'malformed: empty',
			h: { 'X-RateLimit-Limit': '', 'Retry-After': '' },
			limit: null,
			remaining: null,
			retry: null
		}
	])('$case', ({ h, limit, remaining, retry }) => {
		expect(readRateLimitHeaders(headers(h))).toEqual({
			limitPerMinute: limit,
			remaining,
			retryAfterMs: retry
		});
	});
});

describe('the scheduler learns the limit', () => {
	const none = { limitPerMinute: null, remaining: null, retryAfterMs: null };
	it.each([
		{
			case: 'higher than configured: up',
			start: 500,
			seen: [6000],
			expected: 6000
		},
		{
			case: 'lower than configured: down at once',
			start: 6000,
			seen: [300],
			expected: 300
		},
		{
			case: 'no header: as configured',
			start: 500,
			seen: [null],
			expected: 500
		},
		{
			case: 'changing mid-run: the latest wins',
			start: 500,
			seen: [6000, 1200, null, 3000],
			expected: 3000
		},
		{
			case: 'above the ceiling: the ceiling',
			start: 500,
			seen: [6000],
			ceiling: 2000,
			expected: 2000
		},
		{
			case: 'below the ceiling: as said',
			start: 500,
			seen: [900],
			ceiling: 2000,
			expected: 900
		}
	])('$case', ({ start, seen, ceiling, expected }) => {
		const s = createScheduler({
			ratePerMinute: start,
			maxInFlight: 4,
			maxRatePerMinute: ceiling
		});
		for (const limit of seen) s.observeLimits({ ...none, limitPerMinute: limit });
		expect(s.stats().ratePerMinute).toBe(expected);
		const named = seen.filter((x) => x !== null).at(-1) ?? null;
		expect(s.stats().learnedLimitPerMinute).toBe(named);
		s.close();
	});

	it('a Retry-After on any answer pauses the key; Remaining is remembered', () => {
		const s = createScheduler({ ratePerMinute: 600, maxInFlight: 4 });
		s.observeLimits({
			limitPerMinute: null,
			remaining: 3,
			retryAfterMs: 5_000
		});
		expect(s.stats().pausedForMs).toBeGreaterThan(4_000);
		expect(s.stats().remaining).toBe(3);
		s.close();
	});

	it('Remaining 0 holds back the next request until the bucket refills', async () => {
		let now = 0;
		const s = createScheduler({
			ratePerMinute: 60,
			burst: 5,
			maxInFlight: 4,
			now: () => now
		});
		s.observeLimits({ limitPerMinute: null, remaining: 0, retryAfterMs: null });
		let sent = false;
		const pending = s.run(async () => {
			sent = true;
		});
		await new Promise((r) => setImmediate(r));
		expect(sent).toBe(false); // the burst of 5 was not spent into a window the server says is full
		now = 60_000;
		s.configure({ ratePerMinute: 60 }); // reschedules the waiter with the clock moved on
		await pending;
		expect(sent).toBe(true);
		s.close();
	});
});

describe('through the client, the engine and /metrics', () => {
	let fake: FakeSixtyfour;
	let db: Db;
	let limit = '6000';
	beforeAll(async () => {
		fake = await startFakeSixtyfour((req) => {
			const rate = {
				'X-RateLimit-Limit': limit,
				'X-RateLimit-Remaining': '100'
			};
			if (req.path === '/enrich-lead') return { body: { structured_data: { title: 'CTO' } }, headers: rate };
			return { status: 404, body: { detail: 'Not Found' }, headers: rate };
		});
	});
	afterAll(() => fake.close());
	beforeEach(() => {
		db = openDatabase(':memory:');
	});
	afterEach(() => db.close());

	const workflow = v.parse(WorkflowSchema, {
		name: 'learn',
		blocks: [
			{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
			{
				id: 'enrich',
				type: 'enrich_lead',
				params: { struct: { title: 'Job title' } }
			}
		]
	});

	it.each([
		{ header: '6000', expected: 6000 },
		{ header: '120', expected: 120 },
		{ header: 'garbage', expected: 500 }
	])('X-RateLimit-Limit $header → the run reports $expected/min', async ({ header, expected }) => {
		limit = header;
		const scheduler = createScheduler({
			ratePerMinute: 500,
			burst: 100,
			maxInFlight: 8
		});
		const enrichment = createEnrichmentService({
			apiKey: 'sk-test',
			baseUrl: fake.url,
			db,
			scheduler,
			asyncMode: { enrichLead: false }
		});
		const result = await runJob({
			runners: RUNNERS,
			jobId: 'j',
			workflow,
			options: { row_limit: 5 },
			dataDir: 'data',
			enrichment
		});
		expect(result.status).toBe('completed');
		const enrich = result.blocks[1];
		expect(enrich.rate_limit_per_min).toBe(expected);
		expect(result.blocks[0].rate_limit_per_min).toBeNull(); // read_csv calls no API
		expect(jobTotals(result.blocks)).toMatchObject({
			rateLimitPerMin: expected,
			requestsPerRow: 1
		});

		const metrics = createMetrics({ enrichment, defaultMetrics: false });
		const text = await metrics.render();
		expect(text).toMatch(new RegExp(`^leadflow_api_rate_limit_per_minute ${expected}$`, 'm'));
		expect(text).toMatch(new RegExp(`^leadflow_api_rate_limit_learned_per_minute ${header === 'garbage' ? 0 : expected}$`, 'm'));
		metrics.close();
		scheduler.close();
	});
});
