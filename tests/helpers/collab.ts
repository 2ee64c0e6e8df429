/**
 * Test harness for the room server: a node:http server on 127.0.0.1:0 with the collab upgrade
 * handler and an authorize function backed by a token table, plus real y-websocket clients.
 */
import * as encoding from 'lib0/encoding';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { createCollabServer, type Access, type CollabLimits, type CollabServer } from '../../server/collab';
import type { MessageBus } from '../../server/scale/bus';
import { openDatabase, type Db } from '../../server/store/db';
import { sqliteStore, type Store } from '../../server/store/store';
import { docToWorkflow } from '../../src/lib/workflow/doc';

export interface TokenGrant {
	workflowId: string;
	access: Access;
}

export interface CollabHarnessOptions {
	/** token → grant */
	tokens: Record<string, TokenGrant>;
	/** SQLite file (default: a fresh temp file, removed on close). */
	dbPath?: string;
	/** A database of the caller's (e.g. PostgreSQL from tests/helpers/backends.ts), left open on close; wins over `dbPath`. */
	store?: Store;
	limits?: Partial<CollabLimits>;
	allowedOrigins?: string[];
	/** Port on 127.0.0.1 (default: any free one); a restart on the same port lets clients reconnect. */
	port?: number;
	/** Scale-out's message bus (e.g. a test's own, to hold a room's loading up). */
	bus?: MessageBus;
}

export interface CollabHarness {
	collab: CollabServer;
	store: Store;
	/** The better-sqlite3 handle (SQLite only; throws on PostgreSQL). */
	readonly db: Db;
	dbPath: string;
	/** `ws://127.0.0.1:<port>/yjs` */
	base: string;
	server: Server;
	/** Closes clients opened through `connect`, the collab server, the http server and the db. */
	close(options?: { keepFile?: boolean }): Promise<void>;
	connect(workflowId: string, token: string, options?: { connect?: boolean }): CollabClient;
}

export interface CollabClient {
	doc: Y.Doc;
	provider: WebsocketProvider;
	/** Resolves once the provider has synced with the server (again, after a reconnect). */
	synced(): Promise<void>;
	destroy(): void;
}

