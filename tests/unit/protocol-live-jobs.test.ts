import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LiveJobs, pendingBlock, RECENT_JOBS, ROW_ERRORS_KEPT } from '../../src/lib/workflow/live-jobs';
import type { LiveBlockProgress, LiveEvent } from '../../src/lib/workflow/protocol';

const BLOCKS = [
	{ block_id: 'read', block_type: 'read_csv' },
	{ block_id: 'enrich', block_type: 'enrich_lead' }
] as const;

const progress = (id: string, status: LiveBlockProgress['status'], rows: number): LiveBlockProgress => ({
	...pendingBlock(BLOCKS.find((b) => b.block_id === id)!),
	status,
	rows_in: rows,
	rows_out: rows
});

/** The events of one realistic run: created, started, blocks with progress and errors, finished. */
function runEvents(jobId: string, rows: number, errorsAt: number[], at = 0): LiveEvent[] {
	const events: LiveEvent[] = [
		{ type: 'job_created', job_id: jobId, at, workflow_id: 'w', retry_of: null },
		{ type: 'job_started', job_id: jobId, at, blocks: [...BLOCKS] }
	];
	for (const b of BLOCKS) {
		events.push({ type: 'block_started', job_id: jobId, at, block: progress(b.block_id, 'running', 0) });
		for (let r = 1; r <= rows; r++) {
			events.push({ type: 'block_progress', job_id: jobId, at, block: progress(b.block_id, 'running', r) });
			if (b.block_id === 'enrich' && errorsAt.includes(r)) {
				events.push({ type: 'row_error', job_id: jobId, at, block_id: 'enrich', row: r, message: `row ${r} failed` });
			}
		}
		events.push({ type: 'block_finished', job_id: jobId, at, block: progress(b.block_id, 'completed', rows) });
	}
	events.push({
		type: 'job_finished',
		job_id: jobId,
		at,
		status: 'completed',
		error: null,
		output_path: 'outputs/x.csv',
		blocks: BLOCKS.map((b) => progress(b.block_id, 'completed', rows))
	});
	return events;
}

/** Interleaves several runs the way concurrent jobs interleave, keeping each run's own order. */
function interleave(runs: LiveEvent[][], picks: number[]): LiveEvent[] {
	const queues = runs.map((r) => [...r]);
	const out: LiveEvent[] = [];
	let p = 0;
	while (queues.some((q) => q.length)) {
		const live = queues.filter((q) => q.length);
		out.push(live[(picks[p++ % picks.length] ?? 0) % live.length].shift()!);
	}
	return out;
}

const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe('LiveJobs: a late joiner ends where the first watcher ends', () => {
	it('for any join point and any progress the hub coalesced away', () => {
		fc.assert(
			fc.property(
				fc.array(
					fc.record({ rows: fc.integer({ min: 0, max: 6 }), errors: fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 3 }) }),
					{
						minLength: 1,
						maxLength: 4
					}
				),
				fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
				fc.double({ min: 0, max: 1, noNaN: true }),
				fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }),
				(runs, picks, joinAt, keep) => {
					const events = interleave(
						runs.map((r, i) => runEvents(`job-${i}`, r.rows, r.errors)),
						picks
					);
					const k = Math.floor(joinAt * events.length);
					const first = new LiveJobs();
					let late: LiveJobs | null = k === 0 ? new LiveJobs() : null;
					let dropped = 0;
					events.forEach((event, i) => {
						const forward = first.apply(event);
						if (late && forward) {
							// Coalescing: some intermediate progress never reaches the late joiner.
							if (event.type === 'block_progress' && !keep[dropped++ % keep.length]) return;
							late.apply(wire(event));
						}
						if (i === k - 1) late = new LiveJobs(wire(first.list()));
					});
					expect(wire(late!.list())).toEqual(wire(first.list()));
				}
			),
			{ numRuns: 200 }
		);
	});
});

