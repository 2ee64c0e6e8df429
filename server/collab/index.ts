/**
 * The collaboration server: Yjs rooms over the y-websocket protocol at `/yjs/:workflowId?token=…`,
 * stored in the database (SQLite or PostgreSQL). Plug it into a node:http server's `upgrade` event; the stock `y-websocket`
 * WebsocketProvider connects to it unchanged (`new WebsocketProvider(base + '/yjs', id, doc,
 * { params: { token } })`).
 *
 * @example
 * const collab = createCollabServer({ db, authorize: (id, token) => workflows.access(id, token) });
 * server.on('upgrade', (req, socket, head) => {
 *   if (!collab.handleUpgrade(req, socket, head)) socket.destroy();
 * });
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type * as Y from 'yjs';
import { COLLAB_CLOSE } from '../../src/lib/workflow/collab-close-codes';
import { asStore, type StoreHandle } from '../store/store';
import { createCounters, resolveLimits, silentLogger, type CollabCounters, type CollabLimits, type CollabLogger } from './limits';
import { createDocPersistence } from './persistence';
import type { MessageBus } from '../scale/bus';
import type { Access, CollabSocket, Room } from './room';
import { RelayUnavailableError, RoomRegistry } from './rooms';
import { createHeartbeat } from '../sockets/heartbeat';
import { createUpgradeGate, type Authorize, type OriginRule } from '../sockets/upgrade-gate';

export type { Access } from './room';
export type { Authorize, AuthorizeResult } from '../sockets/upgrade-gate';
export type { CollabLimits, CollabCounters, CollabLogger } from './limits';

export interface CollabServerOptions extends OriginRule {
	/** The database (a Store; a SQLite handle in tests). */
	db: StoreHandle;
	authorize: Authorize;
	limits?: Partial<CollabLimits>;
	log?: CollabLogger;
	/** URL prefix of the rooms (default `/yjs`). */
	pathPrefix?: string;
	/**
	 * Every stored edit (version history, issue 13): the workflow, its live doc, and the presence
	 * name of the person whose edit it was (null for the server's own). Must be cheap and not throw.
	 */
	onEdit?: (workflowId: string, doc: Y.Doc, author: string | null) => void;
	/**
	 * Scale-out: the bus to the other web processes (Redis). Rooms then relay every stored update
	 * and presence change to the processes holding the same workflow (relay.ts). Absent: one process.
	 */
	bus?: MessageBus;
}

export interface CollabStats extends CollabCounters {
	rooms: number;
	connections: number;
	/** Presence entries held across rooms (at most one per connection). */
	presenceEntries: number;
}

export interface CollabServer {
	/** For the http `upgrade` event: true if the request was for a room (it is handled then). */
	handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
	/**
	 * The live document of a workflow (loaded if needed), e.g. to snapshot it for a run. Edits made
	 * to it are persisted and relayed like anyone's; use it right away, do not keep it (an idle
	 * room is unloaded after `idleEvictMs`).
	 */
	getDoc(workflowId: string): Promise<Y.Doc>;
	/** Persists every room and closes every socket with 1001; new upgrades get 503. */
	close(): Promise<void>;
	stats(): CollabStats;
}

