/**
 * Turns the job manager's event stream into row counters. Progress events carry cumulative figures
 * per block (`rows_out`, `errors`), so the tally remembers the last figure of each (job, block) and
 * adds only the difference: a counter that moves while a run goes, not just when it ends.
 */
import type { Counter } from 'prom-client';
import type { JobEvent } from '../jobs/job-manager';
import type { BlockProgress } from '../engine/types';

export interface RunEventCounters {
	/** Rows out of the last block of a job: the rows a run delivered. */
	rowsProcessed: Counter;
	/** Rows out of each block, by block type. */
	blockRows: Counter<'block_type'>;
	/** Rows that failed in a block (their `_error` was set), by block type. */
	blockErrors: Counter<'block_type'>;
	/** Jobs that reached a final state, by state. */
	jobsFinished: Counter<'status'>;
}

interface Seen {
	rowsOut: number;
	errors: number;
}

interface TrackedJob {
	lastBlockId: string | null;
	blocks: Map<string, Seen>;
}

/**
 * A listener for `jobs.subscribe` that updates `counters`.
 * @example const stop = jobs.subscribe(createRunEventTally(counters))
 */
export function createRunEventTally(counters: RunEventCounters): (event: JobEvent) => void {
	const jobs = new Map<string, TrackedJob>();

	function track(jobId: string): TrackedJob {
		let job = jobs.get(jobId);
		if (!job) {
			job = { lastBlockId: null, blocks: new Map() };
			jobs.set(jobId, job);
		}
		return job;
	}

	function count(job: TrackedJob, block: BlockProgress): void {
		const seen = job.blocks.get(block.block_id) ?? { rowsOut: 0, errors: 0 };
		const rows = Math.max(0, block.rows_out - seen.rowsOut);
		const errors = Math.max(0, block.errors - seen.errors);
		if (rows > 0) {
			counters.blockRows.inc({ block_type: block.block_type }, rows);
			if (block.block_id === job.lastBlockId) counters.rowsProcessed.inc(rows);
		}
		if (errors > 0) counters.blockErrors.inc({ block_type: block.block_type }, errors);
		job.blocks.set(block.block_id, { rowsOut: Math.max(seen.rowsOut, block.rows_out), errors: Math.max(seen.errors, block.errors) });
	}

	return (event) => {
		switch (event.type) {
			case 'job_started':
				track(event.job_id).lastBlockId = event.blocks.at(-1)?.block_id ?? null;
				break;
			case 'block_started':
			case 'block_progress':
			case 'block_finished':
				count(track(event.job_id), event.block);
				break;
			case 'job_paused':
				// A resumed run starts over (job_started): its rows are counted again, as after a restart.
				for (const block of event.blocks) count(track(event.job_id), block);
				jobs.delete(event.job_id);
				break;
			case 'job_finished': {
				const job = track(event.job_id);
				for (const block of event.blocks) count(job, block);
				jobs.delete(event.job_id);
				counters.jobsFinished.inc({ status: event.status });
				break;
			}
		}
	};
}
