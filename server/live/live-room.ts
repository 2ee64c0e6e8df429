/**
 * One workflow's live channel: the jobs its watchers see (`LiveJobs`), their sockets, and the
 * rules that keep a fast job from flooding anyone.
 *
 * - Every event is applied to the room's state first, so a joiner's snapshot is exactly what the
 *   others have been sent (plus progress they are about to get).
 * - `block_progress` and `row_cells` are never sent on arrival: the room keeps the latest progress
 *   per block (serialised once) and each client's unsent cells, and a timer sends each client at
 *   most one of them per job per tick (100 ms → ≤ 10 messages/s), oldest pending block first;
 *   when both progress and cells wait, they take turns.
 * - Everything else is sent at once, in order, to everyone. A client whose socket buffer is over
 *   `slowClientBytes` gets no progress until it drains (it then gets the latest); one over
 *   `maxClientBufferBytes` is cut off (it reconnects and gets a fresh snapshot). Nothing a slow
 *   client does reaches the job: `publish` only updates memory and queues writes.
 */
import { LiveJobs } from '../../src/lib/workflow/live-jobs';
import { PROTOCOL_VERSION, type LiveEvent, type LiveJob, type RowCell, type ServerMessage } from '../../src/lib/workflow/protocol';
import type { Access } from '../access';

/** What the room needs of a socket (`ws`'s WebSocket has it; tests may fake it). */
export interface LiveSocket {
	send(data: string): void;
	readonly bufferedAmount: number;
	/** 1 = open. */
	readonly readyState: number;
	close(code?: number, reason?: string): void;
	terminate(): void;
}

export interface LiveClient {
	readonly socket: LiveSocket;
	readonly access: Access;
	/** False until the snapshot is sent; nothing else goes out before it. */
	ready: boolean;
	/** Per job, per block: the progress this client last got (sequence number, flush tick). */
	readonly sent: Map<string, Map<string, SentProgress>>;
	/** Per job: grid cells not yet sent to this client (issue 12), see `PendingCells`. */
	readonly cells: Map<string, PendingCells>;
	/** Per job: whether this client's last tick message was cells (then progress goes first next). */
	readonly cellsWentLast: Set<string>;
}

/**
 * A client's unsent grid cells of one job: the latest per (row, block), at most
 * `maxPendingCells`. Past that they are dropped and the client is told to re-read the rows they
 * covered (`rows_resync`): a slow client costs bounded memory, never a growing queue.
 */
export interface PendingCells {
	cells: Map<string, RowCell>;
	resync: { from: number; to: number } | null;
}

/** Counters the hub reports in `stats()`; rooms add to a shared object. */
export interface LiveCounters {
	messagesSent: number;
	/** Progress messages held back from a slow client (it gets the latest once it drains). */
	progressHeldBack: number;
	/** Clients cut off because their unsent backlog passed the hard bound. */
	clientsDropped: number;
	/** Times a client's unsent grid cells passed the cap and became a `rows_resync` (issue 12). */
	cellsResynced?: number;
}

export interface LiveRoomOptions {
	workflowId: string;
	load: () => Promise<LiveJob[]>;
	flushIntervalMs: number;
	slowClientBytes: number;
	maxClientBufferBytes: number;
	counters: LiveCounters;
	/** Unsent grid cells kept per client and job before they turn into a `rows_resync` (default 2,000). */
	maxPendingCells?: number;
	onError?: (err: unknown) => void;
}

const OPEN = 1;

interface PendingProgress {
	seq: number;
	text: string;
}

interface SentProgress {
	seq: number;
	tick: number;
}

export class LiveRoom {
	readonly state = new LiveJobs();
	readonly clients = new Set<LiveClient>();
	/** Resolves true once the snapshot is loaded, false if loading failed (the room is then dead). */
	readonly ready: Promise<boolean>;

	#loaded = false;
	#dead = false;
	#buffer: LiveEvent[] = [];
	/** Latest progress per job and block, already serialised. */
	#progress = new Map<string, Map<string, PendingProgress>>();
	#seq = 0;
	/** Flush ticks so far: which block a client heard about least recently. */
	#tick = 0;
	#timer: ReturnType<typeof setInterval> | null = null;
	readonly #options: LiveRoomOptions;