describe('LiveJobs rules', () => {
	it('keeps every running job and only the newest finished ones', () => {
		const jobs = new LiveJobs();
		jobs.apply({ type: 'job_created', job_id: 'long', at: 0, workflow_id: 'w', retry_of: null });
		for (let i = 0; i < RECENT_JOBS + 5; i++) for (const e of runEvents(`j${i}`, 1, [], i + 1)) jobs.apply(e);
		const ids = jobs.list().map((j) => j.job_id);
		expect(ids).toHaveLength(RECENT_JOBS + 1);
		expect(ids[0]).toBe('long');
		expect(ids.slice(1)).toEqual(Array.from({ length: RECENT_JOBS }, (_, i) => `j${i + 5}`));
		expect(jobs.hasUnfinished()).toBe(true);
	});

	it(`forwards the first ${ROW_ERRORS_KEPT} row errors of a job and no more`, () => {
		const jobs = new LiveJobs();
		let forwarded = 0;
		for (let row = 0; row < ROW_ERRORS_KEPT + 50; row++) {
			if (jobs.apply({ type: 'row_error', job_id: 'j', at: 0, block_id: 'enrich', row, message: 'x' })) forwarded++;
		}
		expect(forwarded).toBe(ROW_ERRORS_KEPT);
		expect(jobs.get('j')!.row_errors.at(-1)!.row).toBe(ROW_ERRORS_KEPT - 1);
	});

	it.each<[string, LiveEvent]>([
		['a duplicate job_created', { type: 'job_created', job_id: 'j', at: 9, workflow_id: 'w', retry_of: null }],
		['progress after the end', { type: 'block_progress', job_id: 'j', at: 9, block: progress('read', 'running', 1) }],
		['a row error after the end', { type: 'row_error', job_id: 'j', at: 9, block_id: 'read', row: 1, message: 'x' }],
		['a second job_finished', { type: 'job_finished', job_id: 'j', at: 9, status: 'failed', error: 'x', output_path: null, blocks: [] }]
	])('ignores %s', (_label, event) => {
		const jobs = new LiveJobs();
		for (const e of runEvents('j', 2, [])) jobs.apply(e);
		const before = wire(jobs.list());
		expect(jobs.apply(event)).toBe(false);
		expect(wire(jobs.list())).toEqual(before);
	});

	it('ignores progress that arrives after its block finished', () => {
		const jobs = new LiveJobs();
		const events = runEvents('j', 2, []);
		for (const e of events.slice(0, 6)) jobs.apply(e); // …through block_finished of `read`
		expect(jobs.get('j')!.blocks[0].status).toBe('completed');
		expect(jobs.apply({ type: 'block_progress', job_id: 'j', at: 1, block: progress('read', 'running', 1) })).toBe(false);
	});

	it('settles the blocks of a job cancelled before it started', () => {
		const jobs = new LiveJobs();
		jobs.apply({ type: 'job_created', job_id: 'j', at: 1, workflow_id: 'w', retry_of: 'old' });
		jobs.apply({ type: 'job_started', job_id: 'j', at: 2, blocks: [...BLOCKS] });
		jobs.apply({ type: 'job_finished', job_id: 'j', at: 3, status: 'cancelled', error: 'Cancelled', output_path: null, blocks: [] });
		const job = jobs.get('j')!;
		expect(job).toMatchObject({ status: 'cancelled', retry_of: 'old', created_at: 1, started_at: 2, finished_at: 3 });
		expect(job.blocks.map((b) => b.status)).toEqual(['cancelled', 'cancelled']);
	});

	it('starts a resumed run over: fresh counters and errors', () => {
		const jobs = new LiveJobs();
		const events = runEvents('j', 3, [2]);
		for (const e of events.slice(0, -3)) jobs.apply(e); // crash before the end
		expect(jobs.get('j')!.row_errors).toHaveLength(1);
		jobs.apply({ type: 'job_started', job_id: 'j', at: 50, blocks: [...BLOCKS] });
		const job = jobs.get('j')!;
		expect(job.row_errors).toEqual([]);
		expect(job.blocks.map((b) => [b.status, b.rows_in])).toEqual([
			['pending', 0],
			['pending', 0]
		]);
	});

	it('adopts a job first heard of mid-run', () => {
		const jobs = new LiveJobs();
		expect(jobs.apply({ type: 'block_progress', job_id: 'x', at: 1, block: progress('enrich', 'running', 4) })).toBe(true);
		expect(jobs.get('x')).toMatchObject({ status: 'running', created_at: null, blocks: [{ rows_in: 4 }] });
	});
});

describe('LiveJobs: a run paused at the spend limit', () => {
	it('is paused with its message and blocks (kept, but no longer waited on), then pending again on resume and running on its restart', () => {
		const jobs = new LiveJobs();
		const events = runEvents('j', 3, []);
		const upToProgress = events.slice(
			0,
			events.findIndex((e) => e.type === 'block_finished')
		);
		for (const e of upToProgress) jobs.apply(e);
		expect(
			jobs.apply({
				type: 'job_paused',
				job_id: 'j',
				at: 1,
				message: 'Paused at the spend limit.',
				blocks: [progress('read', 'paused', 3), progress('enrich', 'paused', 1)]
			})
		).toBe(true);
		expect(jobs.get('j')).toMatchObject({
			status: 'paused',
			error: 'Paused at the spend limit.',
			blocks: [{ status: 'paused' }, { status: 'paused', rows_out: 1 }]
		});
		expect(jobs.hasUnfinished()).toBe(false);
		expect(jobs.apply({ type: 'job_resumed', job_id: 'j', at: 2 })).toBe(true);
		expect(jobs.apply({ type: 'job_resumed', job_id: 'j', at: 2 })).toBe(false); // not paused any more
		expect(jobs.get('j')).toMatchObject({ status: 'pending', error: null });
		expect(jobs.hasUnfinished()).toBe(true);
		jobs.apply({ type: 'job_started', job_id: 'j', at: 3, blocks: [...BLOCKS] });
		expect(jobs.get('j')).toMatchObject({ status: 'running', blocks: [{ status: 'pending' }, { status: 'pending' }] });
	});
});
