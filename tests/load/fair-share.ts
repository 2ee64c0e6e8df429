/**
 * Load suite 1 — twenty jobs share one API key. Twenty read_csv → enrich_lead jobs (2,000 distinct
 * leads each; quick: 200) are submitted at once to a job manager that runs them all together
 * (MAX_CONCURRENT_JOBS = 20), through one enrichment service and so one scheduler, against the
 * simulator in its own process with a per-key sliding-window limit and 20 ms answers. enrich_lead
 * runs in sync mode, so one request is one row and rows/s is the request rate.
 *
 * Checked: the key's limit is never exceeded (requests sent in any 60 s window, counted on the
 * server's side, and the simulator's 429s), no job starves (each job's rows/s and its share of the
 * requests while all twenty ran, against the mean), all finish close together, and the rows/s of
 * the whole run is at least 0.9 of the limit.
 * Runnable alone: `npx tsx tests/load/fair-share.ts [--quick]`.
 */
import { RUNNERS } from '../../server/blocks';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as v from 'valibot';
import { runJob } from '../../server/engine/run-job';
import { createEnrichmentService } from '../../server/enrichment/service';
import { createJobManager } from '../../server/jobs/job-manager';
import { createLogger } from '../../server/log';
import { openDatabase } from '../../server/store/db';
import { createSqliteJobStore } from '../../server/store/sqlite-job-store';
import type { JobRecord } from '../../server/store/job-store';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { spawnSimulator } from '../bench/sim-process';
import { makeTempDir } from '../helpers/temp-dir';
import {
	atLeast,
	atMost,
	isMain,
	markdownTable,
	maxInWindow,
	percent,
	round1,
	round2,
	runFromCommandLine,
	speedFigure,
	type LoadReport
} from './measure';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { recordingFetch } from './recording-fetch';

export interface FairShareOptions {
	quick: boolean;
	/** Overrides of the preset (the command line's `--jobs=`, `--rows=`, `--limit=`, `--latency=`). */
	jobs?: number;
	rowsPerJob?: number;
	limitPerMinute?: number;
	latencyMs?: number;
}

/** The figures of one run. */
interface Settings {
	jobs: number;
	rowsPerJob: number;
	/** The key's limit: requests per minute (the simulator's sliding window is one minute). */
	limitPerMinute: number;
	latencyMs: number;
	/** Rows in flight per job (the block's concurrency). */
	perJobConcurrency: number;
	/** The scheduler's in-flight ceiling for the key. */
	maxInFlight: number;
	/** The whole run is abandoned (and fails) after this long. */
	deadlineMs: number;
}

const FULL: Settings = {
	jobs: 20,
	rowsPerJob: 2_000,
	limitPerMinute: 30_000,
	latencyMs: 20,
	perJobConcurrency: 50,
	maxInFlight: 200,
	deadlineMs: 240_000
};
/**
 * Quick: the same shape scaled down — a lower limit, so that on a busy 2-core CI machine the limit
 * binds rather than the CPU, and fewer rows in flight per job, so that one job's head start (the
 * first job to reach the API fills its window first) stays as small a part of its rows as in the
 * full run.
 */
const QUICK: Settings = { ...FULL, rowsPerJob: 150, limitPerMinute: 15_000, perJobConcurrency: 10, maxInFlight: 50, deadlineMs: 60_000 };

/** Bounds. A job "starves" below half the mean; finishing spread is a share of the whole run. */
export const FAIR_SHARE_BOUNDS = { max429Share: 0.02, minShareOfMean: 0.5, maxFinishSpread: 0.25, minThroughputOfLimit: 0.9 };

const WINDOW_MS = 60_000;

