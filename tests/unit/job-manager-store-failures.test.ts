/**
 * The job manager when its store fails under it: a failed row write fails the job (never a
 * "completed" job missing rows), a failing final write never leaves a cancel or a waiter hanging,
 * and a shutdown aborts a job that was still starting instead of waiting for its whole run. On
 * every backend of tests/helpers/backends.ts (SQLite; PostgreSQL too in the scale project).
 */
import { RUNNERS } from '../../server/blocks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as v from 'valibot';
import { createJobManager, type JobManager } from '../../server/jobs/job-manager';
import { createLogger } from '../../server/log';
import type { JobStore } from '../../server/store/job-store';
import { createJobStore } from '../../server/store/sqlite-job-store';
import type { Store } from '../../server/store/store';
import { testBackends } from '../helpers/backends';
import { runJob } from '../../server/engine/run-job';
import { DEFAULT_BATCH_SIZE, type RunJobOptions, type RunJobResult } from '../../server/engine/types';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { noEnrichment } from '../helpers/test-app';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import { writeLeadsCsv } from '../helpers/leads-csv';

const workflow = v.parse(WorkflowSchema, {
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{ id: 'save', type: 'save_csv', params: {} }
	]
});

/** Rejects after `ms` so a hang fails the test instead of timing it out. */
function within<T>(promise: Promise<T>, ms = 2000): Promise<T> {
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))
	]);
}

/** The store with hooks that make a call fail or wait on demand. */
interface Hooks {
	appendRows?: (firstIndex: number) => Error | void;
	transition?: (patch: Parameters<JobStore['transition']>[2]) => Promise<void> | Error | void;
	appendEvent?: (event: Parameters<JobStore['appendEvent']>[1]) => Error | void;
	/** Awaited once by the next `get`, after it read the row (a slow store). */
	nextGetDelay?: Promise<void>;
}

function hookedStore(db: Store, hooks: Hooks): JobStore {
	const base = createJobStore(db);
	return {
		...base,
		async get(id) {
			const job = await base.get(id);
			const delay = hooks.nextGetDelay;
			hooks.nextGetDelay = undefined;
			if (delay) await delay;
			return job;
		},
		async appendRows(jobId, firstIndex, rows) {
			const err = hooks.appendRows?.(firstIndex);
			if (err) throw err;
			return base.appendRows(jobId, firstIndex, rows);
		},
		async transition(id, from, patch, expect) {
			const hook = hooks.transition?.(patch);
			const outcome = hook instanceof Promise ? await hook : hook;
			if (outcome instanceof Error) throw outcome;
			return base.transition(id, from, patch, expect);
		},
		async appendEvent(jobId, event) {
			const err = hooks.appendEvent?.(event);
			if (err) throw err;
			return base.appendEvent(jobId, event);
		}
	};
}

/** A run that waits for its abort (returning `cancelled`) or for `finish` (returning `completed`). */
function waitingRun(finish: Promise<void> = new Promise(() => {})) {
	const seen: { signal?: AbortSignal } = {};
	const run = async ({ signal }: RunJobOptions): Promise<RunJobResult> => {
		seen.signal = signal;
		const aborted = new Promise<'aborted'>((resolve) => {
			if (signal?.aborted) resolve('aborted');
			signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
		});
		const outcome = await Promise.race([aborted, finish.then(() => 'finished' as const)]);
		const status = outcome === 'aborted' ? 'cancelled' : 'completed';
		return { status, error: status === 'cancelled' ? 'Cancelled' : null, outputPath: null, blocks: [], columns: [], rowsOut: 0 };
	};
	return { run, seen };
}

