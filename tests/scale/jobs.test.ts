/**
 * Jobs across processes (issue 11, points 1 and 7 and the ROLE contract): two web and two worker
 * processes on one Redis, one PostgreSQL database (DATABASE_URL), one DATA_DIR (uploads, outputs)
 * and one simulator. Runs are queued on a web process and run
 * by a worker; a worker SIGKILLed mid-job is replaced by the other, which resumes from the
 * checkpoint (identical CSV, no answered call paid again); cancel and retry work from the other web
 * process; killing every Redis connection mid-run (a stand-in for a Redis restart) does not stop a
 * job; no job ever starts in two workers; per-client limits count across web processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import type { JobProgress } from '../../server/jobs/job-progress';
import { createFleet, jobLines, killRedisClients, runsClient, type Fleet } from '../helpers/fleet';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { freshPostgres, freshRedis, type TestPostgres, type TestRedis } from '../helpers/scale-services';
import { startTestServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const ROWS = 200;
const CONCURRENCY = 10;
/** The most calls in flight at a kill: both API blocks' rows in flight. */
const IN_FLIGHT_BOUND = 2 * CONCURRENCY;
const FAST_POLLING = { SIXTYFOUR_POLL_INITIAL_MS: '80' };

let sim: RunningSimulator;
let redis: TestRedis;
let pg: TestPostgres;
let data: TempDir;
let fleet: Fleet;
let webA: ServerProcess;
let webB: ServerProcess;
let workers: ServerProcess[];
const temps: TempDir[] = [];

const workflow = (csv: string, name = 'Scale test') => ({
	name,
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: `uploads/${csv}` } },
		{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Current job title' } } },
		{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } },
		{ id: 'save', type: 'save_csv', params: { filename: name.toLowerCase().replace(/\W+/g, '-') } }
	]
});

const rowsOut = (job: JobProgress, block: string) => job.results.find((r) => r.block_id === block)?.rows_out ?? 0;

beforeAll(async () => {
	sim = await startSimulator({
		latency: { default: { medianMs: 80, p99Ms: 120 }, async_submit: { medianMs: 5, p99Ms: 10 }, job_status: { medianMs: 5, p99Ms: 10 } }
	});
	[redis, pg, data] = await Promise.all([freshRedis(), freshPostgres(), makeTempDir('leadflow-fleet-')]);
	await writeLeadsCsv(join(data.dir, 'uploads', 'kill.csv'), ROWS, 0);
	await writeLeadsCsv(join(data.dir, 'uploads', 'redis.csv'), ROWS, 10_000);
	await writeLeadsCsv(join(data.dir, 'uploads', 'cancel.csv'), 2_000, 20_000);
	await writeLeadsCsv(join(data.dir, 'uploads', 'small.csv'), 20, 30_000);
	fleet = createFleet({
		dataDir: data.dir,
		redisUrl: redis.url,
		databaseUrl: pg.url,
		simulatorUrl: sim.url,
		env: { ...FAST_POLLING, MAX_CONCURRENT_JOBS: '2', RATE_LIMIT_WORKFLOWS_PER_MIN: '4' }
	});
	[webA, webB, ...workers] = await Promise.all([fleet.start('web'), fleet.start('web'), fleet.start('worker'), fleet.start('worker')]);
}, 180_000);

afterAll(async () => {
	await fleet?.kill();
	await sim?.close();
	await Promise.all([redis?.release(), pg?.drop(), data?.cleanup(), ...temps.map((t) => t.cleanup())]);
});

describe('roles', () => {
	it('a worker serves /healthz and /metrics and nothing else', async () => {
		const worker = workers[0]!;
		expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
		expect((await fetch(`${worker.url}/metrics`)).status).toBe(200);
		for (const path of ['/api/status', '/api/workflows/blocks', '/', '/jobs']) {
			expect((await fetch(`${worker.url}${path}`)).status, path).toBe(404);
		}
		for (const path of ['/live/x', '/yjs/x']) {
			const socket = new WebSocket(`${worker.url.replace('http', 'ws')}${path}`);
			const status = await new Promise<number>((resolve, reject) => {
				socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
				socket.once('open', () => reject(new Error(`a worker accepted a socket on ${path}`)));
				socket.once('error', () => undefined);
			});
			socket.terminate();
			expect(status, path).toBe(404);
		}
	});

	it('a web process runs no job: the run posted to it starts in a worker', async () => {
		const api = runsClient(webA.url);
		const id = await api.run(workflow('small.csv', 'Small one'));
		const done = await api.waitFor(id, (job) => job.status === 'completed');
		expect(done.row_count).toBe(20);
		expect([webA, webB].flatMap((w) => jobLines(w, id, 'job started'))).toEqual([]);
		expect(workers.flatMap((w) => jobLines(w, id, 'job started'))).toHaveLength(1);
	});
});

describe('many jobs on two workers', () => {
	it('every job runs once, in one worker, whichever web process took it', async () => {
		const ids = await Promise.all(
			Array.from({ length: 6 }, (_, i) => runsClient((i % 2 ? webA : webB).url).run(workflow('small.csv', `Many ${i}`)))
		);
		for (const id of ids) expect((await runsClient(webB.url).waitFor(id, (job) => job.status === 'completed')).row_count).toBe(20);
		for (const id of ids) expect(workers.map((w) => jobLines(w, id, 'job started').length).sort()).toEqual([0, 1]);
	});
});

