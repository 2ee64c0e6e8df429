/**
 * What watchers of a workflow know about its jobs, and the one function that moves that knowledge
 * forward. The hub keeps one `LiveJobs` per workflow and the browser keeps another; both apply the
 * same `snapshot` + deltas with the same rules, so a late joiner ends in the state of those who
 * watched from the start.
 */
import type { LiveBlockProgress, LiveEvent, LiveJob } from './protocol';

/** Finished jobs kept (running and pending ones are always kept). */
export const RECENT_JOBS = 20;
/** Row errors kept and sent per job; the block counters still count every error. */
export const ROW_ERRORS_KEPT = 100;

const FINAL = new Set(['completed', 'failed', 'cancelled']);

/** True for a job or block state that never changes again. */
export const isFinal = (status: string) => FINAL.has(status);

/** A block that has not started yet. */
export function pendingBlock(ref: Pick<LiveBlockProgress, 'block_id' | 'block_type'>): LiveBlockProgress {
	return {
		block_id: ref.block_id,
		block_type: ref.block_type,
		status: 'pending',
		rows_in: 0,
		rows_out: 0,
		// Unknown until the server reports (null is also what an older server's frames read as).
		answered: null,
		in_flight: null,
		errors: 0,
		skipped: 0,
		calls: 0,
		requests: null,
		cached: 0,
		cost_cents: 0,
		waiting: 0,
		total: null,
		rate_limit_per_min: null,
		rows_per_s: 0,
		eta_s: null,
		duration_ms: 0,
		preview: [],
		columns: []
	};
}

function newJob(job_id: string, status: LiveJob['status'], created_at: number | null): LiveJob {
	return {
		job_id,
		status,
		created_at,
		started_at: null,
		finished_at: null,
		error: null,
		output_path: null,
		retry_of: null,
		started_by: null,
		blocks: [],
		row_errors: []
	};
}

/**
 * The recent and running jobs of one workflow, oldest first.
 * @example const jobs = new LiveJobs(snapshot.jobs); if (jobs.apply(event)) forward(event)
 */
export class LiveJobs {
	#jobs = new Map<string, LiveJob>();

	constructor(jobs: readonly LiveJob[] = []) {
		this.reset(jobs);
	}

	/** Replaces everything with a snapshot (oldest job first). */
	reset(jobs: readonly LiveJob[]): void {
		this.#jobs.clear();
		for (const job of jobs) this.#jobs.set(job.job_id, job);
		this.#trim();
	}

	list(): LiveJob[] {
		return [...this.#jobs.values()];
	}

	get(jobId: string): LiveJob | undefined {
		return this.#jobs.get(jobId);
	}

	/** True while some job is pending or running (a paused one waits for a person, not for events). */
	hasUnfinished(): boolean {
		for (const job of this.#jobs.values()) if (job.status === 'pending' || job.status === 'running') return true;
		return false;
	}

	/**
	 * Applies one delta. False when it changes nothing a watcher should see (a duplicate, an event
	 * for a job already finished, a row error past the cap): the hub does not forward those.
	 */
	apply(event: LiveEvent): boolean {
		if (event.type === 'job_created') {
			if (this.#jobs.has(event.job_id)) return false;
			const job = newJob(event.job_id, 'pending', event.at);
			job.retry_of = event.retry_of;
			job.started_by = event.started_by ?? null;
			this.#jobs.set(job.job_id, job);
			this.#trim();
			return true;
		}
		const job = this.#jobs.get(event.job_id) ?? this.#adopt(event.job_id);
		if (isFinal(job.status)) return false;
		switch (event.type) {
			case 'job_started':
				// Also a resumed run: it starts over, so its counters and errors do too.
				job.status = 'running';
				job.started_at = event.at;
				job.blocks = event.blocks.map(pendingBlock);
				job.row_errors = [];
				return true;
			case 'block_started':
			case 'block_progress':
			case 'block_finished': {
				job.status = 'running';
				const i = job.blocks.findIndex((b) => b.block_id === event.block.block_id);
				const known = job.blocks[i];
				if (known === undefined) job.blocks.push(event.block);
				else if (event.type !== 'block_finished' && isFinal(known.status)) return false;
				else job.blocks[i] = event.block;
				return true;
			}
			case 'row_cells':
				// The grid's cells are not part of the job summary: watchers get them as they are (coalesced).
				return event.cells.length > 0;
			case 'row_error':
				if (job.row_errors.length >= ROW_ERRORS_KEPT) return false;
				job.row_errors.push({ block_id: event.block_id, row: event.row, message: event.message });
				return true;
			case 'job_paused':
				job.status = 'paused';
				job.error = event.message;
				job.blocks = event.blocks;
				return true;
			case 'job_resumed':
				if (job.status !== 'paused') return false;
				job.status = 'pending';
				job.error = null;
				return true;
			case 'job_finished':
				job.status = event.status;
				job.finished_at = event.at;
				job.error = event.error;
				job.output_path = event.output_path;
				// A job cancelled before it started reports no blocks: keep what we had, settled.
				job.blocks = event.blocks.length
					? event.blocks
					: job.blocks.map((b) => (isFinal(b.status) ? b : { ...b, status: event.status }));
				this.#trim();
				return true;
		}
	}

	/** A job we hear about mid-run (the hub started after it): known from its events on. */
	#adopt(jobId: string): LiveJob {
		const job = newJob(jobId, 'running', null);
		this.#jobs.set(jobId, job);
		return job;
	}

	/** Keeps every unfinished job and the newest `RECENT_JOBS` finished ones. */
	#trim(): void {
		let finished = 0;
		for (const job of this.#jobs.values()) if (isFinal(job.status)) finished++;
		for (const [id, job] of this.#jobs) {
			if (finished <= RECENT_JOBS) break;
			if (isFinal(job.status)) {
				this.#jobs.delete(id);
				finished--;
			}
		}
	}
}
