/**
 * Benchmark — streaming. A synthetic leads CSV (100,000 and 1,000,000 rows) goes through
 * read_csv → filter (`company_location` ends with "USA": about half the rows) → save_csv with the
 * engine's `runJob`, and through a bare csv-parse → csv-stringify pipeline over the same file.
 * Targets: engine throughput ≥ 0.5 × bare throughput; peak RSS ≤ 300 MB and flat from 100k to 1M
 * rows (the file never sits in memory).
 *
 * Every measured pass runs in its own child process (this file with `--pass`), so each peak RSS
 * belongs to that pass alone; each runs twice (interleaved) and the faster run counts. Files are generated once under data/bench/ (git-ignored) and reused.
 * Runnable alone: `npx tsx tests/bench/streaming.ts [rows…]`.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import * as v from 'valibot';
import { generateLeadsFile } from '../../scripts/generate-leads';
import type { EnrichmentService } from '../../server/enrichment/types';

export const STREAMING_RATIO_TARGET = 0.5;
export const STREAMING_RSS_TARGET_BYTES = 300 * 1024 * 1024;
/** "Flat": peak RSS at the largest size at most this much above the smallest. */
export const STREAMING_RSS_FLAT_GROWTH = 0.25;

const THIS_FILE = fileURLToPath(import.meta.url);
const DEFAULT_DIR = fileURLToPath(new URL('../../data/bench/', import.meta.url));

export interface StreamingBenchOptions {
	/** Row counts to measure (default 100,000 and 1,000,000). */
	sizes?: number[];
	seed?: number;
	/** Where input files are kept (default data/bench/). */
	dir?: string;
	/** Passes of each kind per size; the fastest counts, peak RSS is the highest (default 2). */
	repeats?: number;
	/** Progress lines (default: stderr). */
	log?: (line: string) => void;
}

export interface PassResult {
	ms: number;
	rowsIn: number;
	rowsOut: number;
	rowsPerSecond: number;
	peakRssBytes: number;
}

export interface StreamingSizeResult {
	rows: number;
	fileBytes: number;
	bare: PassResult;
	engine: PassResult;
	/** Engine rows/s ÷ bare rows/s. */
	ratio: number;
}

export interface StreamingBenchResult {
	sizes: StreamingSizeResult[];
	/** Peak RSS of a child that only loads the engine's modules: the floor under every pass. */
	idleRssBytes: number;
	/** Engine peak RSS at the largest size ÷ at the smallest. */
	rssGrowth: number;
	meetsRatio: boolean;
	meetsRss: boolean;
	meetsFlat: boolean;
}

type PassKind = 'bare' | 'engine' | 'idle';

/** Runs one pass in a child process and returns what it measured. */
function runPass(kind: PassKind, file: string, outDir: string): Promise<PassResult> {
	return new Promise((resolvePass, reject) => {
		const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, '--pass', kind, file, outDir], {
			stdio: ['ignore', 'pipe', 'inherit']
		});
		let stdout = '';
		child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
		child.on('error', reject);
		child.on('close', (code) => {
			if (code !== 0) return reject(new Error(`${kind} pass exited with ${code}`));
			try {
				resolvePass(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as PassResult);
			} catch {
				reject(new Error(`${kind} pass printed no result: ${stdout.slice(-500)}`));
			}
		});
	});
}

/** The fastest pass, with the highest peak RSS seen over all of them. */
function best(passes: PassResult[]): PassResult {
	const fastest = passes.reduce((a, b) => (b.ms < a.ms ? b : a));
	return { ...fastest, peakRssBytes: Math.max(...passes.map((p) => p.peakRssBytes)) };
}

async function ensureFile(dir: string, rows: number, seed: number, log: (l: string) => void): Promise<string> {
	const file = join(dir, `leads-${rows}-s${seed}.csv`);
	if (!existsSync(file)) {
		log(`generating ${file}`);
		await generateLeadsFile({ rows, path: file, seed });
	}
	return file;
}

