/**
 * Liveness for every WebSocket endpoint: a ping every `intervalMs`; a socket that has sent
 * nothing — no pong, no message — since the previous ping is terminated. A peer that vanished
 * without a FIN (laptop lid, dropped Wi-Fi) would otherwise hold its room slot and buffers forever.
 */

/** The little the heartbeat needs from a socket (`ws`'s WebSocket has it). */
export interface HeartbeatSocket {
	ping(): void;
	terminate(): void;
	on(event: 'pong' | 'message', listener: () => void): unknown;
	/** True while we stopped reading it (flow control): its pong would sit unread, so it is not pinged. */
	readonly isPaused?: boolean;
}

export interface HeartbeatOptions {
	/** Ping interval in ms; 0 = no pings (tests). */
	intervalMs: number;
}

export interface Heartbeat<S extends HeartbeatSocket = HeartbeatSocket> {
	/** Starts watching `socket` (call once the handshake is done). */
	watch(socket: S): void;
	/** Stops watching it (on close). */
	forget(socket: S): void;
	/** Counts `socket` as alive now (e.g. when reading resumes after a pause). */
	touch(socket: S): void;
	/** The sockets being watched: the endpoint's open connections. */
	sockets(): S[];
	readonly size: number;
	/** Stops the pings. */
	stop(): void;
}

/**
 * Creates one endpoint's heartbeat.
 * @example const heartbeat = createHeartbeat({ intervalMs: 30_000 }); heartbeat.watch(ws); ws.on('close', () => heartbeat.forget(ws))
 */
export function createHeartbeat<S extends HeartbeatSocket>(options: HeartbeatOptions): Heartbeat<S> {
	const alive = new Map<S, boolean>();
	const timer =
		options.intervalMs > 0
			? setInterval(() => {
					for (const [socket, ok] of alive) {
						if (socket.isPaused) continue;
						if (!ok) socket.terminate();
						else {
							alive.set(socket, false);
							socket.ping();
						}
					}
				}, options.intervalMs)
			: null;
	timer?.unref?.();

	return {
		watch(socket) {
			alive.set(socket, true);
			// Any frame proves the peer is there: a client busy sending need not also answer pings in time.
			const seen = () => {
				if (alive.has(socket)) alive.set(socket, true);
			};
			socket.on('pong', seen);
			socket.on('message', seen);
		},
		forget(socket) {
			alive.delete(socket);
		},
		touch(socket) {
			if (alive.has(socket)) alive.set(socket, true);
		},
		sockets: () => [...alive.keys()],
		get size() {
			return alive.size;
		},
		stop() {
			if (timer) clearInterval(timer);
		}
	};
}
