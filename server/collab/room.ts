/**
 * A Room owns one workflow's Y.Doc, its connections and their awareness (presence), and speaks
 * the y-websocket protocol with them: sync step 1/2 and updates (y-protocols/sync), awareness
 * (y-protocols/awareness) and awareness queries. Sockets sit behind `CollabSocket`, so the room
 * knows nothing of `ws` and tests could drive it with fakes.
 *
 * Order of effects for an edit: validate → apply to the doc → append to the log (synchronous,
 * durable) → relay to the others. Nobody sees an edit the server has not stored.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { COLLAB_CLOSE } from '../../src/lib/workflow/collab-close-codes';
import type { CollabCounters, CollabLimits, CollabLogger } from './limits';
import type { DocPersistence } from './persistence';
import { RoomPresence, type Access } from './presence';
import { createMessageBudget } from './rate-limit';

export type { Access } from './presence';

/** y-websocket top-level message types. */
export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

/** The little a room needs from a socket. */
export interface CollabSocket {
	send(data: Uint8Array): void;
	close(code: number, reason: string): void;
	/** Bytes queued but not yet written: how far behind this client is. */
	readonly bufferedAmount: number;
}

class Connection {
	closed = false;
	/** Document updates of a view-only connection: dropped. */
	dropped = 0;
	readonly budget;
	constructor(
		readonly socket: CollabSocket,
		readonly access: Access,
		limits: CollabLimits
	) {
		this.budget = createMessageBudget({ perSecond: limits.messagesPerSecond, burst: limits.messageBurst });
	}
}

/** A frame we refuse: closes the sender with `code`. */
class Refusal extends Error {
	constructor(
		readonly code: number,
		message: string,
		readonly counter: keyof CollabCounters
	) {
		super(message);
	}
}

export interface RoomOptions {
	id: string;
	persistence: DocPersistence;
	limits: CollabLimits;
	counters: CollabCounters;
	log: CollabLogger;
	/** The last connection left (the room has compacted already). */
	onEmpty: (room: Room) => void;
	/** Storing an edit failed: the room closed everyone and must be dropped without compacting. */
	onFailed: (room: Room) => void;
}

export class Room {
	readonly id: string;
	readonly doc: Y.Doc;
	readonly awareness: awarenessProtocol.Awareness;
	readonly #options: RoomOptions;
	readonly #conns = new Map<CollabSocket, Connection>();
	/** Who is here: each connection sets only its own entry, capped and rate-limited (presence.ts). */
	readonly #presence: RoomPresence<Connection>;
	#sinceCompaction = 0;
	/** `#sinceCompaction` at which the next threshold compaction runs (pushed back after a failure). */
	#compactAt: number;
	#approxBytes = 0;
	#compactionQueued = false;
	#state: 'open' | 'failed' | 'closed' = 'open';

