/**
 * The simulator's operational behaviour: rate limit and its headers, latency distribution, seeded
 * fault rates, the async job lifecycle, run-time configuration and the CLI flags.
 */
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSimulatorApp, DEMO_SIMULATOR_OPTIONS, type SimulatorOptionsInput } from '../../server/enrichment/simulator';
import { simulatorOptionsFromArgv } from '../../server/enrichment/simulator/cli-options';
import { sampleLatencyMs } from '../../server/enrichment/simulator/latency';
import { mulberry32 } from '../../server/enrichment/simulator/prng';
import { AsyncSubmitSchema, EnrichLeadResponseSchema, JobStatusSchema } from '../../server/enrichment/sixtyfour-schemas';
import { PROPERTY_TIMEOUT_MS } from '../helpers/timeouts';

type Sim = ReturnType<typeof createSimulatorApp>;

function call(sim: Sim, path: string, body?: unknown, key = 'test-key'): Promise<Response> {
	const init: RequestInit =
		body === undefined
			? { headers: { 'x-api-key': key } }
			: { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) };
	return Promise.resolve(sim.app.request(path, init));
}

const LEAD = { lead: { name: 'Ada Lovelace', company: 'Ariglad Inc' } };
/**
 * The simulator reads the time from `Date.now()` (rate-limit windows, job deadlines). Tests that
 * depend on how much time passed freeze that clock and move it by hand, so a slow or loaded
 * machine cannot let a window slide or a job finish between two requests. Timers stay real.
 */
function freezeClock(): { advance(ms: number): void } {
	vi.useFakeTimers({ toFake: ['Date'] });
	return { advance: (ms) => vi.advanceTimersByTime(ms) };
}
afterEach(() => {
	vi.useRealTimers();
});

describe('rate limit', () => {
	it('admits N per window per key, then 429 with Retry-After and X-RateLimit-* headers', async () => {
		const sim = createSimulatorApp({ rateLimit: { requests: 3, windowMs: 60_000 } });
		const answers = [];
		for (let i = 0; i < 4; i++) answers.push(await call(sim, '/find-email', LEAD));
		expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429]);
		expect(answers.map((r) => r.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
		for (const r of answers) expect(r.headers.get('x-ratelimit-limit')).toBe('3');
		const refused = answers[3]!;
		const retryAfter = Number(refused.headers.get('retry-after'));
		expect(retryAfter).toBeGreaterThanOrEqual(1);
		expect(retryAfter).toBeLessThanOrEqual(60);
		expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
		expect(await refused.json()).toEqual({ detail: 'Rate limit exceeded' });
		expect((await call(sim, '/find-email', LEAD, 'other-key')).status).toBe(200);
		expect(sim.stats().rate_limited).toBe(1);
	});

	it('counts polls, not refusals for a bad key, and frees slots as the window slides', async () => {
		const clock = freezeClock();
		const sim = createSimulatorApp({ rateLimit: { requests: 2, windowMs: 150 } });
		expect((await call(sim, '/find-email', LEAD, '')).status).toBe(401);
		expect((await call(sim, '/job-status/unknown')).status).toBe(404);
		clock.advance(100);
		expect((await call(sim, '/job-status/unknown')).status).toBe(404);
		const limited = await call(sim, '/job-status/unknown');
		expect(limited.status).toBe(429);
		expect(limited.headers.get('retry-after')).toBe('1'); // whole seconds, rounded up from 50 ms
		clock.advance(49);
		expect((await call(sim, '/find-email', LEAD)).status).toBe(429); // the first poll is still in the window
		clock.advance(1);
		expect((await call(sim, '/find-email', LEAD)).status).toBe(200); // …and has just left it
	});

	it('has no X-RateLimit headers when no limit is set', async () => {
		const res = await call(createSimulatorApp(), '/find-email', LEAD);
		expect(res.headers.get('x-ratelimit-limit')).toBeNull();
	});
});