	constructor(options: LiveRoomOptions) {
		this.#options = options;
		this.ready = Promise.resolve()
			.then(() => options.load())
			.then(
				(jobs) => {
					if (this.#dead) return false;
					this.state.reset(jobs);
					this.#loaded = true;
					// Events that arrived while loading are newer than the store: fold them in.
					for (const event of this.#buffer) this.#deliver(event);
					this.#buffer = [];
					for (const client of this.clients) this.#greet(client);
					return true;
				},
				(err: unknown) => {
					options.onError?.(err);
					this.#dead = true;
					for (const client of this.clients) client.socket.close(1011, 'Could not load the jobs of this workflow');
					this.clients.clear();
					return false;
				}
			);
	}

	get workflowId(): string {
		return this.#options.workflowId;
	}

	/** True when nothing needs this room any more: no watcher and no job still going. */
	get idle(): boolean {
		return this.#dead || (this.#loaded && this.clients.size === 0 && !this.state.hasUnfinished());
	}

	/** Adds a watcher: `hello` now, the snapshot as soon as the room is loaded, then deltas. */
	join(socket: LiveSocket, access: Access): LiveClient {
		const client: LiveClient = { socket, access, ready: false, sent: new Map(), cells: new Map(), cellsWentLast: new Set() };
		this.clients.add(client);
		this.#send(client, { type: 'hello', version: PROTOCOL_VERSION, workflow_id: this.workflowId, access });
		if (this.#loaded) this.#greet(client);
		return client;
	}

	leave(client: LiveClient): void {
		this.clients.delete(client);
		if (this.clients.size === 0) this.#stopTimer();
	}

	/** Takes one event of one of the workflow's jobs. Never blocks, never throws on a bad socket. */
	publish(event: LiveEvent): void {
		if (this.#dead) return;
		if (!this.#loaded) this.#buffer.push(event);
		else this.#deliver(event);
	}

	/** One flush tick now: what the timer does every `flushIntervalMs` (tests drive ticks with it). */
	flushNow(): void {
		this.#flush();
	}

	/** Stops the timer; the hub closes the sockets. */
	dispose(): void {
		this.#dead = true;
		this.#stopTimer();
	}

	#greet(client: LiveClient): void {
		// Progress already in the snapshot is not pending for this client.
		for (const [jobId, blocks] of this.#progress) {
			client.sent.set(jobId, new Map([...blocks].map(([blockId, p]) => [blockId, { seq: p.seq, tick: this.#tick }])));
		}
		this.#send(client, { type: 'snapshot', jobs: this.state.list() });
		client.ready = true;
	}

	#deliver(event: LiveEvent): void {
		if (!this.state.apply(event)) return;
		const jobId = event.job_id;
		switch (event.type) {
			case 'row_cells':
				// Never sent on arrival: each client's pending map keeps the latest per cell (see #flush).
				for (const client of this.clients) if (client.ready) this.#queueCells(client, jobId, event.cells);
				if (this.clients.size > 0) this.#startTimer();
				return;
			case 'block_progress': {
				let blocks = this.#progress.get(jobId);
				if (!blocks) this.#progress.set(jobId, (blocks = new Map()));
				blocks.set(event.block.block_id, { seq: ++this.#seq, text: JSON.stringify(event) });
				if (this.clients.size > 0) this.#startTimer();
				return;
			}
			case 'block_finished':
				this.#progress.get(jobId)?.delete(event.block.block_id);
				break;
			case 'job_started':
			case 'job_paused':
			case 'job_finished':
				this.#progress.delete(jobId);
				for (const client of this.clients) {
					client.sent.delete(jobId);
					// The last cells go out before the job's end, so a grid is complete when it sees it.
					if (event.type !== 'job_started' && client.ready) this.#sendCells(client, jobId);
					client.cells.delete(jobId);
					client.cellsWentLast.delete(jobId);
				}
				break;
		}
		const text = JSON.stringify(event);
		for (const client of this.clients) if (client.ready) this.#sendText(client, text);
	}

	/**
	 * One tick: each client gets at most one message per job — progress of the pending block it
	 * heard about least recently (so concurrently running blocks take turns), or its pending grid
	 * cells; when both wait, whichever did not go last time.
	 */
	#flush(): void {
		const tick = ++this.#tick;
		let pending = false;
		for (const client of this.clients) {
			if (!client.ready) continue;
			const slow = client.socket.bufferedAmount > this.#options.slowClientBytes;
			for (const jobId of new Set([...this.#progress.keys(), ...client.cells.keys()])) {
				const progress = this.#nextProgress(client, jobId);
				const cells = client.cells.get(jobId);
				const hasCells = cells !== undefined && (cells.cells.size > 0 || cells.resync !== null);
				if (!progress && !hasCells) continue;
				if (slow) {
					if (progress) this.#options.counters.progressHeldBack++;
					pending = true;
					continue;
				}
				if (progress && (!hasCells || client.cellsWentLast.has(jobId))) {
					this.#sendText(client, progress.progress.text);
					client.sent.get(jobId)?.set(progress.blockId, { seq: progress.progress.seq, tick });
					client.cellsWentLast.delete(jobId);
					if (progress.waiting > 1 || hasCells) pending = true;
				} else {
					this.#sendCells(client, jobId);
					client.cellsWentLast.add(jobId);
					if (progress) pending = true;
				}
			}
		}
		if (!pending) this.#stopTimer();
	}

	/** The job's progress this client should get next: of the block it heard about least recently. */
	#nextProgress(client: LiveClient, jobId: string): { blockId: string; progress: PendingProgress; waiting: number } | null {
		const blocks = this.#progress.get(jobId);
		if (!blocks) return null;
		let sent = client.sent.get(jobId);
		if (!sent) client.sent.set(jobId, (sent = new Map()));
		let next: { blockId: string; progress: PendingProgress; lastTick: number } | null = null;
		let waiting = 0;
		for (const [blockId, progress] of blocks) {
			const last = sent.get(blockId);
			if (last && progress.seq <= last.seq) continue;
			waiting++;
			const lastTick = last?.tick ?? -1;
			if (!next || lastTick < next.lastTick) next = { blockId, progress, lastTick };
		}
		return next && { blockId: next.blockId, progress: next.progress, waiting };
	}

	/** Adds cells to the client's pending map of the job; past the cap they become a resync range. */
	#queueCells(client: LiveClient, jobId: string, cells: RowCell[]): void {
		let pending = client.cells.get(jobId);
		if (!pending) client.cells.set(jobId, (pending = { cells: new Map(), resync: null }));
		const max = this.#options.maxPendingCells ?? 2_000;
		for (const cell of cells) {
			if (pending.resync) {
				pending.resync = { from: Math.min(pending.resync.from, cell.row), to: Math.max(pending.resync.to, cell.row) };
				continue;
			}
			const key = `${cell.row}:${cell.block_id}`;
			pending.cells.delete(key);
			pending.cells.set(key, cell);
			if (pending.cells.size > max) {
				let from = Infinity;
				let to = -1;
				for (const c of pending.cells.values()) {
					from = Math.min(from, c.row);
					to = Math.max(to, c.row);
				}
				pending.cells.clear();
				pending.resync = { from, to };
				this.#options.counters.cellsResynced = (this.#options.counters.cellsResynced ?? 0) + 1;
			}
		}
	}

	/** Sends the client's pending cells of the job (and a resync first, if it fell behind). */
	#sendCells(client: LiveClient, jobId: string): void {
		const pending = client.cells.get(jobId);
		if (!pending) return;
		if (pending.resync) {
			this.#send(client, { type: 'rows_resync', job_id: jobId, ...pending.resync });
			pending.resync = null;
		}
		if (pending.cells.size > 0) {
			this.#send(client, { type: 'row_cells', job_id: jobId, at: Date.now(), cells: [...pending.cells.values()] });
			pending.cells.clear();
		}
	}

	#send(client: LiveClient, message: ServerMessage): void {
		this.#sendText(client, JSON.stringify(message));
	}

	#sendText(client: LiveClient, text: string): void {
		const { socket } = client;
		if (socket.readyState !== OPEN) return;
		if (socket.bufferedAmount > this.#options.maxClientBufferBytes) {
			// Hopelessly behind: holding more would grow memory without bound. It reconnects and
			// gets a snapshot, which carries every final state it missed.
			this.#options.counters.clientsDropped++;
			socket.terminate();
			this.leave(client);
			return;
		}
		socket.send(text);
		this.#options.counters.messagesSent++;
	}

	#startTimer(): void {
		if (this.#timer) return;
		this.#timer = setInterval(() => this.#flush(), this.#options.flushIntervalMs);
		this.#timer.unref?.();
	}

	#stopTimer(): void {
		if (!this.#timer) return;
		clearInterval(this.#timer);
		this.#timer = null;
	}
}