	/** Loads the stored document (synchronously); throws if the store cannot be read. */
	constructor(options: RoomOptions) {
		this.#options = options;
		this.id = options.id;
		this.#compactAt = options.limits.compactEvery;
		this.doc = new Y.Doc();
		const { replayed, skipped } = options.persistence.load(this.id, this.doc);
		if (skipped > 0) options.log.warn({ workflowId: this.id, skipped }, 'Skipped undecodable stored updates');
		this.#approxBytes = Y.encodeStateAsUpdate(this.doc).byteLength;
		// Loading replays the log; fold it into the snapshot now so the next load reads one blob.
		if (replayed + skipped > 0) this.#tryCompact();
		this.#presence = new RoomPresence<Connection>({
			doc: this.doc,
			limits: options.limits,
			counters: options.counters,
			onSpoof: () => options.log.warn({ workflowId: this.id }, 'Dropped presence for a client id another connection owns')
		});
		this.awareness = this.#presence.awareness;
		this.doc.on('update', this.#onDocUpdate);
		this.awareness.on('update', this.#onAwarenessUpdate);
	}

	/** Number of open connections. */
	get size(): number {
		return this.#conns.size;
	}

	/** Presence entries shown (at most one per connection). */
	get presenceEntries(): number {
		return this.#presence.size;
	}

	/** Adds a connection and starts the sync handshake (our step 1, then everyone's presence). */
	join(socket: CollabSocket, access: Access): void {
		if (this.#state !== 'open') {
			socket.close(COLLAB_CLOSE.GOING_AWAY, 'Room closing');
			return;
		}
		const conn = new Connection(socket, access, this.#options.limits);
		this.#conns.set(socket, conn);
		this.#presence.join(conn, access);
		const step1 = encoding.createEncoder();
		encoding.writeVarUint(step1, MESSAGE_SYNC);
		syncProtocol.writeSyncStep1(step1, this.doc);
		this.#send(conn, encoding.toUint8Array(step1));
		const states = this.awareness.getStates();
		if (states.size > 0) this.#send(conn, this.#awarenessMessage([...states.keys()]));
	}

	/** Handles one binary frame from `socket`. Never throws: bad input closes only that socket. */
	receive(socket: CollabSocket, data: Uint8Array): void {
		const conn = this.#conns.get(socket);
		if (!conn || conn.closed) return;
		if (!conn.budget.take()) {
			this.#options.counters.rateLimited++;
			this.#close(conn, COLLAB_CLOSE.RATE_LIMITED, 'Too many messages');
			return;
		}
		try {
			const decoder = decoding.createDecoder(data);
			const type = decoding.readVarUint(decoder);
			switch (type) {
				case MESSAGE_SYNC:
					this.#receiveSync(conn, decoder);
					break;
				case MESSAGE_AWARENESS: {
					const refusal = this.#presence.receive(conn, decoding.readVarUint8Array(decoder));
					if (refusal) throw new Refusal(refusal.code, refusal.reason, refusal.counter);
					break;
				}
				case MESSAGE_QUERY_AWARENESS:
					this.#send(conn, this.#awarenessMessage([...this.awareness.getStates().keys()]));
					break;
				default:
					throw new Refusal(COLLAB_CLOSE.UNSUPPORTED, `Unsupported message type ${type}`, 'unsupported');
			}
		} catch (error) {
			const refusal =
				error instanceof Refusal ? error : new Refusal(COLLAB_CLOSE.MALFORMED, 'Malformed message', 'malformed');
			this.#options.counters[refusal.counter]++;
			this.#options.log.warn(
				{ workflowId: this.id, code: refusal.code, error: error instanceof Error ? error.message : String(error) },
				'Collab frame refused'
			);
			this.#close(conn, refusal.code, refusal.message);
		}
	}

	/** Closes one connection on purpose (e.g. a text frame) and counts it. */
	refuse(socket: CollabSocket, code: number, reason: string, counter: keyof CollabCounters): void {
		const conn = this.#conns.get(socket);
		if (!conn || conn.closed) return;
		this.#options.counters[counter]++;
		this.#close(conn, code, reason);
	}

	/** The socket closed (from either side): forget it and clear its presence at once. */
	leave(socket: CollabSocket): void {
		const conn = this.#conns.get(socket);
		if (conn) this.#forget(conn);
	}

	/** Folds the update log into one snapshot (throws if the store refuses). */
	compact(): void {
		if (this.#state === 'failed') return;
		this.#options.persistence.compact(this.id, this.doc);
		this.#options.counters.compactions++;
		this.#sinceCompaction = 0;
		this.#compactAt = this.#options.limits.compactEvery;
		this.#approxBytes = Y.encodeStateAsUpdate(this.doc).byteLength;
	}

	/**
	 * `compact()` for socket, timer and microtask paths: never throws. Compaction is only an
	 * optimisation (the log still holds every edit, and appending goes on), so a failure (disk
	 * full, SQLITE_BUSY…) is logged and retried after another `compactEvery` updates or on leave.
	 */
	#tryCompact(): void {
		try {
			this.compact();
		} catch (error) {
			this.#compactAt = this.#sinceCompaction + this.#options.limits.compactEvery;
			this.#options.log.warn(
				{ workflowId: this.id, error: error instanceof Error ? error.message : String(error) },
				'Could not compact a document log (edits stay in the log)'
			);
		}
	}

	/** Persists, closes every connection with `code`, and releases the doc. */
	close(code: number = COLLAB_CLOSE.GOING_AWAY, reason = 'Server shutting down'): void {
		if (this.#state === 'closed') return;
		const wasOpen = this.#state === 'open';
		this.#state = 'closed';
		for (const conn of [...this.#conns.values()]) {
			conn.closed = true;
			this.#conns.delete(conn.socket);
			safeClose(conn.socket, code, reason);
		}
		try {
			if (wasOpen && this.#sinceCompaction > 0) this.#tryCompact();
		} finally {
			this.#release();
		}
	}

	#receiveSync(conn: Connection, decoder: decoding.Decoder): void {
		const type = decoding.readVarUint(decoder);
		if (type === syncProtocol.messageYjsSyncStep1) {
			const stateVector = decoding.readVarUint8Array(decoder);
			const reply = encoding.createEncoder();
			encoding.writeVarUint(reply, MESSAGE_SYNC);
			encoding.writeVarUint(reply, syncProtocol.messageYjsSyncStep2);
			encoding.writeVarUint8Array(reply, Y.encodeStateAsUpdate(this.doc, stateVector));
			this.#send(conn, encoding.toUint8Array(reply));
		} else if (type === syncProtocol.messageYjsSyncStep2 || type === syncProtocol.messageYjsUpdate) {
			this.#receiveUpdate(conn, decoding.readVarUint8Array(decoder));
		} else {
			throw new Refusal(COLLAB_CLOSE.MALFORMED, `Unknown sync message ${type}`, 'malformed');
		}
	}

	#receiveUpdate(conn: Connection, update: Uint8Array): void {
		// Decoding first (throws on garbage) means a malformed update never half-applies.
		const decoded = Y.decodeUpdate(update);
		if (decoded.structs.length === 0 && decoded.ds.clients.size === 0) return;
		if (conn.access === 'view') {
			conn.dropped++;
			this.#options.counters.droppedViewUpdates++;
			return;
		}
		const { maxDocBytes } = this.#options.limits;
		if (this.#approxBytes + update.byteLength > maxDocBytes) {
			this.#approxBytes = Y.encodeStateAsUpdate(this.doc).byteLength;
			if (this.#approxBytes + update.byteLength > maxDocBytes) {
				throw new Refusal(COLLAB_CLOSE.DOC_TOO_LARGE, 'Document size limit reached', 'refusedDocTooLarge');
			}
		}
		Y.applyUpdate(this.doc, update, conn);
	}

	readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
		if (this.#state !== 'open') return;
		try {
			this.#options.persistence.appendUpdate(this.id, update);
		} catch (error) {
			this.#fail(error);
			return;
		}
		this.#options.counters.updatesPersisted++;
		this.#approxBytes += update.byteLength;
		const message = encoding.createEncoder();
		encoding.writeVarUint(message, MESSAGE_SYNC);
		syncProtocol.writeUpdate(message, update);
		const bytes = encoding.toUint8Array(message);
		for (const conn of this.#conns.values()) if (conn !== origin) this.#send(conn, bytes);
		if (++this.#sinceCompaction >= this.#compactAt) this.#queueCompaction();
	};

	readonly #onAwarenessUpdate = (
		{ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }
	): void => {
		const changed = [...added, ...updated, ...removed];
		if (changed.length === 0) return;
		// Sent to the sender too: a lone client's own echo is what keeps the provider's
		// "no message for 30 s" watchdog from reconnecting.
		const bytes = this.#awarenessMessage(changed);
		for (const conn of this.#conns.values()) this.#send(conn, bytes);
	};

	#awarenessMessage(clients: number[]): Uint8Array {
		const encoder = encoding.createEncoder();
		encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
		encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients));
		return encoding.toUint8Array(encoder);
	}

	#send(conn: Connection, bytes: Uint8Array): void {
		if (conn.closed) return;
		if (conn.socket.bufferedAmount > this.#options.limits.maxBufferedBytes) {
			this.#options.counters.slowClients++;
			this.#close(conn, COLLAB_CLOSE.TRY_AGAIN, 'Client too slow');
			return;
		}
		try {
			conn.socket.send(bytes);
		} catch (error) {
			this.#options.log.warn({ workflowId: this.id, error: String(error) }, 'Collab send failed');
			this.#close(conn, COLLAB_CLOSE.INTERNAL, 'Send failed');
		}
	}

	#close(conn: Connection, code: number, reason: string): void {
		if (conn.closed) return;
		this.#forget(conn);
		safeClose(conn.socket, code, reason);
	}

	#forget(conn: Connection): void {
		conn.closed = true;
		if (!this.#conns.delete(conn.socket)) return;
		this.#presence.leave(conn);
		if (this.#conns.size === 0 && this.#state === 'open') {
			// A failed compaction must not skip `onEmpty`: the room would never be evicted.
			if (this.#sinceCompaction > 0) this.#tryCompact();
			this.#options.onEmpty(this);
		}
	}

	#queueCompaction(): void {
		if (this.#compactionQueued) return;
		this.#compactionQueued = true;
		queueMicrotask(() => {
			this.#compactionQueued = false;
			if (this.#state === 'open' && this.#sinceCompaction >= this.#compactAt) this.#tryCompact();
		});
	}

	/**
	 * Storing an edit failed, but the doc in memory already has it. Drop this copy: close everyone
	 * (1011), never compact it, and let the registry reload from disk. Clients still hold their
	 * edits and send them again on reconnect, so nothing acknowledged is lost and nothing unsaved
	 * is relayed.
	 */
	#fail(error: unknown): void {
		this.#state = 'failed';
		this.#options.counters.persistFailures++;
		this.#options.log.error({ workflowId: this.id, error: String(error) }, 'Could not persist a document update');
		for (const conn of [...this.#conns.values()]) {
			conn.closed = true;
			this.#conns.delete(conn.socket);
			safeClose(conn.socket, COLLAB_CLOSE.INTERNAL, 'Could not save the change');
		}
		this.#release();
		this.#options.onFailed(this);
	}

	#release(): void {
		this.doc.off('update', this.#onDocUpdate);
		this.awareness.off('update', this.#onAwarenessUpdate);
		this.#presence.destroy();
	}
}

function safeClose(socket: CollabSocket, code: number, reason: string): void {
	try {
		socket.close(code, reason);
	} catch {
		// already closed
	}
}
