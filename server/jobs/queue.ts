/**
 * The job queue: where job ids wait until a worker slot is free. An interface, so a Redis-backed
 * queue (BullMQ, separate worker processes) can replace the in-process one without touching the
 * job manager; the in-process queue runs at most `concurrency` jobs at once, first come first served.
 */

/** Runs one job to its end; the queue never inspects what a job is. */
export type JobWorker = (jobId: string) => Promise<void>;

export interface JobQueue {
	/** Adds a job; it starts when a slot is free. Adding an id already queued or running is a no-op. */
	enqueue(jobId: string): void;
	/** Takes a waiting job out of the line; false if it already started (or was never queued). */
	remove(jobId: string): boolean;
	/** Jobs running now. */
	running(): string[];
	/** Jobs waiting, in order. */
	waiting(): string[];
	/** Stops starting new jobs (shutdown); running ones are the caller's to stop. Resolves when idle. */
	close(): Promise<void>;
}

export interface InProcessQueueOptions {
	concurrency: number;
	worker: JobWorker;
	/** Called when a worker throws (it should not: the job manager records failures itself). */
	onWorkerError?: (jobId: string, error: unknown) => void;
}

/**
 * A FIFO queue in this process with a fixed number of slots.
 * @example const queue = createInProcessQueue({ concurrency: 2, worker: (id) => manager.execute(id) })
 */
export function createInProcessQueue(options: InProcessQueueOptions): JobQueue {
	if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
		throw new RangeError('Queue concurrency must be a whole number ≥ 1');
	}
	const line: string[] = [];
	const active = new Map<string, Promise<void>>();
	let closed = false;

	function pump() {
		while (!closed && active.size < options.concurrency && line.length > 0) {
			const id = line.shift()!;
			const done = Promise.resolve()
				.then(() => options.worker(id))
				.catch((err) => options.onWorkerError?.(id, err))
				.finally(() => {
					active.delete(id);
					pump();
				});
			active.set(id, done);
		}
	}

	return {
		enqueue(jobId) {
			if (closed || active.has(jobId) || line.includes(jobId)) return;
			line.push(jobId);
			pump();
		},
		remove(jobId) {
			const i = line.indexOf(jobId);
			if (i === -1) return false;
			line.splice(i, 1);
			return true;
		},
		running: () => [...active.keys()],
		waiting: () => [...line],
		async close() {
			closed = true;
			line.length = 0;
			await Promise.allSettled([...active.values()]);
		}
	};
}