export async function runFairShare(options: FairShareOptions): Promise<LoadReport> {
	const preset = options.quick ? QUICK : FULL;
	const s: Settings = {
		...preset,
		jobs: options.jobs ?? preset.jobs,
		rowsPerJob: options.rowsPerJob ?? preset.rowsPerJob,
		limitPerMinute: options.limitPerMinute ?? preset.limitPerMinute,
		latencyMs: options.latencyMs ?? preset.latencyMs
	};
	const temp = await makeTempDir('leadflow-load-fair-');
	const sim = await spawnSimulator(['--latency-ms', String(s.latencyMs), '--rate-limit', String(s.limitPerMinute)]);
	const db = openDatabase(join(temp.dir, 'app.db'));
	const logger = createLogger({ level: 'silent' });
	const recorder = recordingFetch((lead) => Math.floor(lead / s.rowsPerJob));
	const enrichment = createEnrichmentService({
		apiKey: 'load-fair-share',
		baseUrl: sim.url,
		db,
		rateLimitPerMinute: s.limitPerMinute,
		maxInFlight: s.maxInFlight,
		asyncMode: { enrichLead: false },
		fetch: recorder.fetch
	});
	const jobs = createJobManager({
		runners: RUNNERS,
		store: createSqliteJobStore(db),
		dataDir: temp.dir,
		enrichment,
		logger,
		maxConcurrentJobs: s.jobs,
		defaultConcurrency: s.perJobConcurrency,
		runJob
	});
	let deadline: ReturnType<typeof setTimeout> | undefined;
	let sampler: ReturnType<typeof setInterval> | undefined;
	const loopDelay = monitorEventLoopDelay({ resolution: 10 });
	try {
		for (let k = 0; k < s.jobs; k++) await writeLeadsCsv(join(temp.dir, 'uploads', `job-${k}.csv`), s.rowsPerJob, k * s.rowsPerJob);
		const submitted: JobRecord[] = [];
		for (let k = 0; k < s.jobs; k++) {
			const workflow = v.parse(WorkflowSchema, {
				name: `fair share ${k}`,
				blocks: [
					{ id: 'read', type: 'read_csv', params: { path: `uploads/job-${k}.csv` } },
					{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Current job title' } } }
				]
			});
			submitted.push(await jobs.submit({ workflow }));
		}
		// What held requests back, sampled: the rate limit (a token wait) or nothing (CPU, in-flight cap).
		const samples = { total: 0, rateBound: 0, inFlight: 0 };
		sampler = setInterval(() => {
			const figures = enrichment.stats().scheduler;
			samples.total++;
			if (figures.waitingOnRateLimit > 0) samples.rateBound++;
			samples.inFlight += figures.inFlight;
		}, 100);
		loopDelay.enable();
		const cpuBefore = process.cpuUsage();
		const timedOut = new Promise<never>((_, reject) => {
			deadline = setTimeout(() => reject(new Error(`fair share: jobs not finished after ${s.deadlineMs / 1000} s`)), s.deadlineMs);
		});
		const finished = (await Promise.race([Promise.all(submitted.map((j) => jobs.settled(j.id))), timedOut])) as (JobRecord | null)[];
		const cpu = process.cpuUsage(cpuBefore);
		loopDelay.disable();
		const simStats = await sim.stats();
		const machine = {
			rateBoundShare: samples.rateBound / Math.max(1, samples.total),
			meanInFlight: samples.inFlight / Math.max(1, samples.total),
			cpuSeconds: (cpu.user + cpu.system) / 1e6,
			loopDelayP99Ms: loopDelay.percentile(99) / 1e6
		};
		return report(s, finished, recorder.sent, simStats.requests, simStats.rate_limited, machine);
	} finally {
		clearTimeout(deadline);
		clearInterval(sampler);
		loopDelay.disable();
		await jobs.shutdown();
		db.close();
		await sim.close();
		await temp.cleanup();
	}
}

function report(
	s: Settings,
	finished: (JobRecord | null)[],
	sent: ReturnType<typeof recordingFetch>['sent'],
	simRequests: number,
	simRateLimited: number,
	machine: { rateBoundShare: number; meanInFlight: number; cpuSeconds: number; loopDelayP99Ms: number }
): LoadReport {
	const problems = finished.filter((j) => !j || j.status !== 'completed' || j.rowCount !== s.rowsPerJob);
	if (problems.length > 0) {
		const first = problems[0];
		throw new Error(
			`${problems.length} job(s) did not complete all rows; first: ${first ? `${first.status} ${first.rowCount} rows ${first.error ?? ''}` : 'missing'}`
		);
	}
	const done = finished as JobRecord[];
	const starts = done.map((j) => j.startedAt!);
	const ends = done.map((j) => j.finishedAt!);
	const firstStart = Math.min(...starts);
	const lastStart = Math.max(...starts);
	const firstEnd = Math.min(...ends);
	const lastEnd = Math.max(...ends);
	const wallS = (lastEnd - firstStart) / 1000;
	const totalRows = s.jobs * s.rowsPerJob;
	const limitPerS = s.limitPerMinute / 60;
	const throughput = totalRows / wallS;

	const perJobRate = done.map((j) => j.rowCount / ((j.finishedAt! - j.startedAt!) / 1000));
	const meanRate = mean(perJobRate);
	// While every job ran (last start → first finish), each job's share of the requests sent.
	const together = sent.filter((r) => r.at >= lastStart && r.at <= firstEnd);
	const perJobTogether = Array.from({ length: s.jobs }, (_, k) => together.filter((r) => r.job === k).length);
	const meanTogether = mean(perJobTogether);
	const unattributed = sent.filter((r) => r.job < 0 || r.job >= s.jobs).length;

	const times = sent.map((r) => r.at);
	const busiestMinute = maxInWindow(times, WINDOW_MS);
	const busiestSecond = maxInWindow(times, 1_000);
	const busiest5s = maxInWindow(times, 5_000);
	// The scheduler's own promise: never ahead of the limit by more than its burst (one second's worth).
	const paceBound = Math.ceil(limitPerS * 5) + Math.floor(limitPerS);
	const clientSaw429 = sent.filter((r) => r.status === 429).length;
	const share429 = simRateLimited / Math.max(1, simRequests);
	const finishSpread = (lastEnd - firstEnd) / 1000 / wallS;

	const markdown = [
		markdownTable(
			[
				'jobs × rows',
				'limit (req/min)',
				'latency',
				'wall (s)',
				'rows/s',
				'of limit',
				'requests sent',
				'429s',
				'busiest 60 s',
				'busiest 1 s',
				'job rows/s min / mean / max',
				'finish spread'
			],
			[
				[
					`${s.jobs} × ${s.rowsPerJob}`,
					s.limitPerMinute,
					`${s.latencyMs} ms`,
					round1(wallS),
					round1(throughput),
					percent(throughput / limitPerS),
					sent.length,
					`${simRateLimited} (${percent(share429)})`,
					busiestMinute,
					busiestSecond,
					`${round1(Math.min(...perJobRate))} / ${round1(meanRate)} / ${round1(Math.max(...perJobRate))}`,
					percent(finishSpread)
				]
			]
		),
		'',
		`All ${s.jobs} jobs started within ${round2((lastStart - firstStart) / 1000)} s of each other. While all ran together ` +
			`(${round1((firstEnd - lastStart) / 1000)} s), each job sent between ${Math.min(...perJobTogether)} and ${Math.max(...perJobTogether)} requests ` +
			`(mean ${round1(meanTogether)}). Requests are timed as the server sends them; "busiest 60 s" is what a one-minute sliding window ` +
			`(the simulator's rule) counted at its fullest. The requests were held by the rate limit (a request waiting for a token) in ` +
			`${percent(machine.rateBoundShare)} of 100 ms samples, with ${round1(machine.meanInFlight)} in flight on average; this process used ` +
			`${round1(machine.cpuSeconds)} s of CPU (${percent(machine.cpuSeconds / wallS)} of one core), event-loop delay p99 ${round1(machine.loopDelayP99Ms)} ms. ` +
			`${unattributed > 0 ? `${unattributed} requests could not be attributed to a job.` : ''}`.trim()
	].join('\n');

	const checks = [
		atMost('requests sent in any 60 s window', busiestMinute, s.limitPerMinute),
		atMost('requests sent in any 5 s window (5 s of the limit + 1 s burst)', busiest5s, paceBound),
		atMost('share of requests answered 429', share429, FAIR_SHARE_BOUNDS.max429Share, percent),
		{
			name: 'requests timed here = requests the simulator got',
			value: `${sent.length} / ${simRequests}`,
			bound: 'equal',
			ok: sent.length === simRequests && clientSaw429 === simRateLimited
		},
		atLeast('slowest job rows/s ÷ mean', Math.min(...perJobRate) / meanRate, FAIR_SHARE_BOUNDS.minShareOfMean, (x) => x.toFixed(2)),
		atLeast(
			'smallest share while all ran ÷ mean',
			Math.min(...perJobTogether) / Math.max(1, meanTogether),
			FAIR_SHARE_BOUNDS.minShareOfMean,
			(x) => x.toFixed(2)
		),
		atMost('finish spread (first → last finish ÷ wall)', finishSpread, FAIR_SHARE_BOUNDS.maxFinishSpread, percent),
		speedFigure(atLeast('throughput ÷ limit', throughput / limitPerS, FAIR_SHARE_BOUNDS.minThroughputOfLimit, percent))
	];
	return {
		title: `Fair sharing of one API key (${s.jobs} jobs × ${s.rowsPerJob} rows, ${s.limitPerMinute} requests/min)`,
		markdown,
		checks
	};
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

if (isMain(import.meta.url)) {
	const flag = (name: string) => {
		const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
		if (raw === undefined) return undefined;
		const n = Number(raw);
		if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a whole number ≥ 1, got "${raw}"`);
		return n;
	};
	const overrides = { jobs: flag('jobs'), rowsPerJob: flag('rows'), limitPerMinute: flag('limit'), latencyMs: flag('latency') };
	runFromCommandLine((options) => runFairShare({ ...options, ...overrides }));
}
