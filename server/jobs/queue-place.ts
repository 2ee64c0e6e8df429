/**
 * Where a waiting job stands in the queue, for the run panel: how many runs are ahead of it (and
 * how many of them are its own workflow's), how many run now, and roughly when it starts. Other
 * workflows' runs are only counted, never named.
 *
 * The wait is rough by design: a slot frees when a running job finishes, and a running job's
 * finish is guessed from its current block's ETA (the server's smoothed one); later blocks and
 * jobs queued ahead beyond the free slots make it unknowable, so it is null then rather than
 * made up.
 */
import type { JobQueuePlace } from '../routes/responses';

export interface QueueSnapshot {
	running: readonly string[];
	waiting: readonly string[];
}

export interface QueuePlaceOptions {
	jobId: string;
	/** The job's workflow (null for a posted workflow): runs of the same one are "yours". */
	workflowId: string | null;
	queue: QueueSnapshot;
	/** The workflow of another job (null: none, or unknown). */
	workflowOf: (jobId: string) => Promise<string | null>;
	/** Seconds until a running job finishes, as far as is known (null: unknown). */
	remainingOf: (jobId: string) => Promise<number | null>;
}

/** Most jobs looked at to tell whose they are: a longer line is only counted. */
const MAX_LOOKED_AT = 100;

/**
 * The place of `jobId` in the queue; `waiting: false` when it is not in the line (running, or
 * finished, or held by another process's queue).
 * @example await queuePlace({ jobId, workflowId, queue: jobs.queueState(), workflowOf, remainingOf })
 */
export async function queuePlace(options: QueuePlaceOptions): Promise<JobQueuePlace> {
	const { queue, jobId, workflowId } = options;
	const index = queue.waiting.indexOf(jobId);
	const ahead = index === -1 ? [] : queue.waiting.slice(0, index);
	const mine = async (ids: readonly string[]) => {
		if (workflowId === null) return 0;
		const owners = await Promise.all(ids.slice(0, MAX_LOOKED_AT).map((id) => options.workflowOf(id)));
		return owners.filter((w) => w === workflowId).length;
	};
	const [aheadHere, runningHere] = await Promise.all([mine(ahead), mine(queue.running)]);
	let waitS: number | null = null;
	if (index !== -1 && ahead.length < queue.running.length) {
		const remaining = await Promise.all(queue.running.map((id) => options.remainingOf(id)));
		// The slot this job gets is the (ahead+1)-th to free; unknown when any running job's end is.
		if (remaining.every((r): r is number => r !== null)) waitS = Math.round(remaining.sort((a, b) => a - b)[ahead.length]!);
	}
	return {
		waiting: index !== -1,
		ahead: ahead.length,
		ahead_here: aheadHere,
		running: queue.running.length,
		running_here: runningHere,
		wait_s: waitS
	};
}
