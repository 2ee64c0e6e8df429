/**
 * The live job-event hub and its WebSocket endpoint `/live/:workflowId?token=…`.
 *
 * ```
 * job manager ──publish(workflowId, event)──▶ LiveRoom (state + coalescing) ──▶ sockets
 *   (scale-out: job manager ─▶ job-relay.ts ─▶ bus `live:<id>` ─▶ every hub with a room for it)
 *                                                 ▲ loadSnapshot(workflowId) once per room
 * upgrade ─▶ sockets/upgrade-gate.ts (401/403/404 on the raw socket) ─▶ hello, snapshot, deltas
 * ```
 * A room lives while someone watches or one of its jobs is unfinished, so a late joiner gets the
 * in-memory truth rather than a store that lags by a progress tick. Transport-free parts (state,
 * coalescing) are in live-room.ts; this file owns `ws`, upgrades, client frames and shutdown.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { MAX_CLIENT_FRAME_BYTES, parseClientMessage, type LiveEvent, type LiveJob } from '../../src/lib/workflow/protocol';
import type { Access } from '../access';
import { createHeartbeat } from '../sockets/heartbeat';
import { createUpgradeGate, type Authorize, type OriginRule } from '../sockets/upgrade-gate';
import type { MessageBus } from '../scale/bus';
import { TokenBucket } from '../token-bucket';
import { decodeLiveEvent, liveChannel } from './job-relay';
import { LiveRoom, type LiveCounters } from './live-room';

export interface LiveHubOptions extends OriginRule {
	/** What a token may do on a workflow (null → 401, 'forbidden' → 403), as for the rooms. */
	authorize: Authorize;
	/** The workflow's recent and running jobs, oldest first, when a room opens. */
	loadSnapshot: (workflowId: string) => Promise<LiveJob[]>;
	/** URL prefix (default `/live`). */
	path?: string;
	/** Progress tick: at most one progress message per job per client per tick (default 100 ms). */
	flushIntervalMs?: number;
	/** Unsent bytes above which a client gets no progress until it drains (default 256 KiB). */
	slowClientBytes?: number;
	/** Unsent bytes above which a client is cut off (default 8 MiB). */
	maxClientBufferBytes?: number;
	/** Client frames allowed (default 5/s, bursts of 20). */
	clientFrames?: { perSecond: number; burst: number };
	/** Ping interval; a client that misses a pong is terminated (default 30 s, 0 = off). */
	heartbeatMs?: number;
	onError?: (err: unknown, context: string) => void;
	/**
	 * Scale-out: job events come from the bus (`live:<workflowId>`, published wherever a job runs:
	 * job-relay.ts), not from `publish`. A room exists only while someone here watches; it
	 * subscribes before it loads its snapshot, so no event falls between the two. While the bus is
	 * down watchers are closed with 1013 (they reconnect and get a fresh snapshot) and upgrades
	 * get 503.
	 */
	bus?: MessageBus;
}

export interface LiveHubStats extends LiveCounters {
	rooms: number;
	clients: number;
	upgradesRefused: number;
	framesRefused: number;
}

export interface LiveHub {
	/** The server's `upgrade` listener part: true when the request was for this hub (it owns the socket). */
	handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
	/**
	 * One event of a job of `workflowId`, for everyone watching it. Cheap and synchronous. Scaled
	 * out the events come from the bus instead (`bus` option); this reaches only rooms open here.
	 */
	publish(workflowId: string, event: LiveEvent): void;
	/** Closes every client with 1001 and stops. */
	close(): Promise<void>;
	stats(): LiveHubStats;
}

/** Close codes this endpoint uses (the browser stops retrying on 1003/1007/1008). */
export const LIVE_CLOSE = {
	GOING_AWAY: 1001,
	UNSUPPORTED: 1003,
	MALFORMED: 1007,
	POLICY: 1008,
	INTERNAL: 1011,
	/** Scale-out: the bus (Redis) is away; reconnect. */
	TRY_AGAIN: 1013
} as const;

/**
 * Creates the hub.
 * @example const hub = createLiveHub({ authorize: workflows.authorize, loadSnapshot }); server.on('upgrade', (r, s, h) => hub.handleUpgrade(r, s, h) || s.destroy())
 */
