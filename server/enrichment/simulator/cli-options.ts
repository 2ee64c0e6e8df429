/**
 * Command-line flags of `npm run simulator` → `StartSimulatorOptions`. Kept apart from main.ts so
 * the mapping is testable without starting a process.
 */
import { parseArgs } from 'node:util';
import { DEMO_SIMULATOR_OPTIONS, mergeOptionsInput, parseSimulatorOptions, type SimulatorOptionsInput } from './options';
import type { StartSimulatorOptions } from './server';

export const SIMULATOR_USAGE = `Usage: npm run simulator -- [options]

  --port <n>                 port to listen on (default 4100; 0 = any free port)
  --host <addr>              address to bind (default 127.0.0.1)
  --demo                     start from the demo settings (≈3 s enrich, 600 req/min)
  --seed <n>                 seed for fake data, faults and latency draws (default 64)
  --api-key <key>            accept only this x-api-key (default: any non-empty key)
  --allow-high-tier          accept tier "high"/"xhigh" (default: 403)
  --credits-cents <n>        credit balance; paid calls beyond it get 402 (default: unlimited)
  --latency-ms <n>           median latency of every endpoint (default 0)
  --p99-ms <n>               p99 latency of every endpoint (default: = median)
  --find-email-latency-ms <n> / --find-email-p99-ms <n>   find-email's own latency
  --poll-latency-ms <n>      latency of async submits and job-status polls
  --rate-limit <n>           requests per minute per key (default: unlimited)
  --error-rate <r>           share of requests answered 500 (0..1)
  --hang-rate <r>            share of requests never answered
  --malformed-rate <r>       share of requests answered with broken JSON
  --reset-rate <r>           share of requests whose connection is reset
  --async-failed-rate <r>    share of async jobs ending "failed"
  --async-timeout-rate <r>   share of async jobs ending "timed_out"
  --webhook-drop-rate <r>    share of webhook deliveries never sent (the client must poll)
  --webhook-duplicate-rate <r> share of webhook deliveries sent twice
  --hang-timeout-ms <n>      how long a hung request waits before a 504 (default 600000)
  --help                     print this
`;

const NUMBER_FLAGS = [
	'port',
	'seed',
	'credits-cents',
	'latency-ms',
	'p99-ms',
	'find-email-latency-ms',
	'find-email-p99-ms',
	'poll-latency-ms',
	'rate-limit',
	'error-rate',
	'hang-rate',
	'malformed-rate',
	'reset-rate',
	'async-failed-rate',
	'async-timeout-rate',
	'webhook-drop-rate',
	'webhook-duplicate-rate',
	'hang-timeout-ms'
] as const;

export type CliResult = { help: true } | { help: false; options: StartSimulatorOptions };

/** Parse argv (without node and script); throws an Error with a readable message on bad flags. */
export function simulatorOptionsFromArgv(argv: readonly string[]): CliResult {
	const { values } = parseArgs({
		args: [...argv],
		strict: true,
		allowPositionals: false,
		options: {
			...Object.fromEntries(NUMBER_FLAGS.map((f) => [f, { type: 'string' as const }])),
			host: { type: 'string' },
			'api-key': { type: 'string' },
			demo: { type: 'boolean' },
			'allow-high-tier': { type: 'boolean' },
			help: { type: 'boolean' }
		}
	});
	if (values.help) return { help: true };
	const n: Partial<Record<(typeof NUMBER_FLAGS)[number], number>> = {};
	for (const flag of NUMBER_FLAGS) {
		const raw = (values as Record<string, string | boolean | undefined>)[flag];
		if (typeof raw !== 'string') continue;
		const value = Number(raw);
		if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`--${flag} expects a number, got "${raw}"`);
		n[flag] = value;
	}

	const patch: SimulatorOptionsInput = {};
	if (n.seed !== undefined) patch.seed = n.seed;
	if (typeof values['api-key'] === 'string') patch.apiKey = values['api-key'];
	if (values['allow-high-tier']) patch.allowHighTier = true;
	if (n['credits-cents'] !== undefined) patch.creditsCents = n['credits-cents'];
	if (n['rate-limit'] !== undefined) patch.rateLimit = n['rate-limit'] > 0 ? { requests: n['rate-limit'], windowMs: 60_000 } : null;
	if (n['hang-timeout-ms'] !== undefined) patch.hangTimeoutMs = n['hang-timeout-ms'];

	const latency: NonNullable<SimulatorOptionsInput['latency']> = {};
	if (n['latency-ms'] !== undefined) latency.default = { medianMs: n['latency-ms'], p99Ms: n['p99-ms'] ?? n['latency-ms'] };
	if (n['find-email-latency-ms'] !== undefined) {
		const spec = { medianMs: n['find-email-latency-ms'], p99Ms: n['find-email-p99-ms'] ?? n['find-email-latency-ms'] };
		latency.find_email = spec;
		latency.find_email_bulk = spec;
	}
	if (n['poll-latency-ms'] !== undefined) {
		latency.async_submit = { medianMs: n['poll-latency-ms'] };
		latency.job_status = { medianMs: n['poll-latency-ms'] };
	}
	if (Object.keys(latency).length > 0) patch.latency = latency;

	const faults: NonNullable<SimulatorOptionsInput['faults']> = {};
	if (n['error-rate'] !== undefined) faults.error500 = n['error-rate'];
	if (n['hang-rate'] !== undefined) faults.hang = n['hang-rate'];
	if (n['malformed-rate'] !== undefined) faults.malformed = n['malformed-rate'];
	if (n['reset-rate'] !== undefined) faults.reset = n['reset-rate'];
	if (n['async-failed-rate'] !== undefined) faults.asyncFailed = n['async-failed-rate'];
	if (n['async-timeout-rate'] !== undefined) faults.asyncTimedOut = n['async-timeout-rate'];
	if (n['webhook-drop-rate'] !== undefined) faults.webhookDrop = n['webhook-drop-rate'];
	if (n['webhook-duplicate-rate'] !== undefined) faults.webhookDuplicate = n['webhook-duplicate-rate'];
	if (Object.keys(faults).length > 0) patch.faults = faults;

	const base: SimulatorOptionsInput = values.demo ? structuredClone(DEMO_SIMULATOR_OPTIONS) : {};
	const options = mergeOptionsInput(base, patch);
	parseSimulatorOptions(options); // fail here, with the flag values, rather than at start
	const port = n.port ?? 4100;
	if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be an integer 0..65535, got ${port}`);
	return { help: false, options: { ...options, port, host: values.host ?? '127.0.0.1' } };
}
