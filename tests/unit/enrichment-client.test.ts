import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createScheduler } from '../../server/enrichment/scheduler';
import { TaskEndedError, createSixtyfourClient, type SixtyfourClientOptions } from '../../server/enrichment/sixtyfour-client';
import { EnrichmentError, type CallMeter } from '../../server/enrichment/types';
import { startFakeSixtyfour, type FakeHandler, type FakeRequest, type FakeSixtyfour } from '../helpers/fake-sixtyfour';
import { settledAtOnce } from '../helpers/settles';
import type { EnrichLeadRequest } from '../../server/enrichment/sixtyfour-schemas';

const LEAD: EnrichLeadRequest = {
	lead_info: { name: 'Ada Lovelace', company: 'Analytical Engines' },
	struct: { title: 'Current job title', is_american_education: { description: 'US undergrad', type: 'bool' } }
};
const ANSWER = {
	notes: 'found her',
	structured_data: { title: 'Countess', is_american_education: false },
	findings: [],
	references: { 'https://example.org/ada': 'Biography' },
	confidence_score: 8.5
};

let fake: FakeSixtyfour;
beforeAll(async () => {
	fake = await startFakeSixtyfour(() => ({ body: ANSWER }));
});
afterAll(() => fake.close());
beforeEach(() => {
	fake.requests.length = 0;
});
afterEach(() => {
	vi.useRealTimers();
});

const testScheduler = () => createScheduler({ ratePerMinute: 600_000, burst: 1_000, maxInFlight: 10, backoffBaseMs: 5, maxAttempts: 3 });
function client(overrides: Partial<SixtyfourClientOptions> = {}) {
	return createSixtyfourClient({
		apiKey: 'sk-test',
		baseUrl: `${fake.url}/`,
		scheduler: testScheduler(),
		polling: { initialMs: 20, minIntervalMs: 5, maxIntervalMs: 50 },
		...overrides
	});
}

/**
 * The fake API answered in-process through the client's `fetch` option, so that it runs on
 * Vitest's fake clock: `delayMs` is fake time, and each request is stamped with the fake
 * `performance.now()`. For tests about *when* the client sends (a loopback server on a loaded
 * machine adds real, random delays to every stamp).
 */
function inProcessFetch(handler: FakeHandler, requests: FakeRequest[]): typeof fetch {
	return async (input, init) => {
		const request: FakeRequest = {
			method: init?.method ?? 'GET',
			path: new URL(String(input)).pathname,
			headers: {},
			body: init?.body ? (JSON.parse(String(init.body)) as unknown) : null,
			at: performance.now()
		};
		const answer = await handler(request, requests.push(request) - 1);
		if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
		const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
		return new Response(body, { status: answer.status ?? 200, headers: { 'content-type': 'application/json', ...answer.headers } });
	};
}

/** Waits (without a deadline: the test's timeout is the limit) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
	while (!condition()) await new Promise((r) => setTimeout(r, 1));
}
const meter = (): CallMeter => ({ calls: 0, requests: 0, cached: 0, costCents: 0, waiting: 0 });
const call = (m = meter(), signal = new AbortController().signal) => ({ signal, meter: m });
/** Answers from a list, one per request; the last one repeats. */
const sequence =
	(...answers: ReturnType<FakeHandler>[]): FakeHandler =>
	(_req, i) =>
		answers[Math.min(i, answers.length - 1)];