/** Measures bare and engine passes for each size; see the file comment for the targets. */
export async function benchStreaming(options: StreamingBenchOptions = {}): Promise<StreamingBenchResult> {
	const sizes = options.sizes ?? [100_000, 1_000_000];
	const seed = options.seed ?? 1;
	const dir = resolve(options.dir ?? DEFAULT_DIR);
	const log = options.log ?? ((line: string) => console.error(line));
	const repeats = Math.max(1, options.repeats ?? 2);
	const outDir = join(dir, `out-${process.pid}`);
	await mkdir(outDir, { recursive: true });
	try {
		const files = [];
		for (const rows of sizes) files.push(await ensureFile(dir, rows, seed, log));
		const idle = await runPass('idle', files[0], outDir);
		const results: StreamingSizeResult[] = [];
		for (const [i, rows] of sizes.entries()) {
			const file = files[i];
			const bares: PassResult[] = [];
			const engines: PassResult[] = [];
			for (let r = 0; r < repeats; r++) {
				// Interleaved, so a slow moment on a shared machine does not land on one kind only.
				log(`bare csv-parse → csv-stringify, ${rows.toLocaleString('en')} rows (${r + 1}/${repeats})`);
				bares.push(await runPass('bare', file, outDir));
				log(`engine read_csv → filter → save_csv, ${rows.toLocaleString('en')} rows (${r + 1}/${repeats})`);
				engines.push(await runPass('engine', file, outDir));
			}
			const bare = best(bares);
			const engine = best(engines);
			if (bare.rowsIn !== rows || engine.rowsIn !== rows) {
				throw new Error(`expected ${rows} rows, bare read ${bare.rowsIn}, engine read ${engine.rowsIn}`);
			}
			results.push({ rows, fileBytes: statSync(file).size, bare, engine, ratio: engine.rowsPerSecond / bare.rowsPerSecond });
		}
		const first = results[0].engine.peakRssBytes;
		const last = results[results.length - 1].engine.peakRssBytes;
		const rssGrowth = last / first;
		return {
			sizes: results,
			idleRssBytes: idle.peakRssBytes,
			rssGrowth,
			meetsRatio: results.every((r) => r.ratio >= STREAMING_RATIO_TARGET),
			meetsRss: results.every((r) => r.engine.peakRssBytes <= STREAMING_RSS_TARGET_BYTES),
			meetsFlat: rssGrowth <= 1 + STREAMING_RSS_FLAT_GROWTH
		};
	} finally {
		await rm(outDir, { recursive: true, force: true });
	}
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const rate = (n: number) => `${Math.round(n).toLocaleString('en')}`;
const mark = (ok: boolean) => (ok ? '✓' : '✗');

/** The result as a Markdown table plus the verdicts, for `npm run bench` and the README. */
export function formatStreaming(result: StreamingBenchResult): string {
	const lines = [
		'| rows | file | bare rows/s | engine rows/s | engine ÷ bare | peak RSS bare | peak RSS engine |',
		'|---:|---:|---:|---:|---:|---:|---:|',
		...result.sizes.map(
			(s) =>
				`| ${s.rows.toLocaleString('en')} | ${mb(s.fileBytes)} | ${rate(s.bare.rowsPerSecond)} | ${rate(s.engine.rowsPerSecond)} | ` +
				`${s.ratio.toFixed(2)} | ${mb(s.bare.peakRssBytes)} | ${mb(s.engine.peakRssBytes)} |`
		),
		'',
		`- engine ÷ bare ≥ ${STREAMING_RATIO_TARGET}: ${mark(result.meetsRatio)}`,
		`- engine peak RSS ≤ ${mb(STREAMING_RSS_TARGET_BYTES)}: ${mark(result.meetsRss)}`,
		`- peak RSS flat (largest ÷ smallest = ${result.rssGrowth.toFixed(2)}, ≤ ${1 + STREAMING_RSS_FLAT_GROWTH}): ${mark(result.meetsFlat)}`,
		`- a child that only loads the modules peaks at ${mb(result.idleRssBytes)} (Node + tsx), included in every figure above`,
		`- filter: company_location ends_with "USA" (kept ${result.sizes.map((s) => `${((s.engine.rowsOut / s.rows) * 100).toFixed(0)}%`).join(', ')})`
	];
	return lines.join('\n');
}

// ---- child side: one measured pass ----

function peakRss(): number {
	return process.resourceUsage().maxRSS * 1024; // kilobytes on Linux and macOS
}

async function barePass(file: string, outDir: string): Promise<{ rowsIn: number; rowsOut: number }> {
	const parser = parse();
	await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), parser, stringify(), createWriteStream(join(outDir, 'bare.csv')));
	const rows = parser.info.records - 1; // the header is a record too
	return { rowsIn: rows, rowsOut: rows };
}

async function enginePass(file: string, outDir: string): Promise<{ rowsIn: number; rowsOut: number }> {
	const { runJob } = await import('../../server/engine/run-job');
	const { RUNNERS } = await import('../../server/blocks');
	const { WorkflowSchema } = await import('../../src/lib/workflow/schema');
	const dataDir = dirname(dirname(file));
	const workflow = v.parse(WorkflowSchema, {
		name: 'streaming bench',
		blocks: [
			{ id: 'read', type: 'read_csv', params: { path: relative(dataDir, file).split('\\').join('/') } },
			{ id: 'usa', type: 'filter', params: { column: 'company_location', operator: 'ends_with', value: 'USA' } },
			{ id: 'save', type: 'save_csv', params: { filename: 'engine' } }
		]
	});
	const noApi = new Proxy({} as EnrichmentService, {
		get: () => () => Promise.reject(new Error('The streaming bench calls no API'))
	});
	const result = await runJob({ runners: RUNNERS, jobId: 'bench', workflow, dataDir, outputDir: outDir, enrichment: noApi });
	if (result.status !== 'completed') throw new Error(`engine pass ${result.status}: ${result.error}`);
	return { rowsIn: result.blocks[0].rows_out, rowsOut: result.rowsOut };
}

async function childMain(kind: PassKind, file: string, outDir: string) {
	if (kind === 'idle') {
		await import('../../server/engine/run-job');
		console.log(JSON.stringify({ ms: 0, rowsIn: 0, rowsOut: 0, rowsPerSecond: 0, peakRssBytes: peakRss() } satisfies PassResult));
		return;
	}
	const started = performance.now();
	const counts = kind === 'bare' ? await barePass(file, outDir) : await enginePass(file, outDir);
	const ms = performance.now() - started;
	const result: PassResult = { ms, ...counts, rowsPerSecond: counts.rowsIn / (ms / 1000), peakRssBytes: peakRss() };
	console.log(JSON.stringify(result));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
	const args = process.argv.slice(2);
	const run =
		args[0] === '--pass'
			? childMain(args[1] as PassKind, args[2], args[3])
			: benchStreaming(args.length ? { sizes: args.map(Number) } : {}).then((r) => console.log(formatStreaming(r)));
	run.then(
		() => process.exit(0),
		(err: unknown) => {
			console.error(err);
			process.exit(1);
		}
	);
}
