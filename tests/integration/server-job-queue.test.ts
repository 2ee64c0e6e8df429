/**
 * The job queue and manager without HTTP: never more jobs at once than the queue allows, first
 * come first served, and jobs left unfinished by a crash resumed at start.
 */
import { RUNNERS } from '../../server/blocks';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as v from 'valibot';
import { createInProcessQueue } from '../../server/jobs/queue';
import { createJobManager, type JobEvent } from '../../server/jobs/job-manager';
import { createLogger } from '../../server/log';
import { openDatabase } from '../../server/store/db';
import { createSqliteJobStore } from '../../server/store/sqlite-job-store';
import { runJob } from '../../server/engine/run-job';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { noEnrichment } from '../helpers/test-app';
import { makeTempDir } from '../helpers/temp-dir';
import { writeLeadsCsv } from '../helpers/leads-csv';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('createInProcessQueue', () => {
	it.each([
		[1, 5],
		[2, 7],
		[3, 3],
		[4, 12]
	])('concurrency %i over %i jobs: never more running, all run, in order of arrival', async (concurrency, jobs) => {
		let running = 0;
		let peak = 0;
		const started: string[] = [];
		const queue = createInProcessQueue({
			concurrency,
			worker: async (id) => {
				started.push(id);
				peak = Math.max(peak, ++running);
				for (let i = 0; i < 3; i++) await tick();
				running--;
			}
		});
		const ids = Array.from({ length: jobs }, (_, i) => `job-${i}`);
		ids.forEach((id) => queue.enqueue(id));
		expect(queue.running().length).toBe(Math.min(concurrency, jobs));
		expect(queue.waiting()).toEqual(ids.slice(concurrency));
		await expect.poll(() => started.length).toBe(jobs);
		await queue.close();
		expect(peak).toBe(Math.min(concurrency, jobs));
		expect(started).toEqual(ids);
	});

	it('ignores a duplicate id, removes a waiting one, and stops starting work once closed', async () => {
		const started: string[] = [];
		let release!: () => void;
		const gate = new Promise<void>((r) => (release = r));
		const queue = createInProcessQueue({
			concurrency: 1,
			worker: async (id) => {
				started.push(id);
				await gate;
			}
		});
		queue.enqueue('a');
		queue.enqueue('a');
		queue.enqueue('b');
		queue.enqueue('c');
		expect(queue.waiting()).toEqual(['b', 'c']);
		expect(queue.remove('b')).toBe(true);
		expect(queue.remove('a')).toBe(false); // already running
		const closed = queue.close();
		release();
		await closed;
		queue.enqueue('d');
		expect(started).toEqual(['a']);
	});

	it('refuses a concurrency below 1', () => {
		expect(() => createInProcessQueue({ concurrency: 0, worker: async () => {} })).toThrow(RangeError);
	});
});

describe('createJobManager', () => {
	it('resumes jobs a crash left running or pending, oldest first, from the start', async () => {
		const temp = await makeTempDir();
		await writeLeadsCsv(join(temp.dir, 'uploads', 'leads.csv'), 500);
		const db = openDatabase(join(temp.dir, 'app.db'));
		const store = createSqliteJobStore(db);
		const workflow = v.parse(WorkflowSchema, {
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
				{ id: 'save', type: 'save_csv', params: {} }
			]
		});
		// What a killed process leaves behind: one job mid-run with half its rows stored, one waiting.
		await store.create({ id: 'crashed-running', workflow, options: {}, createdAt: 1 });
		await store.update('crashed-running', { status: 'running', startedAt: 2, currentBlock: 'save' });
		await store.appendRows('crashed-running', 0, [{ partial: 'row' }]);
		await store.create({ id: 'crashed-pending', workflow, options: {}, createdAt: 3 });
		await store.create({ id: 'finished', workflow, options: {}, createdAt: 0 });
		await store.update('finished', { status: 'completed', finishedAt: 1 });

		const events: JobEvent[] = [];
		const manager = createJobManager({
			runners: RUNNERS,
			store,
			dataDir: temp.dir,
			enrichment: noEnrichment,
			logger: createLogger({ level: 'silent' }),
			maxConcurrentJobs: 1,
			runJob
		});
		manager.subscribe((e) => events.push(e));
		try {
			expect(await manager.resumeUnfinished()).toEqual(['crashed-running', 'crashed-pending']);
			for (const id of ['crashed-running', 'crashed-pending']) {
				const job = await manager.settled(id);
				expect(job).toMatchObject({ status: 'completed', rowCount: 500, error: null });
				const rows = await store.readRows(id, 0, 2);
				expect(rows[0]).not.toHaveProperty('partial'); // the partial attempt was forgotten
			}
			const finishedOrder = events.filter((e) => e.type === 'job_finished').map((e) => e.job_id);
			expect(finishedOrder).toEqual(['crashed-running', 'crashed-pending']);
			expect((await store.get('finished'))!.status).toBe('completed');
		} finally {
			await manager.shutdown();
			db.close();
			await temp.cleanup();
		}
	});
});