describe('sync calls', () => {
	it('POSTs /enrich-lead with the key and parses the answer', async () => {
		fake.setHandler(() => ({ body: { ...ANSWER, cost_cents: 7 } }));
		const m = meter();
		const result = await client().enrichLead(LEAD, call(m));
		expect(result.structured_data).toEqual({ title: 'Countess', is_american_education: false });
		expect(result.confidence_score).toBe(8.5);
		expect(fake.requests).toHaveLength(1);
		expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/enrich-lead', body: LEAD });
		expect(fake.requests[0].headers['x-api-key']).toBe('sk-test');
		expect(m).toEqual({ calls: 0, requests: 1, cached: 0, costCents: 7, waiting: 0 });
	});

	it('accepts the sparse answer variant (only structured_data)', async () => {
		fake.setHandler(() => ({ body: { structured_data: { title: null } } }));
		const result = await client().enrichLead(LEAD, call());
		expect(result).toMatchObject({ structured_data: { title: null }, notes: null, confidence_score: null, findings: [] });
	});

	it.each([
		{
			body: { lead: { name: 'Ada' }, email: [['ada@ae.example', 'OK', 'COMPANY']], cost_cents: 5 },
			address: 'ada@ae.example',
			type: 'COMPANY',
			cost: 5
		},
		{ body: { lead: { name: 'Ada' }, email: [['ada@ae.example', 'UNKNOWN']] }, address: 'ada@ae.example', type: null, cost: 0 },
		{
			body: { email: 'ada@ae.example', personal_email: [['ada@mail.example', 'OK', 'PERSONAL']], cost_cents: 20 },
			address: 'ada@ae.example',
			type: null,
			cost: 20
		}
	])('POSTs /find-email and reads every email variant (%#)', async ({ body, address, type, cost }) => {
		fake.setHandler(() => ({ body }));
		const m = meter();
		const result = await client().findEmail({ lead: { name: 'Ada', company: 'AE' }, mode: 'PROFESSIONAL' }, call(m));
		expect(fake.requests[0]).toMatchObject({
			method: 'POST',
			path: '/find-email',
			body: { lead: { name: 'Ada', company: 'AE' }, mode: 'PROFESSIONAL' }
		});
		expect(result.email?.[0]).toMatchObject({ address, type });
		expect(m.costCents).toBe(cost);
	});
});

