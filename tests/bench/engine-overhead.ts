/**
 * Benchmark — the engine's own overhead. 20,000 distinct leads go through read_csv → filter →
 * enrich_lead → find_email → save_csv twice:
 * 1. against a zero-latency simulator in its own process (real HTTP, scheduler, SQLite cache):
 *    row-steps per second (rows entering each block, summed) — the target is ≥ 5,000;
 * 2. against an in-process service that answers at once (no HTTP, no cache): the engine alone.
 * The engine-alone time over the end-to-end time is the share of time spent outside API calls
 * (with calls pipelined, some call is nearly always in flight, so timing the gaps between calls
 * would say nothing). Runnable alone: `npx tsx tests/bench/engine-overhead.ts [rows]`.
 */
import { RUNNERS } from '../../server/blocks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as v from 'valibot';
import { runJob } from '../../server/engine/run-job';
import { createEnrichmentService } from '../../server/enrichment/service';
import type { EnrichLeadRequest, FindEmailRequest } from '../../server/enrichment/sixtyfour-schemas';
import type { CallOptions, EnrichmentService } from '../../server/enrichment/types';
import { openDatabase } from '../../server/store/db';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { makeTempDir } from '../helpers/temp-dir';
import { spawnSimulator } from './sim-process';

export const ENGINE_OVERHEAD_TARGET = 5_000;

export interface EngineOverheadResult {
	rows: number;
	seconds: number;
	rowSteps: number;
	rowStepsPerSecond: number;
	apiCalls: number;
	/** The same workflow with instant in-process answers: the engine alone. */
	engineOnlySeconds: number;
	engineOnlyRowStepsPerSecond: number;
	/** Engine-alone time ÷ end-to-end time. */
	shareOutsideApi: number;
	target: number;
	meetsTarget: boolean;
	blocks: { block_id: string; rows_in: number; rows_out: number; duration_ms: number }[];
}

/** Counts calls on their way to a service. */
function counted(service: EnrichmentService) {
	let calls = 0;
	return {
		service: {
			...service,
			enrichLead: (req, options) => (calls++, service.enrichLead(req, options)),
			findEmail: (req, options) => (calls++, service.findEmail(req, options))
		} as EnrichmentService,
		calls: () => calls
	};
}

/** Answers at once, in-process, shaped like the API's answers: what the engine costs on its own. */
const instantMethods = {
	async enrichLead(request: EnrichLeadRequest, { meter }: CallOptions) {
		meter.calls++;
		return {
			notes: null,
			structured_data: { title: `Title ${String(request.lead_info.name)}` },
			findings: [],
			references: null,
			confidence_score: 8
		};
	},
	async findEmail(request: FindEmailRequest, { meter }: CallOptions) {
		meter.calls++;
		return {
			email: [{ address: `${String(request.lead.name).split(' ')[0]}@example.com`, status: 'OK', type: 'COMPANY' }],
			personal_email: null,
			cost_cents: 5
		};
	},
	async enrichCompany(): Promise<never> {
		throw new Error('not part of this benchmark');
	},
	async findPhone(): Promise<never> {
		throw new Error('not part of this benchmark');
	}
};
const instant: EnrichmentService = instantMethods;

/** Runs the benchmark; prints nothing (the caller does). */
export async function benchEngineOverhead(rows = 20_000): Promise<EngineOverheadResult> {
	const temp = await makeTempDir('leadflow-bench-');
	const sim = await spawnSimulator(['--latency-ms', '0']);
	const db = openDatabase(join(temp.dir, 'app.db'));
	try {
		await writeLeadsCsv(join(temp.dir, 'uploads', 'leads.csv'), rows);
		const api = counted(
			createEnrichmentService({
				apiKey: 'bench-key',
				baseUrl: sim.url,
				db,
				rateLimitPerMinute: 100_000_000,
				maxInFlight: 256,
				asyncMode: { enrichLead: false }
			})
		);
		const workflow = v.parse(WorkflowSchema, {
			name: 'Engine overhead',
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
				{ id: 'filter', type: 'filter', params: { expression: 'employees >= 50' } },
				{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Current job title' } } },
				{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } },
				{ id: 'save', type: 'save_csv', params: { filename: 'bench' } }
			]
		});
		const run = async (jobId: string, enrichment: EnrichmentService) => {
			const started = performance.now();
			const result = await runJob({
				runners: RUNNERS,
				jobId,
				workflow,
				options: { concurrency: 128 },
				dataDir: temp.dir,
				enrichment
			});
			const seconds = (performance.now() - started) / 1000;
			if (result.status !== 'completed') throw new Error(`bench job ${result.status}: ${result.error}`);
			return { result, seconds, rowSteps: result.blocks.reduce((sum, b) => sum + b.rows_in, 0) };
		};
		const alone = await run('bench-engine-only', instant);
		const { result, seconds, rowSteps } = await run('bench', api.service);
		const rowStepsPerSecond = Math.round(rowSteps / seconds);
		return {
			rows,
			seconds: Math.round(seconds * 100) / 100,
			rowSteps,
			rowStepsPerSecond,
			apiCalls: api.calls(),
			engineOnlySeconds: Math.round(alone.seconds * 100) / 100,
			engineOnlyRowStepsPerSecond: Math.round(alone.rowSteps / alone.seconds),
			shareOutsideApi: Math.round(Math.min(1, alone.seconds / seconds) * 1000) / 1000,
			target: ENGINE_OVERHEAD_TARGET,
			meetsTarget: rowStepsPerSecond >= ENGINE_OVERHEAD_TARGET,
			blocks: result.blocks.map((b) => ({
				block_id: b.block_id,
				rows_in: b.rows_in,
				rows_out: b.rows_out,
				duration_ms: b.duration_ms
			}))
		};
	} finally {
		db.close();
		await sim.close();
		await temp.cleanup();
	}
}

/** The result as a Markdown table, for `npm run bench` and the README. */
export function formatEngineOverhead(r: EngineOverheadResult): string {
	return [
		'| rows | row-steps | API calls | seconds | row-steps/s | target | engine alone (row-steps/s) | time outside API calls |',
		'|---:|---:|---:|---:|---:|---:|---:|---:|',
		`| ${r.rows} | ${r.rowSteps} | ${r.apiCalls} | ${r.seconds} | ${r.rowStepsPerSecond} | ≥ ${r.target} ${r.meetsTarget ? '(met)' : '(not met)'} | ${r.engineOnlyRowStepsPerSecond} | ${Math.round(r.shareOutsideApi * 100)}% |`
	].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	const r = await benchEngineOverhead(Number(process.argv[2] ?? 20_000));
	console.log(formatEngineOverhead(r));
}