describe('a worker killed mid-job', () => {
	let resumedCsv = '';

	it('SIGKILL → the other worker takes the job over from its checkpoint; nothing answered is paid again', async () => {
		const api = runsClient(webA.url);
		const baseline = sim.stats();
		const id = await api.run(workflow('kill.csv', 'Kill test'), { concurrency: CONCURRENCY });
		const before = await api.waitFor(id, (job) => rowsOut(job, 'enrich') >= ROWS / 3);
		expect(before.status).toBe('running');
		const runner = workers.find((w) => jobLines(w, id, 'job started').length > 0)!;
		const other = workers.find((w) => w !== runner)!;
		const atKill = sim.stats();
		runner.child.kill('SIGKILL');
		expect((await runner.exited).signal).toBe('SIGKILL');
		expect(atKill.paid_answers - baseline.paid_answers).toBeLessThan(2 * ROWS - IN_FLIGHT_BOUND);

		const done = await runsClient(webB.url).waitFor(id, (job) => job.status === 'completed', 180_000);
		expect(jobLines(other, id, 'taking over a job whose worker stopped')).toHaveLength(1);
		expect(done.row_count).toBe(ROWS);
		expect(done.results.map((r) => r.rows_out)).toEqual([ROWS, ROWS, ROWS, ROWS]);
		resumedCsv = await api.download(id);

		const after = sim.stats();
		const duplicates = after.duplicates_paid - baseline.duplicates_paid;
		expect(duplicates).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
		// Every row paid once per API block, plus at most the calls in flight at the kill.
		expect(after.paid_answers - baseline.paid_answers).toBe(2 * ROWS + duplicates);

		// The fleet is whole again for the tests below.
		workers = [other, await fleet.start('worker')];
	}, 300_000);

	it('the CSV equals an uninterrupted run', async () => {
		expect(resumedCsv.split('\n').length).toBe(ROWS + 2);
		const temp = await makeTempDir('leadflow-fleet-ref-');
		temps.push(temp);
		await writeLeadsCsv(join(temp.dir, 'uploads', 'kill.csv'), ROWS, 0);
		const server = await startTestServer(testServerEnv(temp.dir, sim.url, FAST_POLLING));
		try {
			const api = runsClient(server.url);
			const id = await api.run(workflow('kill.csv', 'Kill test'), { concurrency: CONCURRENCY });
			await api.waitFor(id, (job) => job.status === 'completed');
			expect(await api.download(id)).toBe(resumedCsv);
		} finally {
			await server.close();
		}
	}, 180_000);
});

describe('Redis connections lost mid-run', () => {
	it('every process reconnects and the job finishes, every row enriched', async () => {
		const api = runsClient(webB.url);
		const id = await api.run(workflow('redis.csv', 'Redis test'), { concurrency: CONCURRENCY });
		await api.waitFor(id, (job) => rowsOut(job, 'enrich') >= ROWS / 4);
		// CLIENT KILL of every connection of this suite's db: what a restart does to the clients.
		expect(await killRedisClients(redis.url, redis.db)).toBeGreaterThanOrEqual(4);
		const done = await api.waitFor(id, (job) => job.status === 'completed', 180_000);
		expect(done.row_count).toBe(ROWS);
		expect(done.results.map((r) => r.errors)).toEqual([0, 0, 0, 0]);
		expect(workers.flatMap((w) => jobLines(w, id, 'job started'))).toHaveLength(1);
		// New runs are taken after the reconnect too.
		const next = await runsClient(webA.url).run(workflow('small.csv', 'After Redis'));
		expect((await api.waitFor(next, (job) => job.status === 'completed')).row_count).toBe(20);
	}, 300_000);
});

describe('cancel and retry from the other web process', () => {
	it('a job started through web A is cancelled through web B, promptly; retried through B, cancelled through A', async () => {
		const a = runsClient(webA.url);
		const b = runsClient(webB.url);
		const id = await a.run(workflow('cancel.csv', 'Cancel test'), { concurrency: 4 });
		await a.waitFor(id, (job) => job.status === 'running' && rowsOut(job, 'enrich') > 0);
		const res = await b.post(`/jobs/${id}/cancel`);
		expect(res.status).toBe(200);
		expect(((await res.json()) as JobProgress).status).toBe('cancelled');
		expect((await a.job(id)).status).toBe('cancelled');

		const retried = await b.post(`/jobs/${id}/retry`);
		expect(retried.status).toBe(200);
		const retryId = ((await retried.json()) as { job_id: string }).job_id;
		expect(retryId).not.toBe(id);
		await b.waitFor(retryId, (job) => job.status === 'running');
		const cancelled = await a.post(`/jobs/${retryId}/cancel`);
		expect(((await cancelled.json()) as JobProgress).status).toBe('cancelled');
	}, 180_000);

	it('cancelling an unknown job answers 404 on either web process', async () => {
		for (const web of [webA, webB]) {
			expect((await runsClient(web.url).post('/jobs/00000000-0000-4000-8000-000000000000/cancel')).status).toBe(404);
		}
	});
});

describe('per-client limits across web processes', () => {
	it('4 workflow creations a minute in all: the fifth is refused by whichever process gets it', async () => {
		const create = (web: ServerProcess) =>
			fetch(`${web.url}/api/workflows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		const statuses = [];
		for (const web of [webA, webB, webA, webB]) statuses.push((await create(web)).status);
		expect(statuses).toEqual([201, 201, 201, 201]);
		for (const web of [webA, webB]) {
			const refused = await create(web);
			expect(refused.status).toBe(429);
			expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
			expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
		}
	});
});