describe.each(testBackends())('the job manager over a failing store on $name', (backend) => {
	let temp: TempDir;
	let db: Store;
	let manager: JobManager | null = null;

	async function setup(hooks: Hooks, run: (o: RunJobOptions) => Promise<RunJobResult>) {
		temp = await makeTempDir();
		await writeLeadsCsv(join(temp.dir, 'uploads', 'leads.csv'), 600);
		db = await backend.open();
		const store = hookedStore(db, hooks);
		manager = createJobManager({
			runners: RUNNERS,
			store,
			dataDir: temp.dir,
			enrichment: noEnrichment,
			logger: createLogger({ level: 'silent' }),
			maxConcurrentJobs: 1,
			runJob: run,
			progressIntervalMs: 10
		});
		return { store, manager, base: createJobStore(db) };
	}

	afterEach(async () => {
		await manager?.shutdown();
		manager = null;
		await temp?.cleanup();
	});
	afterAll(() => backend.cleanup());

	describe('job manager: a failed row write', () => {
		it('aborts the run and ends the job failed, counting only the rows stored', async () => {
			let signal: AbortSignal | undefined;
			const { manager, store } = await setup(
				{ appendRows: (first) => (first > 0 ? new Error('SQLITE_FULL: database or disk is full') : undefined) },
				(o) => {
					signal = o.signal;
					return runJob(o);
				}
			);
			const job = await manager.submit({ workflow });
			const settled = await within(manager.settled(job.id));
			expect(settled).toMatchObject({
				status: 'failed',
				error: 'could not store results: SQLITE_FULL: database or disk is full',
				rowCount: DEFAULT_BATCH_SIZE // the first batch of 600 rows was stored, the second was not
			});
			expect(signal?.aborted).toBe(true);
			expect(await store.readRows(job.id, 0, 1000)).toHaveLength(DEFAULT_BATCH_SIZE);
			const finished = (await store.listEvents(job.id)).map((e) => e.event).find((e) => e.type === 'job_finished');
			expect(finished).toMatchObject({ status: 'failed', error: 'could not store results: SQLITE_FULL: database or disk is full' });
		});

		it('fails the job even when the failing write lands after the run returned', async () => {
			const { manager } = await setup({ appendRows: () => new Error('database is locked') }, async (o) => {
				void o.onRows?.([{ a: '1' }]); // not awaited: the write fails after the run is over
				return { status: 'completed', error: null, outputPath: null, blocks: [], columns: ['a'], rowsOut: 1 };
			});
			const job = await manager.submit({ workflow });
			expect(await within(manager.settled(job.id))).toMatchObject({
				status: 'failed',
				error: 'could not store results: database is locked',
				rowCount: 0
			});
		});
	});

	describe('job manager: a failing final write', () => {
		it('a cancel returns (no hang) when the final transition rejects, and the job ends failed', async () => {
			let failed = false;
			const { run } = waitingRun();
			const { manager, base } = await setup(
				{
					transition: (patch) => {
						if (patch.status === 'cancelled' && !failed) {
							failed = true;
							return new Error('SQLITE_IOERR');
						}
					}
				},
				run
			);
			const job = await manager.submit({ workflow });
			await expect.poll(async () => (await base.get(job.id))!.status).toBe('running');
			const cancelled = await within(manager.cancel(job.id));
			expect(cancelled).toMatchObject({ status: 'failed', error: 'Job failed: SQLITE_IOERR' });
			expect(failed).toBe(true);
		});

		it('a cancel returns (no hang) when storing the job_finished event rejects', async () => {
			const { run } = waitingRun();
			const { manager, base } = await setup(
				{ appendEvent: (event) => (event.type === 'job_finished' ? new Error('SQLITE_IOERR') : undefined) },
				run
			);
			const job = await manager.submit({ workflow });
			await expect.poll(async () => (await base.get(job.id))!.status).toBe('running');
			const cancelled = await within(manager.cancel(job.id));
			expect(cancelled?.status).toBe('cancelled');
		});

		it('settled() hears a job that settles while its first store read is still in flight', async () => {
			let finish!: () => void;
			const { run } = waitingRun(new Promise((r) => (finish = r)));
			const hooks: Hooks = {};
			const { manager, base } = await setup(hooks, run);
			const job = await manager.submit({ workflow });
			await expect.poll(async () => (await base.get(job.id))!.status).toBe('running');
			let releaseGet!: () => void;
			hooks.nextGetDelay = new Promise((r) => (releaseGet = r));
			const settled = manager.settled(job.id); // reads `running`, answer delayed
			finish();
			await expect.poll(async () => (await base.get(job.id))!.status).toBe('completed');
			await new Promise((r) => setTimeout(r, 20)); // the manager has woken its waiters by now
			releaseGet();
			expect(await within(settled)).toMatchObject({ status: 'completed' });
		});
	});

	describe('job manager: shutdown', () => {
		it('aborts a job that was still starting instead of waiting for its whole run', async () => {
			let releaseStart!: () => void;
			const startGate = new Promise<void>((r) => (releaseStart = r));
			let starting = false;
			const { run, seen } = waitingRun();
			const { manager, base } = await setup(
				{
					transition: (patch) => {
						if (patch.status !== 'running') return;
						starting = true;
						return startGate;
					}
				},
				run
			);
			const job = await manager.submit({ workflow });
			await expect.poll(() => starting).toBe(true);
			const stopped = manager.shutdown();
			releaseStart();
			await within(stopped);
			expect(seen.signal?.aborted ?? true).toBe(true);
			expect((await base.get(job.id))!.status).toBe('pending'); // left to resume on the next start
		});
	});

	describe('job manager: a cancel racing the start', () => {
		it('cancels a job that started between the cancel reading it pending and trying to cancel it', async () => {
			let openGate!: () => void;
			let gateHit!: () => void;
			const hit = new Promise<void>((resolve) => (gateHit = resolve));
			const gate = new Promise<void>((resolve) => (openGate = resolve));
			const hooks: Hooks = {
				transition: (patch) => {
					if (patch.status !== 'running') return;
					gateHit();
					return gate;
				}
			};
			const { run, seen } = waitingRun();
			const { manager } = await setup(hooks, run);
			const job = await manager.submit({ workflow });
			await within(hit); // the job is starting: still `pending` in the store
			let releaseRead!: () => void;
			hooks.nextGetDelay = new Promise<void>((resolve) => (releaseRead = resolve));
			const cancelling = manager.cancel(job.id); // reads `pending`, then waits
			await new Promise((r) => setTimeout(r, 20));
			openGate(); // the job becomes `running` and its run starts
			while (!seen.signal) await new Promise((r) => setTimeout(r, 5));
			releaseRead(); // the cancel now finds it can no longer cancel a pending job
			expect(await within(cancelling)).toMatchObject({ status: 'cancelled' });
			expect(seen.signal.aborted).toBe(true);
		});
	});
});
