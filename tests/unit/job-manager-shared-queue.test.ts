/**
 * The job manager over a queue shared by processes (scale-out, issue 11), with two managers on one
 * store standing for two workers and a fake shared queue that hands jobs out as told: a job handed
 * to both at once runs in one; a job left `running` by a dead worker is taken over by exactly one;
 * a worker that lost a job records nothing for it; a cancel asked of another process reaches the
 * run; a queue that cannot take a job (Redis down) fails the submit and leaves no job pending; a
 * job handed to a worker that is shutting down goes back in the line. On every backend of
 * tests/helpers/backends.ts (SQLite; PostgreSQL too in the scale project).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RUNNERS } from '../../server/blocks';
import * as v from 'valibot';
import { createJobManager, type JobManager } from '../../server/jobs/job-manager';
import type { JobQueue, QueueHooks } from '../../server/jobs/queue';
import { createLogger } from '../../server/log';
import type { JobStore } from '../../server/store/job-store';
import { createJobStore } from '../../server/store/sqlite-job-store';
import { testBackends } from '../helpers/backends';
import type { RunJobOptions, RunJobResult } from '../../server/engine/types';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { noEnrichment } from '../helpers/test-app';

const workflow = v.parse(WorkflowSchema, {
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{ id: 'save', type: 'save_csv', params: {} }
	]
});

/** A queue "in Redis": remembers what was added; the test decides who runs what, and when. */
function fakeSharedQueue(bus: { cancels: string[]; failEnqueue?: boolean }) {
	const hooks: QueueHooks[] = [];
	const added: string[] = [];
	const create = (h: QueueHooks): JobQueue => {
		hooks.push(h);
		return {
			shared: true,
			async enqueue(jobId) {
				if (bus.failEnqueue) throw Object.assign(new Error('Redis is down'), { status: 503 });
				added.push(jobId);
			},
			remove: async () => false,
			running: () => [],
			waiting: () => [],
			close: async () => undefined,
			async requestCancel(jobId) {
				bus.cancels.push(jobId);
				for (const other of hooks) other.cancel(jobId);
			},
			cancelRequested: async (jobId) => bus.cancels.includes(jobId),
			announceSettled: (jobId) => hooks.forEach((other) => other.settled(jobId))
		};
	};
	return { create, hooks, added };
}

/** A run that ends when told (completed) or when aborted (cancelled); counts its starts. */
function controlledRun() {
	const starts: string[] = [];
	let release: () => void = () => {};
	const finished = new Promise<void>((r) => (release = r));
	const run = async ({ jobId, signal }: RunJobOptions): Promise<RunJobResult> => {
		starts.push(jobId);
		const aborted = new Promise<'aborted'>((resolve) => {
			if (signal?.aborted) resolve('aborted');
			signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
		});
		const outcome = await Promise.race([aborted, finished.then(() => 'done' as const)]);
		const status = outcome === 'aborted' ? 'cancelled' : 'completed';
		return { status, error: status === 'cancelled' ? 'Cancelled' : null, outputPath: null, blocks: [], columns: [], rowsOut: 0 };
	};
	return { run, starts, release: () => release() };
}