/** A fresh temp directory for a SQLite file. */
export function tempDbPath(): { path: string; remove: () => void } {
	const dir = mkdtempSync(join(tmpdir(), 'collab-test-'));
	return { path: join(dir, 'app.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startCollab(options: CollabHarnessOptions): Promise<CollabHarness> {
	// Every y-websocket provider adds a process 'exit' listener; tests open dozens.
	process.setMaxListeners(Math.max(process.getMaxListeners(), 200));
	const temp = options.dbPath || options.store ? null : tempDbPath();
	const dbPath = options.dbPath ?? temp?.path ?? '';
	const store = options.store ?? sqliteStore(openDatabase(dbPath));
	const collab = createCollabServer({
		db: store,
		allowedOrigins: options.allowedOrigins,
		limits: options.limits,
		...(options.bus ? { bus: options.bus } : {}),
		authorize: async (workflowId, token) => {
			const grant = options.tokens[token];
			if (!grant) return null;
			return grant.workflowId === workflowId ? grant.access : 'forbidden';
		}
	});
	const server = createServer((_req, res) => res.writeHead(404).end());
	server.on('upgrade', (req, socket, head) => {
		if (!collab.handleUpgrade(req, socket, head)) socket.destroy();
	});
	await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	const base = `ws://127.0.0.1:${port}/yjs`;
	const clients = new Set<CollabClient>();

	return {
		collab,
		store,
		get db(): Db {
			if (!store.sqlite) throw new Error('this harness runs on PostgreSQL: use `store`');
			return store.sqlite;
		},
		dbPath,
		base,
		server,
		connect(workflowId, token, { connect = true } = {}) {
			const client = connectProvider(base, workflowId, token, { connect, onDestroy: () => clients.delete(client) });
			clients.add(client);
			return client;
		},
		async close({ keepFile = false } = {}) {
			for (const client of [...clients]) client.destroy();
			await collab.close();
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
			if (!options.store) await store.close();
			if (!keepFile) temp?.remove();
		}
	};
}

/** Resolves once `provider` has synced (again, after a reconnect); `connected`: and its socket is open now. */
export function whenSynced(provider: WebsocketProvider, { connected = false } = {}): Promise<void> {
	if (provider.synced && (!connected || provider.wsconnected)) return Promise.resolve();
	return new Promise<void>((resolve) => {
		const on = (state: boolean) => {
			if (!state) return;
			provider.off('sync', on);
			resolve();
		};
		provider.on('sync', on);
	});
}

/** A stock y-websocket provider on `base` (`ws://host:port/yjs`), as the browser opens it. */
export function connectProvider(
	base: string,
	workflowId: string,
	token: string,
	options: { connect?: boolean; onDestroy?: () => void } = {}
): CollabClient {
	const doc = new Y.Doc();
	const provider = new WebsocketProvider(base, workflowId, doc, {
		params: { token },
		WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
		disableBc: true,
		maxBackoffTime: 200,
		connect: options.connect ?? true
	});
	return {
		doc,
		provider,
		synced: () => whenSynced(provider),
		destroy() {
			options.onDestroy?.();
			provider.destroy();
			doc.destroy();
		}
	};
}

/** A raw y-websocket awareness message (type 1) setting each entry's presence to `state` (JSON text) at `clock`. */
export function awarenessFrame(entries: readonly { clientId: number; clock: number; state: string }[]): Uint8Array {
	const update = encoding.createEncoder();
	encoding.writeVarUint(update, entries.length);
	for (const { clientId, clock, state } of entries) {
		encoding.writeVarUint(update, clientId);
		encoding.writeVarUint(update, clock);
		encoding.writeVarString(update, state);
	}
	const message = encoding.createEncoder();
	encoding.writeVarUint(message, 1);
	encoding.writeVarUint8Array(message, encoding.toUint8Array(update));
	return encoding.toUint8Array(message);
}

/** Polls `predicate` until true; fails with `message` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, message: string, timeoutMs = 5_000): Promise<void> {
	const start = Date.now();
	while (!predicate()) {
		if (Date.now() - start > timeoutMs) throw new Error(`Timed out: ${message}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

/** `waitFor` for a check that must ask the database (async). */
export async function waitForAsync(predicate: () => Promise<boolean>, message: string, timeoutMs = 5_000): Promise<void> {
	const start = Date.now();
	while (!(await predicate())) {
		if (Date.now() - start > timeoutMs) throw new Error(`Timed out: ${message}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

/** Waits until every doc holds the same workflow; returns it. */
export async function waitConverged(docs: Y.Doc[], timeoutMs = 5_000) {
	const key = (doc: Y.Doc) => JSON.stringify(docToWorkflow(doc));
	await waitFor(() => docs.every((d) => key(d) === key(docs[0])), 'documents converge', timeoutMs);
	return docToWorkflow(docs[0]);
}

export interface RawClient {
	ws: WebSocket;
	messages: Uint8Array[];
	opened: Promise<void>;
	closed: Promise<{ code: number; reason: string }>;
	/** Status of a refused upgrade (the socket never opens then). */
	refused: Promise<number>;
}

/** A bare `ws` client, for frames the real provider would never send. */
export function rawClient(url: string, headers: Record<string, string> = {}): RawClient {
	const ws = new WebSocket(url, { headers });
	const messages: Uint8Array[] = [];
	ws.on('message', (data) => messages.push(new Uint8Array(data as Buffer)));
	ws.on('error', () => {});
	return {
		ws,
		messages,
		opened: new Promise((resolve) => ws.once('open', () => resolve())),
		closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
		refused: new Promise((resolve) =>
			ws.once('unexpected-response', (req, res) => {
				resolve(res.statusCode ?? 0);
				req.destroy();
				ws.terminate();
			})
		)
	};
}