/** Creates the room server (it listens on nothing itself: hand it upgrade requests). */
export function createCollabServer(options: CollabServerOptions): CollabServer {
	const limits = resolveLimits(options.limits);
	const log = options.log ?? silentLogger;
	const counters = createCounters();
	const onEdit = options.onEdit;
	const registry = new RoomRegistry({
		persistence: createDocPersistence(asStore(options.db)),
		limits,
		counters,
		log,
		bus: options.bus,
		...(onEdit
			? {
					onEdit: (room: Room, author: string | null) => {
						// Inside the doc's update handler: a throw here must not look like a bad frame.
						try {
							onEdit(room.id, room.doc, author);
						} catch (error) {
							log.error({ workflowId: room.id, error: String(error) }, 'Collab onEdit failed');
						}
					}
				}
			: {})
	});
	const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes, perMessageDeflate: false });
	const heartbeat = createHeartbeat<WebSocket>({ intervalMs: limits.pingIntervalMs });
	let closing = false;

	function attach(ws: WebSocket, workflowId: string, access: Access): void {
		if (closing) {
			// The handshake finished while `close()` ran: do not load a room nobody will persist.
			ws.close(COLLAB_CLOSE.GOING_AWAY, 'Server shutting down');
			return;
		}
		const loaded = registry.retain(workflowId);
		// The room loads asynchronously (the store may be PostgreSQL; scaled out it subscribes to its
		// relay first): what the client sends meanwhile waits, in order. The socket is paused until
		// then, so that wait is bounded by what was already read (one TCP read), not by how fast the
		// client sends while a slow database answers: it waits in the kernel, and the client slows.
		ws.pause();
		const early: [WebSocket.RawData, boolean][] = [];
		const hold = (data: WebSocket.RawData, isBinary: boolean) => void early.push([data, isBinary]);
		// `ws` closes the socket itself on a bad frame; without a listener its 'error' would be uncaught.
		const earlyError = () => counters.malformed++;
		ws.on('message', hold);
		ws.on('error', earlyError);
		loaded.then(
			(room) => {
				ws.off('message', hold);
				ws.off('error', earlyError);
				if (closing || ws.readyState !== WebSocket.OPEN) {
					// Gone while loading (or the server is closing): nothing to join (the room unloads when idle).
					registry.release(room);
					if (ws.readyState === WebSocket.OPEN) ws.close(COLLAB_CLOSE.GOING_AWAY, 'Server shutting down');
					return;
				}
				serve(ws, workflowId, access, room);
				// Resumed first: new frames arrive on a later turn, after these; and a pause the room
				// asks for while taking these (its inbox full) then stands.
				ws.resume();
				for (const [data, isBinary] of early) ws.emit('message', data, isBinary);
			},
			(error: unknown) => {
				ws.off('message', hold);
				const unavailable = error instanceof RelayUnavailableError;
				if (!unavailable) log.error({ workflowId, error: String(error) }, 'Could not load a collaborative document');
				if (ws.readyState === WebSocket.OPEN) {
					ws.close(
						unavailable ? COLLAB_CLOSE.TRY_AGAIN : COLLAB_CLOSE.INTERNAL,
						unavailable ? 'Collaboration relay unavailable' : 'Could not load the document'
					);
				}
			}
		);
	}

	function serve(ws: WebSocket, workflowId: string, access: Access, room: Room): void {
		const socket: CollabSocket = {
			send: (data) => {
				if (ws.readyState === WebSocket.OPEN) ws.send(data);
			},
			close: (code, reason) => ws.close(code, reason),
			get bufferedAmount() {
				return ws.bufferedAmount;
			},
			pause: () => ws.pause(),
			resume: () => {
				ws.resume();
				// It was not pinged while paused: start counting again from now.
				heartbeat.touch(ws);
			}
		};
		heartbeat.watch(ws);
		// A throw out of a socket callback would be an uncaught exception (the process exits), so the
		// room's entry points are guarded here too, though they are not meant to throw.
		const guarded = (what: string, fn: () => void) => {
			try {
				fn();
			} catch (error) {
				log.error({ workflowId, error: error instanceof Error ? error.message : String(error) }, what);
			}
		};
		ws.on('message', (data, isBinary) => {
			guarded('Collab message handling failed', () => {
				if (!isBinary) room.refuse(socket, COLLAB_CLOSE.UNSUPPORTED, 'Binary frames only', 'unsupported');
				else room.receive(socket, toBytes(data));
			});
		});
		ws.on('error', (error: Error & { code?: string }) => {
			// `ws` closes the socket itself (1009 for maxPayload, 1002/1007 for bad frames).
			if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') counters.tooBig++;
			else counters.malformed++;
			log.warn({ workflowId, error: error.message }, 'Collab socket error');
		});
		ws.on('close', () => {
			heartbeat.forget(ws);
			guarded('Collab leave failed', () => room.leave(socket));
		});
		room.join(socket, access);
	}

	const handleUpgrade = createUpgradeGate({
		path: options.pathPrefix ?? '/yjs',
		authorize: options.authorize,
		allowedOrigins: options.allowedOrigins,
		sameOrigin: options.sameOrigin,
		isClosing: () => closing,
		isUnavailable: () => !registry.available,
		onError: (error) => log.error({ error: String(error) }, 'Collab authorize failed'),
		onRefused: () => counters.refusedUpgrades++,
		accept: (req, socket, head, workflowId, access) => wss.handleUpgrade(req, socket, head, (ws) => attach(ws, workflowId, access))
	});

	return {
		handleUpgrade,
		async getDoc(workflowId) {
			if (closing) throw new Error('Collab server is closed');
			return (await registry.getUnjoined(workflowId)).doc;
		},
		async close() {
			if (closing) return;
			closing = true;
			heartbeat.stop();
			const sockets = heartbeat.sockets();
			const closed = Promise.all(
				sockets.map(
					(ws) =>
						new Promise<void>((resolve) => {
							if (ws.readyState === WebSocket.CLOSED) resolve();
							else ws.once('close', () => resolve());
						})
				)
			);
			const stored = registry.closeAll(COLLAB_CLOSE.GOING_AWAY, 'Server shutting down');
			const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, 1_000, 'timeout').unref());
			if ((await Promise.race([closed, timeout])) === 'timeout') for (const ws of sockets) ws.terminate();
			await new Promise<void>((resolve) => wss.close(() => resolve()));
			await stored;
		},
		stats() {
			let rooms = 0;
			let connections = 0;
			let presenceEntries = 0;
			for (const room of registry.rooms()) {
				rooms++;
				connections += room.size;
				presenceEntries += room.presenceEntries;
			}
			return { ...counters, rooms, connections, presenceEntries };
		}
	};
}

function toBytes(data: WebSocket.RawData): Uint8Array {
	if (Array.isArray(data)) return Buffer.concat(data);
	if (data instanceof ArrayBuffer) return new Uint8Array(data);
	return data;
}
