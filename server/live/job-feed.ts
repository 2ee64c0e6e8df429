/**
 * Connects the job manager to the hub: every job event goes to the room of the job's workflow.
 * Only `job_created` names the workflow, so the feed remembers it per job; for a job it never saw
 * created (resumed after a restart) it asks `workflowOf` once and holds that job's events, in
 * order, until the answer comes. Jobs without a workflow (posted as JSON) are not broadcast.
 * It forgets a job when it finishes or pauses (a resumed one is asked about again), and never
 * remembers more than `MAX_REMEMBERED_JOBS`: a job whose worker vanished mid-run, in scale-out,
 * never finishes here, and must not stay for the life of the process.
 */
import type { LiveEvent } from '../../src/lib/workflow/protocol';
import type { LiveHub } from './live-hub';

/** Jobs whose workflow the feed keeps at once (the oldest is forgotten first: asked again if it speaks). */
export const MAX_REMEMBERED_JOBS = 10_000;

export interface JobFeedOptions {
	/** The job manager's `subscribe`. */
	subscribe: (listener: (event: LiveEvent) => void) => () => void;
	hub: Pick<LiveHub, 'publish'>;
	/** The workflow of a job (the job store), for jobs first heard of mid-run. */
	workflowOf: (jobId: string) => Promise<string | null>;
	/** Turns a stored output path into the one clients see (never the server's layout). */
	publicPath?: (path: string | null) => string | null;
	onError?: (err: unknown) => void;
}

/**
 * Starts forwarding; returns the function that stops it.
 * @example const stop = forwardJobEvents({ subscribe: jobs.subscribe, hub, workflowOf: async (id) => (await store.get(id))?.workflowId ?? null })
 */
export function forwardJobEvents(options: JobFeedOptions): () => void {
	const { hub } = options;
	const publicPath = options.publicPath ?? ((p: string | null) => p);
	const workflowOfJob = new Map<string, string | null>();
	const held = new Map<string, LiveEvent[]>();

	const send = (workflowId: string | null, event: LiveEvent) => {
		if (workflowId === null) return;
		hub.publish(workflowId, event.type === 'job_finished' ? { ...event, output_path: publicPath(event.output_path) } : event);
	};
	const forget = (event: LiveEvent) => {
		if (event.type === 'job_finished' || event.type === 'job_paused') workflowOfJob.delete(event.job_id);
	};
	const remember = (jobId: string, workflowId: string | null) => {
		workflowOfJob.set(jobId, workflowId);
		if (workflowOfJob.size > MAX_REMEMBERED_JOBS) workflowOfJob.delete(workflowOfJob.keys().next().value!);
	};

	return options.subscribe((event) => {
		const jobId = event.job_id;
		if (event.type === 'job_created') {
			remember(jobId, event.workflow_id);
			return send(event.workflow_id, event);
		}
		if (workflowOfJob.has(jobId)) {
			send(workflowOfJob.get(jobId)!, event);
			return forget(event);
		}
		const queue = held.get(jobId);
		if (queue) return void queue.push(event);
		held.set(jobId, [event]);
		options.workflowOf(jobId).then(
			(workflowId) => release(jobId, workflowId),
			(err: unknown) => {
				options.onError?.(err);
				release(jobId, null);
			}
		);
	});

	function release(jobId: string, workflowId: string | null) {
		const queue = held.get(jobId) ?? [];
		held.delete(jobId);
		remember(jobId, workflowId);
		for (const event of queue) {
			send(workflowId, event);
			forget(event);
		}
	}
}