describe.each(testBackends())('two job managers sharing a queue, on $name', (backend) => {
	const managers: JobManager[] = [];

	/**
	 * `options.barrier`: the managers' next `count` reads of a job all return before any of them goes
	 * on (so two workers both see the same state, whatever the backend's timing).
	 */
	async function setup(options: { failEnqueue?: boolean } = {}) {
		const store = createJobStore(await backend.open());
		const barrier = { count: 0, arrived: 0, open: () => {} };
		const gated: JobStore = {
			...store,
			async get(id) {
				const job = await store.get(id);
				if (barrier.count > 0) {
					const wait = new Promise<void>((resolve) => {
						const previous = barrier.open;
						barrier.open = () => {
							previous();
							resolve();
						};
					});
					if (++barrier.arrived === barrier.count) {
						barrier.count = 0;
						barrier.open();
					}
					await wait;
				}
				return job;
			}
		};
		const bus = { cancels: [] as string[], failEnqueue: options.failEnqueue };
		const queue = fakeSharedQueue(bus);
		const run = controlledRun();
		const make = () => {
			const m = createJobManager({
				runners: RUNNERS,
				store: gated,
				dataDir: '/nonexistent',
				enrichment: noEnrichment,
				logger: createLogger({ level: 'silent' }),
				maxConcurrentJobs: 2,
				runJob: run.run,
				createQueue: queue.create,
				settledPollMs: 20
			});
			managers.push(m);
			return m;
		};
		const [one, two] = [make(), make()];
		return {
			store,
			bus,
			queue,
			run,
			one,
			two,
			workerOf: (i: number) => queue.hooks[i]!,
			/** The managers' next `count` job reads wait for each other. */
			barrier: (count: number) => Object.assign(barrier, { count, arrived: 0, open: () => {} })
		};
	}

	afterEach(async () => {
		for (const m of managers.splice(0)) await m.shutdown();
	});
	afterAll(() => backend.cleanup());

	describe('job manager on a shared queue', () => {
		it('a job handed to two workers at once runs in one', async () => {
			const { one, run, workerOf, store, barrier } = await setup();
			const job = await one.submit({ workflow });
			// Both read it pending (on PostgreSQL one could otherwise read the other's claim: a takeover
			// of a live run, which only BullMQ's lock prevents).
			barrier(2);
			const both = Promise.all([workerOf(0).worker(job.id), workerOf(1).worker(job.id)]);
			await expect.poll(() => run.starts.length).toBe(1);
			run.release();
			await both;
			expect(run.starts).toEqual([job.id]);
			expect((await store.get(job.id))?.status).toBe('completed');
		});

		it('a job left running by a dead worker is taken over by exactly one of two', async () => {
			const { one, run, workerOf, store, barrier } = await setup();
			const job = await one.submit({ workflow });
			// The dead worker's claim: running, started at some time; then it vanished.
			expect(await store.transition(job.id, ['pending'], { status: 'running', startedAt: 1_000 })).toBe(true);
			// Both see the dead worker's claim (on PostgreSQL one could otherwise read the other's new claim).
			barrier(2);
			const both = Promise.all([workerOf(0).worker(job.id), workerOf(1).worker(job.id)]);
			await expect.poll(() => run.starts.length).toBe(1);
			run.release();
			await both;
			expect(run.starts).toEqual([job.id]);
			const done = await store.get(job.id);
			expect(done?.status).toBe('completed');
			expect(done?.startedAt).toBeGreaterThan(1_000);
		});

		it('a worker that lost its job records nothing: the one that took it over does', async () => {
			const { one, run, workerOf, store } = await setup();
			const job = await one.submit({ workflow });
			const first = workerOf(0).worker(job.id);
			await expect.poll(() => run.starts.length).toBe(1);
			const claimedAt = (await store.get(job.id))!.startedAt!;
			// Another worker claimed it meanwhile (its lock expired here): a new fencing token.
			expect(
				await store.transition(job.id, ['running'], { status: 'running', startedAt: claimedAt + 5 }, { startedAt: claimedAt })
			).toBe(true);
			workerOf(0).lost(job.id);
			await first;
			const after = await store.get(job.id);
			expect(after).toMatchObject({ status: 'running', startedAt: claimedAt + 5, finishedAt: null });
			// And a stale run's final write is refused by the fence even without being told.
			expect(await store.transition(job.id, ['running'], { status: 'completed' }, { startedAt: claimedAt })).toBe(false);
		});

		it('a job handed to the same worker again while it runs there waits, then is not run twice; a cancel still reaches it', async () => {
			const { one, run, workerOf, store } = await setup();
			const job = await one.submit({ workflow });
			const first = workerOf(0).worker(job.id);
			await expect.poll(() => run.starts.length).toBe(1);
			// The queue judged the lock stalled and handed the job to this same process again.
			const second = workerOf(0).worker(job.id);
			await new Promise((resolve) => setTimeout(resolve, 50));
			expect(run.starts).toHaveLength(1);
			// The first run's controller is intact: the cancel stops it (no hang waiting for a run nobody can abort).
			expect((await one.cancel(job.id))?.status).toBe('cancelled');
			await Promise.all([first, second]);
			expect(run.starts).toEqual([job.id]);
			expect((await store.get(job.id))?.status).toBe('cancelled');
		});

		it('a cancel on one process reaches the run in the other, and returns its final record', async () => {
			const { one, two, run, workerOf } = await setup();
			const job = await one.submit({ workflow });
			void workerOf(1).worker(job.id); // runs in "process two"
			await expect.poll(() => run.starts.length).toBe(1);
			const cancelled = await one.cancel(job.id); // asked of "process one", which does not run it
			expect(cancelled?.status).toBe('cancelled');
			expect((await two.settled(job.id))?.status).toBe('cancelled');
		});

		it('a cancel asked before the job was claimed stops it as soon as a worker claims it', async () => {
			const { one, run, workerOf, bus, store } = await setup();
			const job = await one.submit({ workflow });
			bus.cancels.push(job.id); // asked while no one ran it (it was claimed in between)
			await workerOf(1).worker(job.id);
			expect(run.starts).toEqual([job.id]);
			expect((await store.get(job.id))?.status).toBe('cancelled');
		});

		it('a submit the queue cannot take fails (503) and leaves the job failed, not pending for ever', async () => {
			const { one, store } = await setup({ failEnqueue: true });
			const failure = await one.submit({ workflow }).catch((err: unknown) => err);
			expect((failure as { status?: number }).status).toBe(503);
			const { jobs } = await store.list({ offset: 0, limit: 10 });
			expect(jobs.map((j) => [j.status, j.error])).toEqual([['failed', 'Could not be queued: the job queue is unavailable']]);
		});

		it('a shutdown mid-run checkpoints the job for another worker (back to pending, requeued)', async () => {
			const { one, two, run, workerOf, store } = await setup();
			const job = await one.submit({ workflow });
			const outcome = workerOf(1).worker(job.id);
			await expect.poll(() => run.starts.length).toBe(1);
			await two.shutdown();
			expect(await outcome).toBe('requeue');
			expect((await store.get(job.id))?.status).toBe('pending');
		});

		it('a job handed to a worker that is shutting down goes back in the line, untouched (not dropped as done)', async () => {
			const { one, two, run, workerOf, store } = await setup();
			const job = await one.submit({ workflow });
			await two.shutdown();
			expect(await workerOf(1).worker(job.id)).toBe('requeue');
			expect(run.starts).toEqual([]);
			expect((await store.get(job.id))?.status).toBe('pending');
		});
	});
});
