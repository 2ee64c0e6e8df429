/**
 * Job events across processes (scale-out, issue 11). Wherever a job runs (a web process today, a
 * queue worker later), its manager's events go on the bus channel `live:<workflowId>` as JSON;
 * every web process's live hub with watchers of that workflow subscribes to it (live-hub.ts) and
 * coalesces for its own clients as in one process. Events of one job come from the one process
 * running it, on one connection, so they arrive in order.
 */
import type { LiveEvent } from '../../src/lib/workflow/protocol';
import type { MessageBus } from '../scale/bus';
import { forwardJobEvents, type JobFeedOptions } from './job-feed';

/** The channel of a workflow's job events. */
export const liveChannel = (workflowId: string): string => `live:${workflowId}`;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeLiveEvent(event: LiveEvent): Uint8Array {
	return encoder.encode(JSON.stringify(event));
}

/** The event in `bytes` (published by `relayJobEvents`), or null if it is not one. */
export function decodeLiveEvent(bytes: Uint8Array): LiveEvent | null {
	try {
		const event = JSON.parse(decoder.decode(bytes)) as unknown;
		if (typeof event !== 'object' || event === null) return null;
		const { type, job_id } = event as { type?: unknown; job_id?: unknown };
		return typeof type === 'string' && typeof job_id === 'string' ? (event as LiveEvent) : null;
	} catch {
		return null;
	}
}

/**
 * Publishes every job event of this process's job manager on the bus; returns the function that
 * stops. Call it where the job manager is created, whatever the process's role.
 * @example const stop = relayJobEvents({ bus, subscribe: jobs.subscribe, workflowOf: async (id) => (await store.get(id))?.workflowId ?? null })
 */
export function relayJobEvents(options: Omit<JobFeedOptions, 'hub'> & { bus: MessageBus }): () => void {
	const { bus } = options;
	return forwardJobEvents({
		...options,
		hub: { publish: (workflowId, event) => bus.publish(liveChannel(workflowId), encodeLiveEvent(event)) }
	});
}