describe('latency', () => {
	const CASES: Array<[string, { medianMs: number; p99Ms?: number }]> = [
		['wide', { medianMs: 200, p99Ms: 800 }],
		['narrow', { medianMs: 3_000, p99Ms: 3_600 }]
	];

	it.each(CASES)('a %s log-normal lands its median and p99', (_label, spec) => {
		const rng = mulberry32(42);
		const draws = Array.from({ length: 20_000 }, () => sampleLatencyMs(spec, rng)).sort((a, b) => a - b);
		const at = (q: number) => draws[Math.floor(q * draws.length)]!;
		expect(at(0.5) / spec.medianMs).toBeGreaterThan(0.95);
		expect(at(0.5) / spec.medianMs).toBeLessThan(1.05);
		expect(at(0.99) / spec.p99Ms!).toBeGreaterThan(0.9);
		expect(at(0.99) / spec.p99Ms!).toBeLessThan(1.1);
	});

	it('is constant without a spread and zero when asked', () => {
		const rng = mulberry32(1);
		expect(sampleLatencyMs({ medianMs: 150 }, rng)).toBe(150);
		expect(sampleLatencyMs({ medianMs: 0, p99Ms: 500 }, rng)).toBe(0);
	});

	it('delays answers by the configured latency', async () => {
		const sim = createSimulatorApp({ latency: { find_email: { medianMs: 120 } } });
		const started = performance.now();
		expect((await call(sim, '/find-email', LEAD)).status).toBe(200);
		expect(performance.now() - started).toBeGreaterThanOrEqual(110);
	});
});

describe('faults', () => {
	/** Outcome of one request: its status, or how its body failed. */
	async function outcome(res: Response): Promise<string> {
		let text: string;
		try {
			text = await res.text();
		} catch {
			return 'reset';
		}
		try {
			JSON.parse(text);
			return String(res.status);
		} catch {
			return 'malformed';
		}
	}

	async function run(options: SimulatorOptionsInput, n: number): Promise<string[]> {
		const sim = createSimulatorApp(options);
		const out: string[] = [];
		for (let i = 0; i < n; i++) out.push(await outcome(await call(sim, '/find-email', { lead: { name: `Lead ${i}` } })));
		return out;
	}

	const FAULTS = { error500: 0.1, malformed: 0.05, reset: 0.05 };

	it(
		'honours the rates roughly, reproducibly under one seed',
		async () => {
			const a = await run({ seed: 5, faults: FAULTS }, 1_000);
			const count = (k: string) => a.filter((x) => x === k).length;
			expect(count('500')).toBeGreaterThan(70);
			expect(count('500')).toBeLessThan(130);
			expect(count('malformed')).toBeGreaterThan(25);
			expect(count('malformed')).toBeLessThan(75);
			expect(count('reset')).toBeGreaterThan(25);
			expect(count('reset')).toBeLessThan(75);
			expect(count('200') + count('500') + count('malformed') + count('reset')).toBe(1_000);
			expect(await run({ seed: 5, faults: FAULTS }, 1_000)).toEqual(a);
			expect(await run({ seed: 6, faults: FAULTS }, 1_000)).not.toEqual(a);
		},
		PROPERTY_TIMEOUT_MS
	);

	it('charges nothing for faulted answers and counts each fault', async () => {
		const sim = createSimulatorApp({ seed: 1, faults: FAULTS });
		for (let i = 0; i < 200; i++) await (await call(sim, '/find-email', { lead: { name: `Lead ${i}` } })).text().catch(() => '');
		const stats = sim.stats();
		expect(stats.paid_answers).toBe(stats.statuses['200']! - stats.faults.malformed);
		expect(stats.faults.error_500).toBe(stats.statuses['500']);
		expect(stats.faults.reset).toBeGreaterThan(0);
	});

	it('refuses fault rates that add up to more than 1', () => {
		expect(() => createSimulatorApp({ faults: { error500: 0.6, hang: 0.6 } })).toThrow(/more than 1/);
	});
});

