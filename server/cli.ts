/**
 * Headless runs: `npm run workflow -- run <workflow.json> [--input file.csv] [--out dir] [--limit N]`.
 * The same engine as the server, with a live progress bar per block on stderr and a summary.
 * Settings come from the server's own loader (`loadConfig`: environment and `.env`), flags win;
 * a bad value stops the run with the server's one line naming it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { RunOptionsSchema, WorkflowSchema, type RunOptions, type Workflow } from '../src/lib/workflow/schema';
import { definitionOf, rowsAnswered } from '../src/lib/workflow/blocks';
import { analyzeColumns } from '../src/lib/workflow/columns';
import { RUNNERS } from './blocks';
import { ConfigError, loadConfig, type Config } from './config';
import { runJob } from './engine/run-job';
import type { BlockProgress, RunEvent } from './engine/types';
import { createEnrichmentService } from './enrichment/service';
import { DEMO_SIMULATOR_OPTIONS, startSimulator } from './enrichment/simulator';
import { DatabaseStartError, openStore } from './store/store';
import { renderProgress, requestsPerRow } from './cli-progress';
import { pendingBlock } from '../src/lib/workflow/live-jobs';

const USAGE = `Usage: npm run workflow -- run <workflow.json> [--input file.csv] [--out dir] [--limit N] [--concurrency N]

Runs a workflow headless, with the server's settings (environment or .env; the options win).
Without SIXTYFOUR_API_KEY the built-in simulator answers the API calls.
  --input        CSV file read by the workflow's Read CSV block (replaces its path)
  --out          directory for Save CSV outputs (default: <data dir>/outputs)
  --limit        run only the first N rows
  --concurrency  rows in flight per API block (default: DEFAULT_CONCURRENCY)
  --data-dir     data directory (default: DATA_DIR, else ./data)`;

async function main(argv: string[]): Promise<number> {
	const { values, positionals } = parseArgs({
		args: argv,
		allowPositionals: true,
		options: {
			input: { type: 'string' },
			out: { type: 'string' },
			limit: { type: 'string' },
			concurrency: { type: 'string' },
			'data-dir': { type: 'string' },
			help: { type: 'boolean', short: 'h' }
		}
	});
	const [command, file] = positionals;
	if (values.help || command !== 'run' || !file) {
		console.error(USAGE);
		return values.help ? 0 : 2;
	}

	let config: Config;
	let runOptions: RunOptions;
	try {
		config = loadConfig();
		runOptions = parseRunFlags(values, config);
	} catch (err) {
		if (!(err instanceof ConfigError)) throw err;
		console.error(err.message);
		return 2;
	}

	const parsed = v.safeParse(WorkflowSchema, JSON.parse(readFileSync(file, 'utf8')));
	if (!parsed.success) {
		for (const issue of parsed.issues) console.error(`${v.getDotPath(issue) ?? '(workflow)'}: ${issue.message}`);
		return 2;
	}
	let workflow: Workflow = parsed.output;
	const configDataDir = values['data-dir'] ? resolve(values['data-dir']) : config.dataDir;
	let dataDir = configDataDir;
	const outputDir = values.out ? resolve(values.out) : join(dataDir, 'outputs');
	if (values.input) {
		// The CLI is a local, trusted user: the input's folder becomes the data dir of this run.
		const input = resolve(values.input);
		workflow = {
			...workflow,
			blocks: workflow.blocks.map((b) => {
				const source = definitionOf(b.type)?.source;
				return source ? ({ ...b, params: { ...b.params, [source.pathParam]: input } } as typeof b) : b;
			})
		};
		dataDir = dirname(input);
	}
	const flow = analyzeColumns(workflow, { sourceColumns: () => null });
	const errors = flow.problems.filter((p) => p.severity === 'error');
	for (const p of flow.problems) console.error(`${p.severity}: ${p.path}: ${p.message}`);
	if (errors.length > 0) return 2;

	const { apiKey } = config;
	const simulator = apiKey ? null : await startSimulator({ ...DEMO_SIMULATOR_OPTIONS, port: 0 });
	if (simulator) console.error(`No SIXTYFOUR_API_KEY: using the built-in simulator at ${simulator.url}`);
	// The cache and the API's learnt limits live in the data dir's database (not the --input folder's),
	// or in PostgreSQL when DATABASE_URL is set.
	let db;
	try {
		db = await openStore({ dataDir: configDataDir, databaseUrl: config.scaleOut?.databaseUrl });
	} catch (err) {
		if (!(err instanceof DatabaseStartError)) throw err;
		await simulator?.close();
		console.error(err.message);
		return 1;
	}
	const enrichment = createEnrichmentService({
		apiKey: apiKey ?? 'simulator',
		baseUrl: simulator?.url ?? config.baseUrl,
		db,
		rateLimitPerMinute: config.rateLimitPerMinute,
		maxRatePerMinute: config.maxRatePerMinute,
		maxInFlight: config.maxInFlight,
		asyncMode: { enrichLead: config.asyncMode },
		requestTimeoutMs: config.requestTimeoutMs,
		maxAttempts: config.maxAttempts,
		cacheTtlMs: config.cacheTtlMs,
		...(config.pollInitialMs ? { polling: { initialMs: config.pollInitialMs } } : {}),
		// The simulator's bulk answer is known; the real API's is undocumented (opt in).
		findEmailBulk: config.findEmailBulk ?? simulator !== null,
		onNotice: (message) => console.error(message)
	});

	const controller = new AbortController();
	process.once('SIGINT', () => controller.abort(new Error('Interrupted')));
	const started = Date.now();
	let latest = workflow.blocks.map((b) => pendingBlock({ block_id: b.id, block_type: b.type })) as BlockProgress[];
	const draw = renderProgress(process.stderr);
	const onEvent = (event: RunEvent) => {
		if (event.type === 'row_error' || event.type === 'job_started' || event.type === 'row_cells') return;
		if (event.type === 'job_finished') latest = event.blocks;
		else latest = latest.map((b) => (b.block_id === event.block.block_id ? event.block : b));
		draw(
			latest,
			workflow.blocks.map((b) => b.type)
		);
	};
	const result = await runJob({
		jobId: randomUUID(),
		workflow,
		runners: RUNNERS,
		options: runOptions,
		signal: controller.signal,
		dataDir,
		outputDir,
		enrichment,
		onEvent
	});
	draw(
		result.blocks,
		workflow.blocks.map((b) => b.type),
		true
	);
	await simulator?.close();
	await enrichment.cache.flush();
	await db.close();

	const sum = (key: 'errors' | 'calls' | 'cached' | 'cost_cents') => result.blocks.reduce((n, b) => n + b[key], 0);
	console.error(
		[
			`\n${result.status.toUpperCase()}${result.error ? `: ${result.error}` : ''}`,
			`rows out ${result.rowsOut} · errors ${sum('errors')} · API calls ${sum('calls')} · cached ${sum('cached')}` +
				apiFigures(result.blocks) +
				` · cost $${(sum('cost_cents') / 100).toFixed(2)} · ${((Date.now() - started) / 1000).toFixed(1)} s`,
			result.outputPath ? `output: ${resolve(dataDir, result.outputPath)}` : ''
		]
			.filter(Boolean)
			.join('\n')
	);
	return result.status === 'completed' ? 0 : 1;
}

/**
 * `--limit` and `--concurrency` as run options (bounds from `RunOptionsSchema`, as for a posted
 * run); without `--concurrency`, DEFAULT_CONCURRENCY as the server applies it.
 * @throws ConfigError with one line naming the flag.
 */
