/**
 * The job queue: where job ids wait until a worker slot is free. An interface, so a Redis-backed
 * queue (BullMQ, separate worker processes) can replace the in-process one without touching the
 * job manager; the in-process queue runs at most `concurrency` jobs at once.
 *
 * Fair, not first come first served: every job belongs to a key (the shared workflow it runs, or
 * the address of the client that posted it), and a free slot goes to the waiting key served least
 * recently — a key never served before goes first. So one client's pile of runs takes one slot turn
 * in each round, and another workflow's run waits for at most one slot to free up.
 */

/**
 * Runs one job to its end; the queue never inspects what a job is. `'requeue'`: the job was
 * checkpointed (shutdown) and must wait in the line again — a shared queue gives it to another
 * worker; the in-process one leaves it for the next start.
 */
export type JobWorker = (jobId: string) => Promise<void | 'requeue'>;

/** What a queue may tell the job manager: run a job, and — for a queue shared by processes — what others asked. */
export interface QueueHooks {
	worker: JobWorker;
	/** Another process asked to cancel `jobId` (it may be running here). */
	cancel(jobId: string): void;
	/** `jobId` settled in another process: wake whoever waits for it here. */
	settled(jobId: string): void;
	/** This process no longer holds `jobId` (its lock expired): stop running it without recording anything. */
	lost(jobId: string): void;
}

/** The key of jobs enqueued without one: they share one line, first come first served. */
export const DEFAULT_QUEUE_KEY = '';

export interface JobQueue {
	/**
	 * Adds a job under `key` (whose turn it waits for); it starts when a slot is free and its key's
	 * turn has come. Adding an id already queued or running is a no-op.
	 */
	enqueue(jobId: string, key?: string): void | Promise<void>;
	/** Takes a waiting job out of the line; false if it already started (or was never queued). */
	remove(jobId: string): boolean | Promise<boolean>;
	/** Jobs running now. */
	running(): string[];
	/** Jobs waiting, in the order they would start if nothing else arrived. */
	waiting(): string[];
	/** Stops starting new jobs (shutdown); running ones are the caller's to stop. Resolves when idle. */
	close(): Promise<void>;
	/** True when other processes share the queue (server/scale/bull-queue.ts): the members below are there. */
	readonly shared?: boolean;
	/** Asks the process that runs `jobId` to cancel it. */
	requestCancel?(jobId: string): Promise<void>;
	/** Whether a cancel of `jobId` was asked for (checked when a worker claims it). */
	cancelRequested?(jobId: string): Promise<boolean>;
	/** Tells every process that `jobId` settled. */
	announceSettled?(jobId: string): void;
	/** Which of `jobIds` the queue holds in no state (waiting, running, delayed): for the lost-job sweep. */
	notQueued?(jobIds: string[]): Promise<string[]>;
}

export interface InProcessQueueOptions {
	concurrency: number;
	worker: JobWorker;
	/** Called when a worker throws (it should not: the job manager records failures itself). */
	onWorkerError?: (jobId: string, error: unknown) => void;
}

/** One key's jobs: its line, how many run, and when it last got a slot (0: never). */
interface Lane {
	line: string[];
	running: number;
	lastTurn: number;
	/** Order of first arrival, to break ties between keys never served. */
	since: number;
}

/** The lane whose turn it is: least recently served, then earliest to arrive. */
function nextLane(lanes: Iterable<[string, Lane]>): [string, Lane] | null {
	let best: [string, Lane] | null = null;
	for (const entry of lanes) {
		const [, lane] = entry;
		if (lane.line.length === 0) continue;
		const [, top] = best ?? entry;
		if (!best || lane.lastTurn < top.lastTurn || (lane.lastTurn === top.lastTurn && lane.since < top.since)) best = entry;
	}
	return best;
}

/**
 * A round-robin queue in this process with a fixed number of slots.
 * @example const queue = createInProcessQueue({ concurrency: 2, worker: (id) => manager.execute(id) }); queue.enqueue(id, workflowId)
 */
export function createInProcessQueue(options: InProcessQueueOptions): JobQueue {
	if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
		throw new RangeError('Queue concurrency must be a whole number ≥ 1');
	}
	/** Keys with jobs waiting or running; a key is forgotten once it has neither. */
	const lanes = new Map<string, Lane>();
	/** Which key each waiting or running job belongs to. */
	const keyOf = new Map<string, string>();
	const active = new Map<string, Promise<void>>();
	let turn = 0;
	let arrivals = 0;
	let closed = false;

	function forgetIfIdle(key: string) {
		const lane = lanes.get(key);
		if (lane && lane.line.length === 0 && lane.running === 0) lanes.delete(key);
	}

	function pump() {
		while (!closed && active.size < options.concurrency) {
			const next = nextLane(lanes);
			if (!next) return;
			const [key, lane] = next;
			const id = lane.line.shift()!;
			lane.lastTurn = ++turn;
			lane.running++;
			const done = Promise.resolve()
				.then(async () => void (await options.worker(id)))
				.catch((err) => options.onWorkerError?.(id, err))
				.finally(() => {
					active.delete(id);
					keyOf.delete(id);
					lane.running--;
					forgetIfIdle(key);
					pump();
				});
			active.set(id, done);
		}
	}

	return {
		enqueue(jobId, key = DEFAULT_QUEUE_KEY) {
			if (closed || keyOf.has(jobId)) return;
			let lane = lanes.get(key);
			if (!lane) {
				lane = { line: [], running: 0, lastTurn: 0, since: ++arrivals };
				lanes.set(key, lane);
			}
			lane.line.push(jobId);
			keyOf.set(jobId, key);
			pump();
		},
		remove(jobId) {
			const key = keyOf.get(jobId);
			const lane = key === undefined ? undefined : lanes.get(key);
			const i = lane ? lane.line.indexOf(jobId) : -1;
			if (!lane || i === -1) return false;
			lane.line.splice(i, 1);
			keyOf.delete(jobId);
			forgetIfIdle(key!);
			return true;
		},
		running: () => [...active.keys()],
		waiting() {
			// Play the turns forward on copies: the order the waiting jobs would start in.
			const copies = new Map([...lanes].map(([k, lane]) => [k, { ...lane, line: [...lane.line] }]));
			const order: string[] = [];
			let t = turn;
			for (let next = nextLane(copies); next; next = nextLane(copies)) {
				order.push(next[1].line.shift()!);
				next[1].lastTurn = ++t;
			}
			return order;
		},
		async close() {
			closed = true;
			for (const lane of lanes.values()) {
				for (const id of lane.line) keyOf.delete(id);
				lane.line.length = 0;
			}
			await Promise.allSettled([...active.values()]);
		}
	};
}