describe('async jobs', () => {
	const BODY = { lead_info: { name: 'Ada Lovelace', company: 'Analytical Engines' }, struct: { title: 'Job title' } };

	it('runs submit → running → completed with the sync answer, charge_amount and task_type', async () => {
		const clock = freezeClock();
		const sim = createSimulatorApp({ latency: { enrich_lead: { medianMs: 80 } } });
		const submit = await call(sim, '/enrich-lead-async', BODY);
		const { task_id, status } = v.parse(AsyncSubmitSchema, await submit.json());
		expect(task_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		expect(status).toBe('RUNNING');

		const running = await (await call(sim, `/job-status/${task_id}`)).json();
		expect(v.parse(JobStatusSchema, running).state).toBe('running');
		expect(running).toMatchObject({ status: 'running', id: task_id, run_id: expect.any(String), start_time: expect.any(String) });
		expect(sim.stats().jobs).toMatchObject({ submitted: 1, running: 1 });
		expect(sim.stats().charged_cents).toBe(0);

		clock.advance(79);
		expect(await (await call(sim, `/job-status/${task_id}`)).json()).toMatchObject({ status: 'running' });
		clock.advance(1);
		const done = await (await call(sim, `/job-status/${task_id}`)).json();
		const parsed = v.parse(JobStatusSchema, done);
		expect(parsed.state).toBe('completed');
		expect(done).toMatchObject({ status: 'completed', charge_amount: 5, task_type: 'lead_enrichment', close_time: expect.any(String) });
		const sync = await (await call(createSimulatorApp(), '/enrich-lead', BODY)).json();
		expect(v.parse(EnrichLeadResponseSchema, parsed.result)).toEqual(v.parse(EnrichLeadResponseSchema, sync));

		await call(sim, `/job-status/${task_id}`);
		expect(sim.stats()).toMatchObject({ charged_cents: 5, paid_answers: 1, duplicates_paid: 0, jobs: { completed: 1, running: 0 } });
	});

	it('counts a sync call and an async job for the same request as a duplicate payment', async () => {
		const sim = createSimulatorApp();
		await call(sim, '/enrich-lead', BODY);
		const { task_id } = (await (await call(sim, '/enrich-lead-async', BODY)).json()) as { task_id: string };
		await call(sim, `/job-status/${task_id}`);
		expect(sim.stats()).toMatchObject({ paid_answers: 2, duplicates_paid: 1 });
	});

	const ENDINGS: Array<[string, SimulatorOptionsInput['faults'], string]> = [
		['failed', { asyncFailed: 1 }, 'failed'],
		['timed_out', { asyncTimedOut: 1 }, 'timed_out']
	];

	it.each(ENDINGS)('ends %s with an error and no charge when told to', async (_label, faults, status) => {
		const sim = createSimulatorApp({ faults });
		const { task_id } = (await (await call(sim, '/find-email-async', LEAD)).json()) as { task_id: string };
		const body = await (await call(sim, `/job-status/${task_id}`)).json();
		expect(body).toMatchObject({ status, error: expect.any(String) });
		expect(v.parse(JobStatusSchema, body).state).toBe('failed');
		expect(sim.stats()).toMatchObject({ charged_cents: 0, jobs: { [status]: 1 } });
	});

	it('answers 404 for an unknown id and for another key’s job', async () => {
		const sim = createSimulatorApp();
		const { task_id } = (await (await call(sim, '/find-email-async', LEAD)).json()) as { task_id: string };
		expect((await call(sim, `/job-status/${task_id}`, undefined, 'someone-else')).status).toBe(404);
		const unknown = await call(sim, '/job-status/00000000-0000-4000-8000-000000000000');
		expect(unknown.status).toBe(404);
		expect(await unknown.json()).toEqual({ detail: 'Job not found' });
	});

	it('serves company and bulk jobs too', async () => {
		const sim = createSimulatorApp();
		const company = (await (
			await call(sim, '/enrich-company-async', { target_company: { company_name: 'Acme' }, struct: { industry: 'Industry' } })
		).json()) as { task_id: string };
		const bulk = (await (await call(sim, '/find-email-bulk-async', { leads: [LEAD.lead, { name: 'Grace Hopper' }] })).json()) as {
			task_id: string;
		};
		const c = await (await call(sim, `/job-status/${company.task_id}`)).json();
		const b = (await (await call(sim, `/job-status/${bulk.task_id}`)).json()) as {
			result: { results: unknown[] };
			charge_amount: number;
		};
		expect(c).toMatchObject({ status: 'completed', task_type: 'company_enrichment', charge_amount: 10 });
		expect(b.result.results).toHaveLength(2);
		expect(b.charge_amount).toBe(10);
	});
});

describe('run-time configuration', () => {
	it('switches to 401 mid-run through POST /__sim/config, and refuses bad options', async () => {
		const sim = createSimulatorApp();
		expect((await call(sim, '/find-email', LEAD)).status).toBe(200);
		const set = await sim.app.request('/__sim/config', { method: 'POST', body: JSON.stringify({ apiKey: 'rotated' }) });
		expect(set.status).toBe(200);
		expect((await call(sim, '/find-email', LEAD)).status).toBe(401);
		expect((await call(sim, '/find-email', LEAD, 'rotated')).status).toBe(200);

		const CASES: Array<[string, string]> = [
			['not JSON', '{'],
			['not an object', '[1]'],
			['unknown key', '{"colour":"blue"}'],
			['bad rate', '{"faults":{"error500":2}}'],
			['bad latency', '{"latency":{"find_email":{"medianMs":500,"p99Ms":100}}}']
		];
		for (const [label, body] of CASES) {
			const res = await sim.app.request('/__sim/config', { method: 'POST', body });
			expect(res.status, label).toBe(400);
		}
		expect(sim.options().apiKey).toBe('rotated');
	});

	it('merges fault patches key by key', () => {
		const sim = createSimulatorApp({ faults: { error500: 0.1, hang: 0.2 } });
		sim.configure({ faults: { hang: 0 } });
		expect(sim.options().faults).toMatchObject({ error500: 0.1, hang: 0 });
	});

	it('gives demo options of a few seconds per enrich call and 600 requests a minute', () => {
		const sim = createSimulatorApp(DEMO_SIMULATOR_OPTIONS);
		expect(sim.options().latency.default).toEqual({ medianMs: 3_000, p99Ms: 8_000 });
		expect(sim.options().rateLimit).toEqual({ requests: 600, windowMs: 60_000 });
	});
});

describe('CLI flags', () => {
	it('maps flags to options', () => {
		const result = simulatorOptionsFromArgv([
			'--port',
			'0',
			'--latency-ms',
			'200',
			'--p99-ms',
			'800',
			'--rate-limit',
			'600',
			'--error-rate',
			'0.05',
			'--hang-rate',
			'0.01',
			'--seed',
			'9',
			'--api-key',
			'abc',
			'--poll-latency-ms',
			'5'
		]);
		expect(result).toEqual({
			help: false,
			options: expect.objectContaining({
				port: 0,
				host: '127.0.0.1',
				seed: 9,
				apiKey: 'abc',
				rateLimit: { requests: 600, windowMs: 60_000 },
				faults: { error500: 0.05, hang: 0.01 },
				latency: { default: { medianMs: 200, p99Ms: 800 }, async_submit: { medianMs: 5 }, job_status: { medianMs: 5 } }
			})
		});
	});

	it('starts from the demo options with --demo, and defaults to port 4100', () => {
		const result = simulatorOptionsFromArgv(['--demo', '--error-rate', '0.1']);
		if (result.help) throw new Error('unexpected help');
		expect(result.options.port).toBe(4100);
		expect(result.options.rateLimit).toEqual(DEMO_SIMULATOR_OPTIONS.rateLimit);
		expect(result.options.faults).toEqual({ error500: 0.1 });
	});

	const BAD: Array<[string, string[], RegExp]> = [
		['not a number', ['--latency-ms', 'fast'], /expects a number/],
		['unknown flag', ['--colour', 'blue'], /Unknown option/],
		['rate above 1', ['--error-rate', '1.5'], /Invalid simulator options/],
		['p99 below median', ['--latency-ms', '500', '--p99-ms', '100'], /p99Ms/],
		['bad port', ['--port', '70000'], /--port/]
	];

	it.each(BAD)('refuses %s', (_label, argv, message) => {
		expect(() => simulatorOptionsFromArgv(argv)).toThrow(message);
	});

	it('answers --help', () => {
		expect(simulatorOptionsFromArgv(['--help'])).toEqual({ help: true });
	});
});
