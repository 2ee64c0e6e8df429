/**
 * Headless runs: `npm run workflow -- run <workflow.json> [--input file.csv] [--out dir] [--limit N]`.
 * The same engine as the server, with a live progress bar per block on stderr and a summary.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as v from 'valibot';
import { WorkflowSchema, type Workflow } from '../src/lib/workflow/schema';
import { definitionOf, rowsAnswered } from '../src/lib/workflow/blocks';
import { analyzeColumns } from '../src/lib/workflow/columns';
import { RUNNERS } from './blocks';
import { runJob } from './engine/run-job';
import type { BlockProgress, RunEvent } from './engine/types';
import { createEnrichmentService } from './enrichment/service';
import { DEMO_SIMULATOR_OPTIONS, startSimulator } from './enrichment/simulator';
import { openDatabase } from './store/db';
import { renderProgress, requestsPerRow } from './cli-progress';
import { pendingBlock } from '../src/lib/workflow/live-jobs';

const USAGE = `Usage: npm run workflow -- run <workflow.json> [--input file.csv] [--out dir] [--limit N] [--concurrency N]

Runs a workflow headless. Without SIXTYFOUR_API_KEY the built-in simulator answers the API calls.
  --input        CSV file read by the workflow's Read CSV block (replaces its path)
  --out          directory for Save CSV outputs (default: <data dir>/outputs)
  --limit        run only the first N rows
  --concurrency  rows in flight per API block
  --data-dir     data directory (default: ./data, or DATA_DIR)`;

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

	const parsed = v.safeParse(WorkflowSchema, JSON.parse(readFileSync(file, 'utf8')));
	if (!parsed.success) {
		for (const issue of parsed.issues) console.error(`${v.getDotPath(issue) ?? '(workflow)'}: ${issue.message}`);
		return 2;
	}
	let workflow: Workflow = parsed.output;
	let dataDir = resolve(values['data-dir'] ?? process.env.DATA_DIR ?? 'data');
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

	const apiKey = process.env.SIXTYFOUR_API_KEY;
	const simulator = apiKey ? null : await startSimulator({ ...DEMO_SIMULATOR_OPTIONS, port: 0 });
	if (simulator) console.error(`No SIXTYFOUR_API_KEY: using the built-in simulator at ${simulator.url}`);
	const db = openDatabase(join(resolve(values['data-dir'] ?? process.env.DATA_DIR ?? 'data'), 'app.db'));
	const enrichment = createEnrichmentService({
		apiKey: apiKey ?? 'simulator',
		baseUrl: simulator?.url ?? process.env.SIXTYFOUR_BASE_URL ?? 'https://api.sixtyfour.ai',
		db,
		rateLimitPerMinute: Number(process.env.SIXTYFOUR_RATE_LIMIT_PER_MIN ?? 500),
		maxRatePerMinute: process.env.SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN ? Number(process.env.SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN) : undefined,
		// The simulator's bulk answer is known; the real API's is undocumented (opt in).
		findEmailBulk: process.env.SIXTYFOUR_FIND_EMAIL_BULK ? /^(true|1|yes)$/i.test(process.env.SIXTYFOUR_FIND_EMAIL_BULK.trim()) : simulator !== null,
		onNotice: (message) => console.error(message)
	});

	const controller = new AbortController();
	process.once('SIGINT', () => controller.abort(new Error('Interrupted')));
	const started = Date.now();
	let latest = workflow.blocks.map((b) => pendingBlock({ block_id: b.id, block_type: b.type })) as BlockProgress[];
	const draw = renderProgress(process.stderr);
	const onEvent = (event: RunEvent) => {
		if (event.type === 'row_error' || event.type === 'job_started') return;
		if (event.type === 'job_finished') latest = event.blocks;
		else latest = latest.map((b) => (b.block_id === event.block.block_id ? event.block : b));
		draw(latest, workflow.blocks.map((b) => b.type));
	};
	const result = await runJob({
		jobId: randomUUID(),
		workflow,
		runners: RUNNERS,
		options: {
			row_limit: values.limit ? Number(values.limit) : undefined,
			concurrency: values.concurrency ? Number(values.concurrency) : undefined
		},
		signal: controller.signal,
		dataDir,
		outputDir,
		enrichment,
		onEvent
	});
	draw(result.blocks, workflow.blocks.map((b) => b.type), true);
	await simulator?.close();
	enrichment.cache.flush();
	db.close();

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
