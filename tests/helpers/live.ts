/**
 * Test harness for the live hub: a node:http server on 127.0.0.1:0 routing upgrades to the hub,
 * a real workflows repository for tokens, and `ws` clients that parse every frame with the shared
 * protocol and fold it with the shared reducer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { createLiveHub, type LiveHub, type LiveHubOptions } from '../../server/live/live-hub';
import { openDatabase } from '../../server/store/db';
import { createSqliteWorkflowsRepo, type WorkflowRecord, type WorkflowsRepo } from '../../server/store/workflows-repo';
import { LiveJobs, pendingBlock } from '../../src/lib/workflow/live-jobs';
import {
	parseServerMessage,
	type LiveBlockProgress,
	type LiveEvent,
	type LiveJob,
	type ServerMessage
} from '../../src/lib/workflow/protocol';

export interface LiveHarness {
	hub: LiveHub;
	server: Server;
	workflows: WorkflowsRepo;
	/** `ws://127.0.0.1:<port>` */
	origin: string;
	workflow: WorkflowRecord;
	connect(path: string, options?: { headers?: Record<string, string> }): LiveTestClient;
	close(): Promise<void>;
}

export interface LiveHarnessOptions extends Partial<Omit<LiveHubOptions, 'authorize'>> {
	loadSnapshot?: LiveHubOptions['loadSnapshot'];
}

export async function startLiveHarness(options: LiveHarnessOptions = {}): Promise<LiveHarness> {
	const workflows = createSqliteWorkflowsRepo(openDatabase(':memory:'));
	const workflow = await workflows.create({ name: 'live test' });
	const hub = createLiveHub({
		heartbeatMs: 0,
		...options,
		// The server's own rule (null → 401) tells an unknown workflow from a wrong token; here every
		// refused token is 'forbidden', as the tests of this hub expect of a token on the wrong workflow.
		authorize: async (id, token) => (await workflows.authorize(id, token)) ?? 'forbidden',
		loadSnapshot: options.loadSnapshot ?? (async () => [])
	});
	const server = createServer((_req, res) => res.writeHead(404).end());
	server.on('upgrade', (req, socket, head) => {
		if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const origin = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
	const clients: LiveTestClient[] = [];
	return {
		hub,
		server,
		workflows,
		origin,
		workflow,
		connect(path, connectOptions) {
			const client = new LiveTestClient(`${origin}${path}`, connectOptions?.headers);
			clients.push(client);
			return client;
		},
		async close() {
			for (const c of clients) c.ws.terminate();
			await hub.close();
			server.closeAllConnections?.();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}

/** A `ws` client that records every message (parsed and checked) with its arrival time. */
export class LiveTestClient {
	readonly ws: WebSocket;
	readonly messages: { at: number; message: ServerMessage }[] = [];
	readonly jobs = new LiveJobs();
	readonly invalid: string[] = [];
	closed: { code: number; reason: string } | null = null;
	#waiters: (() => void)[] = [];

	constructor(url: string, headers?: Record<string, string>) {
		this.ws = new WebSocket(url, { headers });
		this.ws.on('message', (data) => {
			const parsed = parseServerMessage(String(data));
			if (!parsed.ok) {
				this.invalid.push(parsed.error);
				return;
			}
			const message = parsed.message;
			this.messages.push({ at: Date.now(), message });
			if (message.type === 'snapshot') this.jobs.reset(message.jobs);
			else if (message.type !== 'hello' && message.type !== 'pong' && message.type !== 'rows_resync') this.jobs.apply(message);
			this.#notify();
		});
		this.ws.on('close', (code, reason) => {
			this.closed = { code, reason: String(reason) };
			this.#notify();
		});
		this.ws.on('error', () => {});
	}

	/** Resolves once the HTTP upgrade is refused, with its status and JSON body. */
	refusal(): Promise<{ status: number; body: unknown }> {
		return new Promise((resolve, reject) => {
			this.ws.on('unexpected-response', (_req, res) => {
				let text = '';
				res.on('data', (chunk) => (text += chunk));
				res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
			});
			this.ws.on('open', () => reject(new Error('the upgrade was accepted')));
		});
	}

	types(): string[] {
		return this.messages.map((m) => m.message.type);
	}

	of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
		return this.messages.map((m) => m.message).filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
	}

	/** Waits until `done()` holds (checked after every message and close), or fails after `ms`. */
	until(done: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
		if (done()) return Promise.resolve();
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${this.types().join(',')}`)), ms);
			const check = () => {
				if (!done()) return this.#waiters.push(check);
				clearTimeout(timer);
				resolve();
			};
			this.#waiters.push(check);
		});
	}

	untilType(type: ServerMessage['type'], count = 1, ms?: number): Promise<void> {
		return this.until(() => this.of(type).length >= count, ms, `${count} × ${type}`);
	}

	#notify() {
		const waiters = this.#waiters;
		this.#waiters = [];
		for (const w of waiters) w();
	}
}

const BLOCKS = [
	{ block_id: 'read', block_type: 'read_csv' },
	{ block_id: 'enrich', block_type: 'enrich_lead' }
] as const;

export function progressOf(
	blockId: 'read' | 'enrich',
	status: LiveBlockProgress['status'],
	rows: number,
	extra: Partial<LiveBlockProgress> = {}
): LiveBlockProgress {
	return { ...pendingBlock(BLOCKS.find((b) => b.block_id === blockId)!), status, rows_in: rows, rows_out: rows, total: 10_000, ...extra };
}

/** Builders for the events of one job with the two blocks above. */
export function jobEvents(jobId: string, at = Date.now()) {
	return {
		created: (): LiveEvent => ({ type: 'job_created', job_id: jobId, at, workflow_id: 'w', retry_of: null }),
		started: (): LiveEvent => ({ type: 'job_started', job_id: jobId, at, blocks: [...BLOCKS] }),
		blockStarted: (id: 'read' | 'enrich', extra?: Partial<LiveBlockProgress>): LiveEvent => ({
			type: 'block_started',
			job_id: jobId,
			at,
			block: progressOf(id, 'running', 0, extra)
		}),
		progress: (id: 'read' | 'enrich', rows: number): LiveEvent => ({
			type: 'block_progress',
			job_id: jobId,
			at,
			block: progressOf(id, 'running', rows)
		}),
		rowError: (row: number): LiveEvent => ({
			type: 'row_error',
			job_id: jobId,
			at,
			block_id: 'enrich',
			row,
			message: `row ${row} failed`
		}),
		blockFinished: (id: 'read' | 'enrich', rows: number, extra?: Partial<LiveBlockProgress>): LiveEvent => ({
			type: 'block_finished',
			job_id: jobId,
			at,
			block: progressOf(id, 'completed', rows, extra)
		}),
		finished: (rows: number, extra?: Partial<LiveBlockProgress>): LiveEvent => ({
			type: 'job_finished',
			job_id: jobId,
			at,
			status: 'completed',
			error: null,
			output_path: 'outputs/x.csv',
			blocks: [progressOf('read', 'completed', rows, extra), progressOf('enrich', 'completed', rows, extra)]
		})
	};
}

/** A finished job as a snapshot carries it. */
export function finishedJob(jobId: string): LiveJob {
	return {
		job_id: jobId,
		status: 'completed',
		created_at: 1,
		started_at: 2,
		finished_at: 3,
		error: null,
		output_path: 'outputs/old.csv',
		retry_of: null,
		blocks: [progressOf('read', 'completed', 5), progressOf('enrich', 'completed', 5)],
		row_errors: []
	};
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