describe('errors', () => {
	it.each([
		{
			status: 401,
			body: { detail: 'Invalid API key' },
			fatal: true,
			sent: 1,
			message: /rejected the API key \(401\).*Invalid API key/
		},
		{ status: 402, body: { detail: 'Insufficient credits' }, fatal: true, sent: 1, message: /out of credits \(402\)/ },
		{ status: 403, body: { detail: 'Tier not enabled' }, fatal: true, sent: 1, message: /tier not enabled .*\(403\)/ },
		{ status: 400, body: { detail: 'bad body' }, fatal: false, sent: 1, message: /refused \(400\): bad body/ },
		{ status: 404, body: { detail: 'Not found' }, fatal: false, sent: 1, message: /refused \(404\)/ },
		{
			status: 422,
			body: { detail: [{ loc: ['body', 'lead_info'], msg: 'Field required', type: 'missing' }] },
			fatal: false,
			sent: 1,
			message: /body\.lead_info: Field required/
		},
		{ status: 500, body: { detail: 'internal' }, fatal: false, sent: 3, message: /server error \(500\).*after 3 attempts/ },
		{ status: 503, body: 'upstream down', fatal: false, sent: 3, message: /server error \(503\): upstream down/ },
		{
			status: 429,
			body: { error: 'Too Many Requests', message: 'Rate limit exceeded' },
			fatal: false,
			sent: 3,
			message: /rate limited \(429\): Rate limit exceeded/
		},
		{ status: 408, body: {}, fatal: false, sent: 3, message: /request timeout \(408\)/ }
	])('$status → fatal $fatal after $sent request(s)', async ({ status, body, fatal, sent, message }) => {
		fake.setHandler(() => ({ status, body }));
		const m = meter();
		const error = await client()
			.enrichLead(LEAD, call(m))
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(EnrichmentError);
		expect(error).toMatchObject({ fatal, status });
		expect((error as Error).message).toMatch(message);
		expect(fake.requests).toHaveLength(sent);
		expect(m.requests).toBe(sent);
	});

	it.each([
		{ name: '500 then success', first: { status: 500, body: { detail: 'oops' } } },
		{ name: 'malformed JSON then success', first: { status: 200, body: '{"structured_data": {"title": "Coun' } },
		{ name: 'empty 200 then success', first: { status: 200, body: '' } },
		{ name: '429 then success', first: { status: 429, body: { detail: 'slow down' } } }
	])('retries $name', async ({ first }) => {
		fake.setHandler(sequence(first, { body: ANSWER }));
		const result = await client().enrichLead(LEAD, call());
		expect(result.structured_data.title).toBe('Countess');
		expect(fake.requests).toHaveLength(2);
	});

	it('waits for the Retry-After of a 429 before sending again', async () => {
		fake.setHandler(sequence({ status: 429, body: { detail: 'slow down' }, headers: { 'retry-after': '0.2' } }, { body: ANSWER }));
		await client().enrichLead(LEAD, call());
		expect(fake.requests[1].at - fake.requests[0].at).toBeGreaterThanOrEqual(195);
	});

	it('does not retry a 200 whose JSON has the wrong shape (it was paid for)', async () => {
		fake.setHandler(() => ({ body: { structured_data: 'not an object' } }));
		const error = await client()
			.enrichLead(LEAD, call())
			.catch((e: unknown) => e);
		expect(error).toMatchObject({ fatal: false, message: expect.stringMatching(/unexpected answer shape \(structured_data/) });
		expect(fake.requests).toHaveLength(1);
	});

	it('names a network failure after retrying it', async () => {
		const gone = await startFakeSixtyfour(() => ({ body: {} }));
		const url = gone.url;
		await gone.close();
		const error = await client({ baseUrl: url })
			.enrichLead(LEAD, call())
			.catch((e: unknown) => e);
		expect(error).toMatchObject({
			fatal: false,
			status: null,
			message: expect.stringMatching(/network error \(ECONNREFUSED\).*after 3 attempts/)
		});
	});

	it('times out a request that never answers', async () => {
		fake.setHandler(() => ({ hang: true }));
		const error = await client({ requestTimeoutMs: 40, maxAttempts: 2 })
			.findEmail({ lead: { name: 'Ada' } }, call())
			.catch((e: unknown) => e);
		// The 40 ms timeout ended both attempts (the default one, 60 s, would outlast the test's 5 s).
		expect(error).toMatchObject({
			fatal: false,
			message: expect.stringMatching(/no answer within 40 ms \(timeout\).*after 2 attempts/)
		});
		expect(fake.requests).toHaveLength(2);
	});

	it.each([
		{
			name: 'enrich-lead without lead_info',
			run: (c: ReturnType<typeof client>) => c.enrichLead({ struct: { a: 'b' } } as never, call()),
			message: /invalid enrich-lead request \(lead_info/
		},
		{
			name: 'enrich-lead with a bad tier',
			run: (c: ReturnType<typeof client>) => c.enrichLead({ ...LEAD, tier: 'ultra' } as never, call()),
			message: /invalid enrich-lead request \(tier/
		},
		{
			name: 'find-email with a bad mode',
			run: (c: ReturnType<typeof client>) => c.findEmail({ lead: { name: 'x' }, mode: 'WORK' } as never, call()),
			message: /invalid find-email request \(mode/
		},
		{
			name: 'find-email with no body',
			run: (c: ReturnType<typeof client>) => c.findEmail(null as never, call()),
			message: /invalid find-email request/
		},
		{
			name: 'a task id that is empty',
			run: (c: ReturnType<typeof client>) => c.awaitEnrichLead('  ', call()),
			message: /invalid task id/
		}
	])('refuses $name without sending anything', async ({ run, message }) => {
		const error = await run(client()).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(EnrichmentError);
		expect((error as Error).message).toMatch(message);
		expect(fake.requests).toHaveLength(0);
	});
});

describe('async submit + poll', () => {
	/** Submit answers with a task id; job-status says `running` `runningPolls` times, then `end`. */
	function task(runningPolls: number, end: Record<string, unknown>, runningState = 'running'): FakeHandler {
		let polls = 0;
		return (req) => {
			if (req.path === '/enrich-lead-async') return { body: { task_id: 'task-1', status: 'RUNNING' } };
			if (req.path === '/job-status/task-1')
				return { body: polls++ < runningPolls ? { status: runningState, id: 'task-1' } : { id: 'task-1', ...end } };
			return { status: 404, body: { detail: 'Job not found' } };
		};
	}

	it.each(['running', 'queued', 'pending', 'processing', 'RUNNING'])(
		'polls while the task is %s, then returns the result and its charge',
		async (state) => {
			fake.setHandler(task(2, { status: 'completed', result: ANSWER, charge_amount: 5, task_type: 'lead_enrichment' }, state));
			const m = meter();
			let submittedWith: string | null = null;
			let requestsAtSubmit = -1;
			const result = await client().enrichLeadAsync(LEAD, {
				...call(m),
				onSubmitted: (id) => {
					submittedWith = id;
					requestsAtSubmit = fake.requests.length;
				}
			});
			expect(result.structured_data.title).toBe('Countess');
			expect(result.cost_cents).toBe(5);
			expect(submittedWith).toBe('task-1');
			expect(requestsAtSubmit).toBe(1); // the checkpoint comes before the first poll
			expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
				'POST /enrich-lead-async',
				'GET /job-status/task-1',
				'GET /job-status/task-1',
				'GET /job-status/task-1'
			]);
			expect(fake.requests[1].headers['x-api-key']).toBe('sk-test');
			expect(m).toMatchObject({ requests: 4, costCents: 5, waiting: 0 });
		}
	);

	it('first polls at the expected latency after submitting, then backs off', async () => {
		vi.useFakeTimers();
		const requests: FakeRequest[] = [];
		const running = task(3, { status: 'completed', result: ANSWER });
		// The submit itself takes 20 ms: the first poll still goes out 60 ms after submitting, not 60 ms after the answer.
		const api = inProcessFetch(
			async (req, i) => ({ ...(await running(req, i)), delayMs: req.path === '/enrich-lead-async' ? 20 : 0 }),
			requests
		);
		const done = client({ fetch: api, polling: { initialMs: 60, minIntervalMs: 5, maxIntervalMs: 1_000, factor: 2 } }).enrichLeadAsync(
			LEAD,
			call()
		);
		await vi.runAllTimersAsync();
		expect((await done).structured_data.title).toBe('Countess');
		expect(requests.map((r) => r.path)).toEqual(['/enrich-lead-async', ...Array(4).fill('/job-status/task-1')]);
		// expected latency 60; then expected / 2 = 30, ×2 = 60, ×2 again = 120
		expect(requests.map((r) => r.at - requests[0].at)).toEqual([0, 60, 90, 150, 270]);
	});

	it.each([
		{ end: { status: 'failed', error: 'agent crashed' }, message: /ended failed: agent crashed/ },
		{ end: { status: 'timed_out' }, message: /ended timed_out/ },
		{ end: { status: 'cancelled' }, message: /ended cancelled/ },
		{ end: { status: 'terminated' }, message: /ended terminated/ }
	])('a task ending $end.status is a row error naming the state', async ({ end, message }) => {
		fake.setHandler(task(1, end));
		const error = await client()
			.enrichLeadAsync(LEAD, call())
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TaskEndedError);
		expect(error).toMatchObject({ fatal: false, message: expect.stringMatching(message) });
	});

	it('an unknown task id is a 404 row error', async () => {
		fake.setHandler(task(0, {}));
		const error = await client()
			.awaitEnrichLead('nope', call())
			.catch((e: unknown) => e);
		expect(error).toMatchObject({ status: 404, fatal: false });
		expect(fake.requests).toHaveLength(1);
	});

	it('gives up on a task that runs past the task timeout', async () => {
		fake.setHandler(task(1_000, {}));
		const error = await client({ taskTimeoutMs: 80 })
			.enrichLeadAsync(LEAD, call())
			.catch((e: unknown) => e);
		expect(error).toMatchObject({ fatal: false, message: expect.stringMatching(/still running/) });
	});
});

describe('cancellation', () => {
	// Neither call can end by itself within the test: the request hangs (the sync timeout is
	// 15 min), the task runs forever (the next poll is 10 s away). Only the abort can end them.
	it.each([
		{
			name: 'a sync call in flight',
			handler: (() => ({ hang: true })) as FakeHandler,
			run: (c: ReturnType<typeof client>, o: ReturnType<typeof call>) => c.enrichLead(LEAD, o),
			inFlight: 1
		},
		{
			name: 'an async call between polls',
			handler: ((req) =>
				req.path === '/enrich-lead-async' ? { body: { task_id: 't' } } : { body: { status: 'running' } }) as FakeHandler,
			run: (c: ReturnType<typeof client>, o: ReturnType<typeof call>) => c.enrichLeadAsync(LEAD, o),
			inFlight: 0 // the submit was answered: the client is waiting for its first poll
		}
	])('stops $name at once', async ({ handler, run, inFlight }) => {
		fake.setHandler(handler);
		const scheduler = testScheduler();
		const controller = new AbortController();
		const pending = run(client({ scheduler, polling: { initialMs: 10_000 } }), call(meter(), controller.signal)).catch(
			(e: unknown) => e
		);
		await until(() => fake.requests.length === 1 && scheduler.stats().inFlight === inFlight);
		controller.abort();
		// "At once": the call settles before the event loop turns — no timer, no answer awaited.
		expect(await settledAtOnce(pending)).toMatchObject({ name: 'AbortError' });
		await new Promise((r) => setTimeout(r, 20));
		expect(fake.requests).toHaveLength(1); // no retry, no poll
		expect(scheduler.stats()).toMatchObject({ inFlight: 0, queued: 0, backingOff: 0, waitingOnRateLimit: 0, retries: 0 });
	});
});

describe('an API that echoes the key back', () => {
	const KEY = 'sk-test';
	/** `text` as a JSON string literal with every character `\u`-escaped: it parses to `text`. */
	const escapedJson = (text: string) => `"${[...text].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`;

	it('has it scrubbed from every string and field name of an answer, escaped or not', async () => {
		fake.setHandler(() => ({
			body: `{"notes":${escapedJson(`by ${KEY}`)},"structured_data":{"title":"CTO ${KEY}","${KEY}":[{"deep":"${KEY}${KEY}"}],"__proto__":"x"},"references":{${escapedJson(KEY)}:"ref"}}`
		}));
		const result = await client().enrichLead(LEAD, call());
		expect(JSON.stringify(result)).not.toContain(KEY);
		expect(result.notes).toBe('by [redacted]');
		expect(result.structured_data).toEqual({ title: 'CTO [redacted]', '[redacted]': [{ deep: '[redacted][redacted]' }] });
		expect(result.references).toEqual({ '[redacted]': 'ref' });
	});

	it('has it scrubbed from an escaped error body (400)', async () => {
		fake.setHandler(() => ({ status: 400, body: `{"detail":${escapedJson(`bad key ${KEY}`)}}` }));
		const error = await client()
			.findEmail({ lead: { name: 'Ada' } }, call())
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(EnrichmentError);
		expect((error as Error).message).toMatch(/bad key \[redacted\]/);
	});

	it.each([
		{ what: 'plain', body: { task_id: `task-${KEY}` } },
		{ what: 'escaped', body: `{"task_id":${escapedJson(`task-${KEY}`)}}` }
	])('refuses a task id holding it ($what): never polled, never handed out, the job stops', async ({ body }) => {
		fake.setHandler((req) => (req.path.startsWith('/job-status/') ? { body: { status: 'completed', result: ANSWER } } : { body }));
		const submitted: string[] = [];
		const error = await client()
			.enrichLeadAsync(LEAD, { ...call(), onSubmitted: (id) => void submitted.push(id) })
			.catch((e: unknown) => e);
		expect(error).toMatchObject({ fatal: true, message: expect.stringMatching(/task id that contains the API key/) });
		expect((error as Error).message).not.toContain(KEY);
		expect(submitted).toEqual([]);
		expect(fake.requests.map((r) => r.path)).toEqual(['/enrich-lead-async']);
	});

	it('refuses to poll a checkpointed task id that holds it', async () => {
		const error = await client()
			.awaitEnrichLead(`old-${KEY}`, call())
			.catch((e: unknown) => e);
		expect(error).toMatchObject({ fatal: true });
		expect(fake.requests).toHaveLength(0);
	});
});