export function createLiveHub(options: LiveHubOptions): LiveHub {
	const frames = options.clientFrames ?? { perSecond: 5, burst: 20 };
	const wss = new WebSocketServer({
		noServer: true,
		maxPayload: MAX_CLIENT_FRAME_BYTES,
		perMessageDeflate: false,
		clientTracking: false
	});
	const rooms = new Map<string, LiveRoom>();
	const heartbeat = createHeartbeat<WebSocket>({ intervalMs: options.heartbeatMs ?? 30_000 });
	const counters: LiveCounters = { messagesSent: 0, progressHeldBack: 0, clientsDropped: 0 };
	let upgradesRefused = 0;
	let framesRefused = 0;
	let closing = false;
	const onError = options.onError ?? (() => {});
	const { bus } = options;
	/** Scale-out: each room's bus subscription, ended when the room goes. */
	const subscriptions = new Map<LiveRoom, () => void>();
	const stopStatus = bus?.onStatus((status) => {
		if (status !== 'down') return;
		for (const room of [...rooms.values()]) {
			for (const client of room.clients) client.socket.close(LIVE_CLOSE.TRY_AGAIN, 'Live relay unavailable');
			drop(room);
		}
	});

	function roomFor(workflowId: string): LiveRoom {
		const existing = rooms.get(workflowId);
		if (existing) return existing;
		const relayed = bus ? subscribeRoom(bus, workflowId) : null;
		const created = new LiveRoom({
			workflowId,
			load: async () => {
				await relayed?.subscribed;
				return options.loadSnapshot(workflowId);
			},
			flushIntervalMs: options.flushIntervalMs ?? 100,
			slowClientBytes: options.slowClientBytes ?? 256 * 1024,
			maxClientBufferBytes: options.maxClientBufferBytes ?? 8 * 1024 * 1024,
			counters,
			onError: (err) => onError(err, `loading the jobs of workflow ${workflowId}`)
		});
		rooms.set(workflowId, created);
		if (relayed) {
			relayed.room = created;
			subscriptions.set(created, relayed.unsubscribe);
		}
		void created.ready.then(() => evictIfIdle(created));
		return created;
	}

	/** Scale-out: the room's events come from its bus channel (the room is set right after). */
	function subscribeRoom(bus: MessageBus, workflowId: string) {
		const channel = liveChannel(workflowId);
		const relayed = {
			room: null as LiveRoom | null,
			subscribed: Promise.resolve(),
			unsubscribe: () => bus.unsubscribe(channel, handler)
		};
		function handler(bytes: Uint8Array): void {
			const { room } = relayed;
			if (!room) return;
			const event = decodeLiveEvent(bytes);
			if (!event) return onError(new Error('An undecodable job event on the bus'), 'live relay');
			room.publish(event);
			if (event.type === 'job_finished' || event.type === 'job_paused') evictIfIdle(room);
		}
		relayed.subscribed = bus.subscribe(channel, handler);
		return relayed;
	}

	/** Idle: nobody watches and (one process) no job is still going — scaled out, nobody watches here. */
	function isIdle(room: LiveRoom): boolean {
		return room.idle || (bus !== undefined && room.clients.size === 0);
	}

	function drop(room: LiveRoom): void {
		room.dispose();
		if (rooms.get(room.workflowId) === room) rooms.delete(room.workflowId);
		subscriptions.get(room)?.();
		subscriptions.delete(room);
	}

	function evictIfIdle(room: LiveRoom): void {
		if (!isIdle(room) || rooms.get(room.workflowId) !== room) return;
		drop(room);
	}

	function attach(ws: WebSocket, workflowId: string, access: Access): void {
		if (closing) {
			ws.close(LIVE_CLOSE.GOING_AWAY, 'Server shutting down');
			return;
		}
		heartbeat.watch(ws);
		const room = roomFor(workflowId);
		const client = room.join(ws, access);
		// A client over the rate is misbehaving (the browser pings every ~25 s): it is closed.
		const limiter = new TokenBucket({ capacity: frames.burst, perSecond: frames.perSecond });
		let refused = false;
		const shut = (code: number, reason: string) => {
			refused = true;
			framesRefused++;
			ws.close(code, reason.slice(0, 120));
		};

		ws.on('message', (data: RawData, isBinary: boolean) => {
			if (refused) return;
			if (isBinary) return shut(LIVE_CLOSE.UNSUPPORTED, 'Binary frames are not supported');
			if (!limiter.take()) return shut(LIVE_CLOSE.POLICY, 'Too many messages');
			const parsed = parseClientMessage(rawText(data));
			if (!parsed.ok) return shut(LIVE_CLOSE.MALFORMED, `Malformed message: ${parsed.error}`);
			switch (parsed.message.type) {
				case 'ping':
					ws.send(JSON.stringify({ type: 'pong', ...(parsed.message.id === undefined ? {} : { id: parsed.message.id }) }));
					break;
			}
		});
		ws.on('error', (err) => onError(err, 'live socket'));
		ws.on('close', () => {
			heartbeat.forget(ws);
			room.leave(client);
			evictIfIdle(room);
		});
	}

	return {
		handleUpgrade: createUpgradeGate({
			path: options.path ?? '/live',
			authorize: options.authorize,
			allowedOrigins: options.allowedOrigins,
			sameOrigin: options.sameOrigin,
			isClosing: () => closing,
			isUnavailable: () => bus !== undefined && !bus.up,
			onRefused: () => upgradesRefused++,
			onError: (err) => onError(err, 'authorizing a live connection'),
			accept: (req, socket, head, workflowId, access) => wss.handleUpgrade(req, socket, head, (ws) => attach(ws, workflowId, access))
		}),

		publish(workflowId, event) {
			if (closing) return;
			// Scaled out, a job's events reach the hubs through the bus; here only a room open here.
			const room = bus ? rooms.get(workflowId) : roomFor(workflowId);
			if (!room) return;
			room.publish(event);
			if (event.type === 'job_finished' || event.type === 'job_paused') evictIfIdle(room);
		},

		async close() {
			if (closing) return;
			closing = true;
			stopStatus?.();
			heartbeat.stop();
			for (const room of [...rooms.values()]) drop(room);
			const open = heartbeat.sockets();
			const closed = open.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
			for (const ws of open) ws.close(LIVE_CLOSE.GOING_AWAY, 'Server shutting down');
			const force = setTimeout(() => open.forEach((ws) => ws.terminate()), 2_000);
			force.unref?.();
			await Promise.all(closed);
			clearTimeout(force);
			await new Promise<void>((resolve) => wss.close(() => resolve()));
		},

		stats() {
			return { rooms: rooms.size, clients: heartbeat.size, upgradesRefused, framesRefused, ...counters };
		}
	};
}

function rawText(data: RawData): string {
	if (Buffer.isBuffer(data)) return data.toString('utf8');
	if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
	return Buffer.from(data).toString('utf8');
}
