/**
 * Two workers on one API key (issue 11, point 2): each runs one job, and the requests the
 * simulator receives — counted by a proxy in front of it, polls and all — never exceed the key's
 * bucket (its burst plus its refill over any window), so together they stay under the key's
 * requests/min instead of each taking its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import { bucketExcess, createFleet, jobLines, runsClient, startRecordingProxy, type Fleet, type RecordingProxy } from '../helpers/fleet';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { freshPostgres, freshRedis, type TestPostgres, type TestRedis } from '../helpers/scale-services';
import type { ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

/** 300 requests/min: a burst of 5, then 290/min (the fleet bucket holds a second's worth back). */
const LIMIT = 300;
const BURST = 5;
const ROWS = 50;

let sim: RunningSimulator;
let proxy: RecordingProxy;
let redis: TestRedis;
let pg: TestPostgres;
let data: TempDir;
let fleet: Fleet;
let web: ServerProcess;
let workers: ServerProcess[];

beforeAll(async () => {
	sim = await startSimulator({ latency: { default: { medianMs: 20, p99Ms: 40 } } });
	proxy = await startRecordingProxy(sim.url);
	[redis, pg, data] = await Promise.all([freshRedis(), freshPostgres(), makeTempDir('leadflow-fleet-rate-')]);
	await writeLeadsCsv(join(data.dir, 'uploads', 'a.csv'), ROWS, 0);
	await writeLeadsCsv(join(data.dir, 'uploads', 'b.csv'), ROWS, 1_000);
	fleet = createFleet({
		dataDir: data.dir,
		redisUrl: redis.url,
		databaseUrl: pg.url,
		simulatorUrl: proxy.url,
		env: { MAX_CONCURRENT_JOBS: '1', SIXTYFOUR_RATE_LIMIT_PER_MIN: String(LIMIT) }
	});
	[web, ...workers] = await Promise.all([fleet.start('web'), fleet.start('worker'), fleet.start('worker')]);
}, 180_000);

afterAll(async () => {
	await fleet?.kill();
	await proxy?.close();
	await sim?.close();
	await Promise.all([redis?.release(), pg?.drop(), data?.cleanup()]);
});

const emails = (csv: string) => ({
	name: `Rate ${csv}`,
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: `uploads/${csv}` } },
		{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } }
	]
});

describe('two workers on one key', () => {
	it('run a job each and together stay inside the key’s bucket', async () => {
		const api = runsClient(web.url);
		const ids = [await api.run(emails('a.csv'), { concurrency: 10 }), await api.run(emails('b.csv'), { concurrency: 10 })];
		for (const id of ids) expect((await api.waitFor(id, (job) => job.status === 'completed', 180_000)).row_count).toBe(ROWS);
		// One job in each worker (MAX_CONCURRENT_JOBS=1), at the same time.
		expect(workers.map((w) => ids.filter((id) => jobLines(w, id, 'job started').length === 1).length)).toEqual([1, 1]);

		expect(proxy.arrivals.length).toBe(2 * ROWS);
		// Never more than the bucket allows in any window. The slack (2 s, 10 requests' worth) absorbs
		// the proxy's own stalls on a loaded machine, which bunch arrivals; a bucket per worker would
		// exceed it by ~50 requests over this run.
		expect(bucketExcess(proxy.arrivals, BURST, LIMIT, 2_000)).toBeLessThanOrEqual(1);
		// Each alone would have been allowed its own 300/min: together, twice the key's rate over the run.
		const span = proxy.arrivals.at(-1)! - proxy.arrivals[0]!;
		expect(span).toBeGreaterThan(((2 * ROWS - BURST - 1) * 60_000) / (LIMIT - BURST) - 500);
		expect(sim.stats().rate_limited).toBe(0);
	}, 240_000);
});
