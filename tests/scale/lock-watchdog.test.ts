/**
 * A worker cut off from Redis stops its jobs before their locks can lapse (review finding: BullMQ
 * reports only an 'error' when it cannot reach Redis to renew a lock, so a worker kept running a
 * job that another worker had taken over — both paying for the same rows). Here a worker reaches
 * Redis through a TCP proxy that is then shut: after half a lock it stops the run (recording
 * nothing), and another worker resumes the job and finishes it. Real BullMQ, Redis, PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { RUNNERS } from '../../server/blocks';
import type { RunJobOptions, RunJobResult } from '../../server/engine/types';
import { createJobManager, type JobManager } from '../../server/jobs/job-manager';
import { createLogger } from '../../server/log';
import { startScaleOut, type ProcessRole, type ScaleOut } from '../../server/scale/scale-out';
import { createJobStore } from '../../server/store/sqlite-job-store';
import { openPostgresStore, type Store } from '../../server/store/store';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { startRoundRobinProxy, type RoundRobinProxy } from '../helpers/round-robin-proxy';
import { freshPostgres, freshRedis, type TestPostgres, type TestRedis } from '../helpers/scale-services';
import { noEnrichment } from '../helpers/test-app';

const workflow = v.parse(WorkflowSchema, {
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{ id: 'save', type: 'save_csv', params: {} }
	]
});
const logger = createLogger({ level: 'silent' });
const LOCK_MS = 2_000;

let redis: TestRedis;
let database: TestPostgres;
let store: Store;
let proxy: RoundRobinProxy;
const scales: ScaleOut[] = [];
const managers: JobManager[] = [];

beforeAll(async () => {
	[redis, database] = await Promise.all([freshRedis(), freshPostgres()]);
	store = await openPostgresStore(database.url, { max: 4 });
	const direct = new URL(redis.url);
	proxy = await startRoundRobinProxy([`http://${direct.hostname}:${direct.port || 6379}`]);
});
afterAll(async () => {
	for (const m of managers.splice(0)) await m.shutdown().catch(() => {});
	for (const s of scales.splice(0)) await s.close().catch(() => {});
	await proxy?.close().catch(() => {});
	await store?.close();
	await Promise.all([redis?.release(), database?.drop()]);
});

async function manager(role: ProcessRole, redisUrl: string, run: (o: RunJobOptions) => Promise<RunJobResult>): Promise<JobManager> {
	const scale = await startScaleOut({
		redisUrl,
		role,
		maxConcurrentJobs: 1,
		rateLimits: { workflowsPerMinute: 100, uploadsPerMinute: 100, runsPerMinute: 100 },
		trustProxy: false,
		logger,
		lockDurationMs: LOCK_MS
	});
	scales.push(scale);
	const m = createJobManager({
		runners: RUNNERS,
		store: createJobStore(store),
		dataDir: '/nonexistent',
		enrichment: noEnrichment,
		logger,
		maxConcurrentJobs: 1,
		runJob: run,
		createQueue: scale.createQueue,
		settledPollMs: 50
	});
	managers.push(m);
	return m;
}

describe('a worker cut off from Redis', () => {
	it('stops its job within half a lock; another worker resumes it and finishes it', async () => {
		const events: string[] = [];
		// The cut-off worker's run: it goes on until it is stopped.
		const cutOffRun = async ({ jobId, signal }: RunJobOptions): Promise<RunJobResult> => {
			events.push(`start cut-off ${jobId}`);
			await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
			events.push(`stopped cut-off ${jobId}`);
			return { status: 'cancelled', error: 'Cancelled', outputPath: null, blocks: [], columns: [], rowsOut: 0 };
		};
		const healthyRun = async ({ jobId }: RunJobOptions): Promise<RunJobResult> => {
			events.push(`start healthy ${jobId}`);
			return { status: 'completed', error: null, outputPath: null, blocks: [], columns: [], rowsOut: 0 };
		};
		const proxied = new URL(redis.url);
		proxied.port = new URL(proxy.url).port;
		const web = await manager('web', redis.url, healthyRun);
		await manager('worker', proxied.toString(), cutOffRun);
		const job = await web.submit({ workflow });
		await expect.poll(() => events, { timeout: 10_000 }).toContain(`start cut-off ${job.id}`);

		await proxy.close(); // Redis is gone for that worker, and stays gone
		await expect.poll(() => events, { timeout: 10_000 }).toContain(`stopped cut-off ${job.id}`);
		// It recorded nothing: the job is still the running one it was (for the next worker to take over).
		expect((await createJobStore(store).get(job.id))?.status).toBe('running');

		// A worker that reaches Redis takes it over once the lock has lapsed, and finishes it.
		await manager('worker', redis.url, healthyRun);
		await expect.poll(async () => (await createJobStore(store).get(job.id))?.status, { timeout: 30_000 }).toBe('completed');
		expect(events.filter((e) => e.startsWith('start'))).toEqual([`start cut-off ${job.id}`, `start healthy ${job.id}`]);
	}, 60_000);
});
