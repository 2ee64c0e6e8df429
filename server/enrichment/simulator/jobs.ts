/**
 * Async jobs (`POST /*-async` + `GET /job-status/{id}`). A job's answer and fate are fixed when it
 * is submitted; it reads `running` until its simulated latency has elapsed, then its end state.
 * Jobs settle lazily (on a poll or a stats read), so the simulator holds no timer per job.
 */
import { randomUUID } from 'node:crypto';
import type { JobEnd } from './stats';

export type TaskType = 'lead_enrichment' | 'company_enrichment' | 'find_email' | 'find_email_bulk' | 'find_phone';

/** One paid answer inside a job: its normalised request key and price. */
export interface Charge {
	key: string;
	cents: number;
}

export interface AsyncJob {
	id: string;
	runId: string;
	/** Jobs are visible only to the key that submitted them (others get 404). */
	apiKey: string;
	taskType: TaskType;
	result: unknown;
	charges: Charge[];
	end: JobEnd;
	startedAt: number;
	readyAt: number;
	settled: boolean;
}

export interface SubmitJob {
	apiKey: string;
	taskType: TaskType;
	result: unknown;
	charges: Charge[];
	end: JobEnd;
	durationMs: number;
	now: number;
	/** Ended jobs older than this are forgotten (swept every 1,000 submits). */
	ttlMs: number;
}

const END_ERRORS: Record<Exclude<JobEnd, 'completed'>, string> = {
	failed: 'Research agent failed: upstream data provider error',
	timed_out: 'Job exceeded its time limit'
};

export class AsyncJobStore {
	readonly #jobs = new Map<string, AsyncJob>();
	readonly #onSettle: (job: AsyncJob) => void;
	#running = 0;
	#sinceSweep = 0;

	/** `onSettle` runs once per job, when its end state is first observed. */
	constructor(onSettle: (job: AsyncJob) => void) {
		this.#onSettle = onSettle;
	}

	submit(input: SubmitJob): AsyncJob {
		if (++this.#sinceSweep >= 1_000) this.sweep(input.now, input.ttlMs);
		const job: AsyncJob = {
			id: randomUUID(),
			runId: randomUUID(),
			apiKey: input.apiKey,
			taskType: input.taskType,
			result: input.result,
			charges: input.charges,
			end: input.end,
			startedAt: input.now,
			readyAt: input.now + input.durationMs,
			settled: false
		};
		this.#jobs.set(job.id, job);
		this.#running++;
		return job;
	}

	/** The job-status body for `id` as `apiKey` sees it at `now`, or null (unknown / not theirs). */
	statusBody(id: string, apiKey: string, now: number): Record<string, unknown> | null {
		const job = this.#jobs.get(id);
		if (!job || job.apiKey !== apiKey) return null;
		this.#settle(job, now);
		const base = { id: job.id, run_id: job.runId, start_time: iso(job.startedAt), task_type: job.taskType };
		if (!job.settled) return { status: 'running', ...base };
		const closed = { ...base, close_time: iso(job.readyAt) };
		if (job.end === 'completed') {
			const charge = job.charges.reduce((sum, c) => sum + c.cents, 0);
			return { status: 'completed', ...closed, result: job.result, charge_amount: charge };
		}
		return { status: job.end, ...closed, error: END_ERRORS[job.end] };
	}

	/** The completion POST of an ended job (`{task_id, status, task_type, result | error, charge_amount}`), null while it runs. */
	webhookBody(id: string, now: number): Record<string, unknown> | null {
		const job = this.#jobs.get(id);
		if (!job) return null;
		const status = this.statusBody(id, job.apiKey, now);
		if (!status || status.status === 'running') return null;
		const { id: taskId, run_id: _run, start_time: _start, close_time: _close, ...rest } = status;
		return { task_id: taskId, ...rest };
	}

	/** Settle every job whose time has come, and forget jobs that ended more than `ttlMs` ago. */
	sweep(now: number, ttlMs: number): void {
		this.#sinceSweep = 0;
		for (const [id, job] of this.#jobs) {
			this.#settle(job, now);
			if (job.settled && job.readyAt + ttlMs <= now) this.#jobs.delete(id);
		}
	}

	/** Jobs not yet settled (as of the last poll or sweep). */
	get running(): number {
		return this.#running;
	}

	#settle(job: AsyncJob, now: number): void {
		if (job.settled || job.readyAt > now) return;
		job.settled = true;
		this.#running--;
		this.#onSettle(job);
	}
}

function iso(ms: number): string {
	return new Date(ms).toISOString();
}
