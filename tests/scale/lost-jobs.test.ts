/**
 * The lost-job sweep (issue 11): a job stored `pending` but never put on BullMQ — the web process
 * died between the store insert and the enqueue — is queued again by a worker's sweep and runs
 * once. A sweep never adds a job BullMQ already holds (waiting or running), sweeps in several
 * processes at once on one lost job still run it once (BullMQ's job id is ours), and a job younger
 * than the grace (a submit in progress) is left alone. Real BullMQ on Redis, PostgreSQL store, two
 * job managers in this process standing for a web process and a worker.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { RUNNERS } from '../../server/blocks';
import type { RunJobOptions, RunJobResult } from '../../server/engine/types';
import { createJobManager, type JobManager } from '../../server/jobs/job-manager';
import { createLogger } from '../../server/log';
import { startScaleOut, type ProcessRole, type ScaleOut } from '../../server/scale/scale-out';
import type { JobStore } from '../../server/store/job-store';
import { createJobStore } from '../../server/store/sqlite-job-store';
import { openPostgresStore, type Store } from '../../server/store/store';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { freshPostgres, freshRedis, type TestPostgres, type TestRedis } from '../helpers/scale-services';
import { noEnrichment } from '../helpers/test-app';

const workflow = v.parse(WorkflowSchema, {
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{ id: 'save', type: 'save_csv', params: {} }
	]
});
const logger = createLogger({ level: 'silent' });

let redis: TestRedis;
let database: TestPostgres;
let store: Store;
let jobStore: JobStore;
const scales: ScaleOut[] = [];
const managers: JobManager[] = [];

beforeAll(async () => {
	[redis, database] = await Promise.all([freshRedis(), freshPostgres()]);
	store = await openPostgresStore(database.url, { max: 4 });
	jobStore = createJobStore(store);
});
afterEach(async () => {
	for (const m of managers.splice(0)) await m.shutdown();
	for (const s of scales.splice(0)) await s.close();
});
afterAll(async () => {
	await store?.close();
	await Promise.all([redis?.release(), database?.drop()]);
});

/** Runs that end when released (all at once); records every start. */
function heldRuns() {
	const starts: string[] = [];
	let release: () => void = () => {};
	const released = new Promise<void>((r) => (release = r));
	const run = async ({ jobId }: RunJobOptions): Promise<RunJobResult> => {
		starts.push(jobId);
		await released;
		return { status: 'completed', error: null, outputPath: null, blocks: [], columns: [], rowsOut: 0 };
	};
	return { run, starts, release: () => release() };
}

async function manager(role: ProcessRole, run: ReturnType<typeof heldRuns>['run'], sweepIntervalMs?: number): Promise<JobManager> {
	const scale = await startScaleOut({
		redisUrl: redis.url,
		role,
		maxConcurrentJobs: 2,
		rateLimits: { workflowsPerMinute: 100, uploadsPerMinute: 100, runsPerMinute: 100 },
		trustProxy: false,
		logger
	});
	scales.push(scale);
	const m = createJobManager({
		runners: RUNNERS,
		store: jobStore,
		dataDir: '/nonexistent',
		enrichment: noEnrichment,
		logger,
		maxConcurrentJobs: 2,
		runJob: run,
		createQueue: scale.createQueue,
		settledPollMs: 50,
		sweepIntervalMs
	});
	managers.push(m);
	return m;
}

/** What a web process that died right after its store insert leaves: a pending job nobody queued. */
const storeOnly = (ageMs = 60_000) => jobStore.create({ id: randomUUID(), workflow, options: {}, createdAt: Date.now() - ageMs });

describe('the lost-job sweep', () => {
	it('a worker sweeping periodically runs a job that was stored but never queued, once', async () => {
		const runs = heldRuns();
		runs.release();
		const lost = await storeOnly();
		const worker = await manager('worker', runs.run, 100);
		expect((await worker.settled(lost.id))?.status).toBe('completed');
		expect(runs.starts).toEqual([lost.id]);
	});

	it('never adds a job BullMQ holds: a running job is not run again, a waiting one not twice', async () => {
		const runs = heldRuns();
		const web = await manager('web', runs.run);
		const worker = await manager('worker', runs.run);
		const running = await web.submit({ workflow });
		await expect.poll(() => runs.starts).toEqual([running.id]);
		const ids = (await Promise.all([web.requeueLost(0), worker.requeueLost(0), web.requeueLost(0)])).flat();
		expect(ids).toEqual([]);
		expect((await jobStore.get(running.id))?.status).toBe('running');
		runs.release();
		expect((await web.settled(running.id))?.status).toBe('completed');
		expect(runs.starts).toEqual([running.id]);
	});

	it('sweeps in several processes at once on one lost job: it runs once', async () => {
		const runs = heldRuns();
		const webA = await manager('web', runs.run);
		const webB = await manager('web', runs.run);
		const lost = await storeOnly();
		const swept = await Promise.all([webA.requeueLost(), webB.requeueLost(), webA.requeueLost()]);
		// Each may have seen it missing; BullMQ took it once (its id is the job's).
		expect(swept.flat().length).toBeGreaterThanOrEqual(1);
		for (const ids of swept) expect(ids.every((id) => id === lost.id)).toBe(true);
		const worker = await manager('worker', runs.run);
		await expect.poll(() => runs.starts).toEqual([lost.id]);
		expect(await worker.requeueLost(0)).toEqual([]); // running now: held by BullMQ
		runs.release();
		expect((await worker.settled(lost.id))?.status).toBe('completed');
		expect(runs.starts).toEqual([lost.id]);
	});

	it('leaves a job younger than the grace alone (its submit may be between its two steps)', async () => {
		const runs = heldRuns();
		runs.release();
		const web = await manager('web', runs.run);
		const young = await storeOnly(0);
		expect(await web.requeueLost()).toEqual([]);
		expect(await web.requeueLost(0)).toEqual([young.id]);
		expect(await web.requeueLost(0)).toEqual([]); // now queued
		const worker = await manager('worker', runs.run);
		expect((await worker.settled(young.id))?.status).toBe('completed');
	});

	it('refuses a grace that is not a duration', async () => {
		const runs = heldRuns();
		const web = await manager('web', runs.run);
		for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) await expect(web.requeueLost(bad)).rejects.toThrow(RangeError);
	});
});
