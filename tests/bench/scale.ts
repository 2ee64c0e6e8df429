/**
 * `npm run bench -- scale` (issue 11): requests per minute that 1, 2 and 4 worker processes get out
 * of one API key — which must stay at most the key's limit and at least 0.9 of it — and that four
 * workers get out of four keys (at least 3.5 × one key). A real fleet (one web process, workers
 * added 1 → 2 → 4, Redis, the simulator as its own process with a per-key limit); each worker runs
 * one find-email job of distinct leads; then four workers with a key each. Requests are timed as they reach the simulator (a
 * proxy in front of it) and the rate is taken between the first and the last request of a short
 * window after a warm-up — not from two reads of a counter, whose own delays on a loaded machine
 * would skew a short window by a few per cent. Needs PostgreSQL and Redis like `npm run test:scale`.
 * Runnable alone: `npx tsx tests/bench/scale.ts`.
 */
import { join } from 'node:path';
import { freshPostgres, freshRedis } from '../helpers/scale-services';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { makeTempDir } from '../helpers/temp-dir';
import { createFleet, runsClient, startRecordingProxy, type Fleet, type RecordingProxy } from '../helpers/fleet';
import { spawnSimulator, type SimProcess } from './sim-process';

/** The key's limit at the simulator (requests per minute, sliding window). */
const LIMIT = 180;
const WARMUP_MS = 6_000;
const WINDOW_MS = 40_000;
const ROWS_PER_JOB = 2_000;

export interface ScaleScenario {
	workers: number;
	keys: number;
}

export interface ScaleResult extends ScaleScenario {
	/** Requests per minute the simulator received during the window. */
	perMinute: number;
	/** The keys' limits together. */
	limit: number;
	rateLimited: number;
}

/** The workflow of job `i`: find-email over its own leads (distinct, so nothing comes from the cache). */
const emailJob = (i: number) => ({
	name: `Bench ${i}`,
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: `uploads/job-${i}.csv` } },
		{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } }
	]
});

/** Requests per minute reaching the simulator over the next window (after a warm-up). */
async function window(proxy: RecordingProxy, sim: SimProcess): Promise<{ perMinute: number; rateLimited: number }> {
	await new Promise((r) => setTimeout(r, WARMUP_MS));
	const before = await sim.stats();
	const from = performance.now();
	await new Promise((r) => setTimeout(r, WINDOW_MS));
	const to = performance.now();
	const after = await sim.stats();
	const seen = proxy.arrivals.filter((t) => t >= from && t <= to);
	const perMinute = seen.length < 2 ? 0 : ((seen.length - 1) * 60_000) / (seen.at(-1)! - seen[0]!);
	return { perMinute, rateLimited: after.rate_limited - before.rate_limited };
}

/**
 * One fleet per scenario group: on one key, workers are added 1 → 2 → 4 (each new one takes a new
 * job) and the key's rate measured at each size; then four workers, one key each.
 */
async function measureAll(sim: SimProcess, proxy: RecordingProxy): Promise<ScaleResult[]> {
	const [redis, pg, data] = await Promise.all([freshRedis(), freshPostgres(), makeTempDir('leadflow-bench-scale-')]);
	const fleetOf = (key: string) =>
		createFleet({
			dataDir: data.dir,
			redisUrl: redis.url,
			databaseUrl: pg.url,
			simulatorUrl: proxy.url,
			env: { MAX_CONCURRENT_JOBS: '1', SIXTYFOUR_RATE_LIMIT_PER_MIN: String(LIMIT), SIXTYFOUR_API_KEY: key }
		});
	const results: ScaleResult[] = [];
	const fleets = [fleetOf('bench-one-key'), ...[0, 1, 2, 3].map((k) => fleetOf(`bench-key-${k}`))];
	try {
		for (let i = 0; i < 8; i++) await writeLeadsCsv(join(data.dir, 'uploads', `job-${i}.csv`), ROWS_PER_JOB, i * 100_000);
		const [oneKey, ...perKey] = fleets as [Fleet, ...Fleet[]];
		const [web] = await Promise.all([oneKey.start('web'), oneKey.start('worker')]);
		const api = runsClient(web.url);
		let job = 0;
		for (const workers of [1, 2, 4]) {
			while (oneKey.processes.length - 1 < workers) await oneKey.start('worker');
			while (job < workers) await api.run(emailJob(job++), { concurrency: 20 });
			const measured = await window(proxy, sim);
			results.push({ workers, keys: 1, limit: LIMIT, ...measured });
			console.error(`  ${workers} worker(s), 1 key: ${measured.perMinute.toFixed(0)} req/min`);
		}
		await oneKey.kill(); // its web process goes too: the four-key fleet gets its own
		const [web4] = await Promise.all([perKey[0]!.start('web'), ...perKey.map((f) => f.start('worker'))]);
		const api4 = runsClient(web4.url);
		for (let i = 4; i < 8; i++) await api4.run(emailJob(i), { concurrency: 20 });
		const measured = await window(proxy, sim);
		results.push({ workers: 4, keys: 4, limit: 4 * LIMIT, ...measured });
		console.error(`  4 workers, 4 keys: ${measured.perMinute.toFixed(0)} req/min`);
		return results;
	} finally {
		await Promise.all(fleets.map((f) => f.kill()));
		await Promise.all([redis.release(), pg.drop(), data.cleanup()]);
	}
}

export async function benchScale(): Promise<ScaleResult[]> {
	const sim = await spawnSimulator(['--rate-limit', String(LIMIT), '--latency-ms', '40', '--p99-ms', '80']);
	const proxy = await startRecordingProxy(sim.url);
	try {
		return await measureAll(sim, proxy);
	} finally {
		await proxy.close();
		await sim.close();
	}
}

export function formatScale(results: ScaleResult[]): string {
	const oneKey = results.find((r) => r.workers === 1 && r.keys === 1)!;
	const rows = results.map((r) => {
		const ofLimit = r.perMinute / r.limit;
		const verdict =
			r.keys === 1
				? ofLimit <= 1 && ofLimit >= 0.9
					? 'ok'
					: 'OUT OF RANGE'
				: r.perMinute / oneKey.perMinute >= 3.5
					? 'ok'
					: 'BELOW 3.5×';
		return `| ${r.workers} | ${r.keys} | ${r.limit} | ${r.perMinute.toFixed(0)} | ${ofLimit.toFixed(3)} | ${(r.perMinute / oneKey.perMinute).toFixed(2)}× | ${r.rateLimited} | ${verdict} |`;
	});
	return [
		`Each worker runs one find-email job (20 rows in flight, 40 ms answers); requests timed at the simulator over ${WINDOW_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up; each key is limited to ${LIMIT}/min.`,
		'',
		'| workers | keys | limit/min | requests/min | of limit | vs 1 worker, 1 key | 429s | |',
		'| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
		...rows
	].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
	benchScale().then(
		(r) => {
			console.log(formatScale(r));
			process.exit(0);
		},
		(err: unknown) => {
			console.error(err);
			process.exit(1);
		}
	);
}
