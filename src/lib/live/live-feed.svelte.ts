/**
 * The live job feed of one workflow (`/live/<id>`): every run anyone starts, with per-block
 * progress, folded from the server's snapshot and deltas. Reconnects with backoff after a drop
 * (and gets a fresh snapshot), but stops for good on a refusal and says why.
 */
import { LiveJobs } from '$lib/workflow/live-jobs';
import { parseServerMessage, PROTOCOL_VERSION, type LiveJob, type ServerMessage } from '$lib/workflow/protocol';

/** Grid messages (issue 12): cells of a job, or "re-read these rows" after falling behind. */
export type CellsMessage = Extract<ServerMessage, { type: 'row_cells' | 'rows_resync' }>;
import { describeClose } from '$lib/collab/close-codes';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface LiveFeedOptions {
	workflowId: string;
	token: string;
	wsOrigin?: string;
	/** Asked when a socket fails before opening: a reason to stop (bad link), or null to retry. */
	probeAccess?: () => Promise<string | null>;
}

const MAX_BACKOFF_MS = 10_000;
const PING_MS = 25_000;

export class LiveFeed {
	/** Recent and running jobs, newest first (fresh objects on every change, for reactivity). */
	jobs = $state.raw<LiveJob[]>([]);
	state = $state<LiveState>('connecting');
	stopReason = $state<string | null>(null);
	/** True once the first snapshot arrived: `jobs` is the server's view, not an empty guess. */
	loaded = $state(false);

	#url: string;
	#ws: WebSocket | null = null;
	#attempts = 0;
	#timer: ReturnType<typeof setTimeout> | null = null;
	#ping: ReturnType<typeof setInterval> | null = null;
	#closed = false;
	#probeAccess: LiveFeedOptions['probeAccess'];
	/** The same reducer the server's hub runs: everyone folds the same messages the same way. */
	#state = new LiveJobs();
	#cellListeners = new Set<(message: CellsMessage) => void>();
	/** Called after each (re)connection's snapshot: a grid re-reads its rows (it may have missed cells). */
	#snapshotListeners = new Set<() => void>();

	constructor(options: LiveFeedOptions) {
		const origin = options.wsOrigin ?? location.origin.replace(/^http/, 'ws');
		this.#url = `${origin}/live/${encodeURIComponent(options.workflowId)}?token=${encodeURIComponent(options.token)}`;
		this.#probeAccess = options.probeAccess;
		this.#connect();
	}

	/** The job with this id, if the feed knows it. */
	job(jobId: string | null): LiveJob | undefined {
		return jobId ? this.jobs.find((j) => j.job_id === jobId) : undefined;
	}

	/** Hears the grid's cells as they come (coalesced by the server); returns the unsubscribe function. */
	onCells(listener: (message: CellsMessage) => void, onSnapshot?: () => void): () => void {
		this.#cellListeners.add(listener);
		if (onSnapshot) this.#snapshotListeners.add(onSnapshot);
		return () => {
			this.#cellListeners.delete(listener);
			if (onSnapshot) this.#snapshotListeners.delete(onSnapshot);
		};
	}

	close(): void {
		this.#closed = true;
		if (this.#timer) clearTimeout(this.#timer);
		if (this.#ping) clearInterval(this.#ping);
		this.#ws?.close(1000);
		this.#ws = null;
	}

	#connect(): void {
		if (this.#closed) return;
		let opened = false;
		const ws = new WebSocket(this.#url);
		this.#ws = ws;
		ws.onopen = () => {
			opened = true;
			this.#attempts = 0;
			this.#ping = setInterval(() => {
				if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
			}, PING_MS);
		};
		ws.onmessage = (e) => this.#receive(e.data);
		ws.onclose = (e) => {
			if (this.#ping) clearInterval(this.#ping);
			if (this.#ws !== ws || this.#closed) return;
			this.#ws = null;
			const terminal = describeClose(e.code, e.reason);
			if (terminal) return this.#stop(terminal);
			this.state = this.loaded ? 'reconnecting' : 'connecting';
			if (!opened) void this.#probe();
			this.#schedule();
		};
	}

	#schedule(): void {
		if (this.#closed || this.state === 'stopped') return;
		const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.#attempts) * (0.75 + Math.random() * 0.5);
		this.#attempts++;
		this.#timer = setTimeout(() => this.#connect(), delay);
	}

	async #probe(): Promise<void> {
		const reason = await this.#probeAccess?.();
		if (reason) this.#stop(reason);
	}

	#stop(reason: string): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.state = 'stopped';
		this.stopReason = reason;
		this.#ws?.close();
		this.#ws = null;
	}

	#publish(): void {
		this.jobs = this.#state
			.list()
			.map((job) => ({ ...job, blocks: [...job.blocks], row_errors: [...job.row_errors] }))
			.sort((a, b) => (b.created_at ?? Infinity) - (a.created_at ?? Infinity) || b.job_id.localeCompare(a.job_id));
	}

	#receive(data: unknown): void {
		const parsed = parseServerMessage(data);
		if (!parsed.ok) {
			console.warn('Ignored a /live frame:', parsed.error);
			return;
		}
		const message = parsed.message;
		switch (message.type) {
			case 'hello':
				if (message.version !== PROTOCOL_VERSION) this.#stop('The server was updated: reload the page to see live progress.');
				break;
			case 'snapshot':
				this.#state.reset(message.jobs);
				this.#publish();
				this.loaded = true;
				this.state = 'live';
				for (const listener of this.#snapshotListeners) listener();
				break;
			case 'pong':
				break;
			case 'row_cells':
			case 'rows_resync':
				for (const listener of this.#cellListeners) listener(message);
				break;
			default:
				if (this.#state.apply(message)) this.#publish();
		}
	}
}