function parseRunFlags(values: { limit?: string; concurrency?: string }, config: Config): RunOptions {
	const flags = { row_limit: ['--limit', values.limit], concurrency: ['--concurrency', values.concurrency] } as const;
	for (const [flag, text] of Object.values(flags)) {
		if (text !== undefined && !/^\d+$/.test(text.trim())) {
			throw new ConfigError(`Invalid option: ${flag}: expected a whole number (got ${JSON.stringify(text)})`);
		}
	}
	const toNumber = (text: string | undefined) => (text === undefined ? undefined : Number(text));
	const result = v.safeParse(RunOptionsSchema, { row_limit: toNumber(values.limit), concurrency: toNumber(values.concurrency) });
	if (!result.success) {
		const issue = result.issues[0];
		const [flag, text] = flags[issue.path?.[0]?.key === 'concurrency' ? 'concurrency' : 'row_limit'];
		throw new ConfigError(`Invalid option: ${flag}: ${issue.message} (got ${JSON.stringify(text ?? '')})`);
	}
	return { ...result.output, concurrency: result.output.concurrency ?? config.defaultConcurrency };
}

/** ` · 1.02 req/row · limit 6000/min` over the API blocks (empty when none ran). */
function apiFigures(blocks: BlockProgress[]): string {
	const api = blocks.filter((b) => requestsPerRow(b) !== null);
	const rows = api.reduce((n, b) => n + rowsAnswered(b), 0);
	const calls = api.reduce((n, b) => n + b.calls, 0);
	const limit = blocks.find((b) => b.rate_limit_per_min)?.rate_limit_per_min;
	return (rows > 0 ? ` · ${(calls / rows).toFixed(2)} req/row` : '') + (limit ? ` · limit ${limit}/min` : '');
}

main(process.argv.slice(2)).then(
	(code) => process.exit(code),
	(err: unknown) => {
		console.error(err instanceof Error ? err.message : String(err));
		process.exit(1);
	}
);
