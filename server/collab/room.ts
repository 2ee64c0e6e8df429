/**
 * A Room owns one workflow's Y.Doc, its connections and their awareness (presence), and speaks
 * the y-websocket protocol with them: sync step 1/2 and updates (y-protocols/sync), awareness
 * (y-protocols/awareness) and awareness queries. Sockets sit behind `CollabSocket`, so the room
 * knows nothing of `ws` and tests could drive it with fakes.
 *
 * Order of effects for an edit: queue → validate → apply to the doc → append to the log
 * (synchronous, durable) → relay to the others (and, scaled out, to the other processes through
 * `relay`, which apply it without storing it again: relay.ts). Nobody sees an edit the server has
 * not stored.
 *
 * Flow control, not disconnection: every frame goes through its connection's inbox and is handled
 * in turns, at most `messagesPerSecond` (after a burst of `messageBurst`) and `TURN_FRAMES` or
 * `TURN_MS` a turn, so one fast client cannot hold the event loop. Consecutive document updates of
 * a turn are applied in one transaction (one append, one relay). A client sending faster waits: from
 * `inboxPauseFrames`/`inboxPauseBytes` its socket is no longer read, and TCP slows it down. Only an
 * inbox past `inboxMaxFrames`/`inboxMaxBytes`, which flow control keeps a client from reaching, is a
 * flood (close 4529, which clients retry).
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
import { Inbox } from './inbox';
import { createMessageBudget, type MessageBudget } from './rate-limit';
import { RELAY_AWARENESS, RELAY_QUERY_AWARENESS, RELAY_UPDATE, REMOTE, type RelayKind, type RoomRelay } from './relay';

/** Times a sync answer waits behind appends still under way before it goes anyway (see `#answerSyncStep1`). */
const SYNC_WAITS = 20;

export type { Access } from './presence';

/**
 * Most frames one connection gets handled in one turn of the event loop: enough to merge a burst
 * into few appends, few enough (a few ms) that other rooms are not kept waiting.
 */
export const TURN_FRAMES = 128;
/**
 * …and at most this long deciding which of them to take (their apply and append follow): a turn
 * ends early when its frames cost more than usual (code the JIT has not compiled yet, a busy
 * machine), so another room's edit waits for at most a few ms of this one's.
 */
export const TURN_MS = 4;

/** y-websocket top-level message types. */
export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;
/**
 * Leadflow's own message (issue 13), outside y-websocket's 0–3: "stored up to here". A client opts
 * in by sending `[MESSAGE_SAVED, 1]` (exactly that; anything else closes it with 1007). From then
 * on, after every turn that stored its edits, it gets `[MESSAGE_SAVED, n]`: the room has stored (in
 * the log, before relaying) the document content of the first n sync step 2 / update frames this
 * connection sent. The client counts its own frames and so knows which of its edits are safe.
 * Stock clients never opt in and never see it. Codec: src/lib/collab/saved-message.ts.
 */
export const MESSAGE_SAVED = 100;

/** The little a room needs from a socket. */
export interface CollabSocket {
	send(data: Uint8Array): void;
	close(code: number, reason: string): void;
	/** Bytes queued but not yet written: how far behind this client is. */
	readonly bufferedAmount: number;
	/** Stop reading the peer's frames (TCP then slows it); a few already read may still arrive. */
	pause(): void;
	resume(): void;
}

class Connection {
	closed = false;
	/** Document updates of a view-only connection: dropped. */
	dropped = 0;
	/** Reading the socket is paused: its inbox is full enough. */
	paused = false;
	/** Opted in to MESSAGE_SAVED; `storedFrames`: its update frames stored so far (issue 13). */
	wantsAcks = false;
	storedFrames = 0;
	/** Cancels the scheduled turn, if any. */
	cancelTurn: (() => void) | null = null;
	readonly budget: MessageBudget;
	readonly inbox: Inbox;
	constructor(
		readonly socket: CollabSocket,
		readonly access: Access,
		limits: CollabLimits
	) {
		this.budget = createMessageBudget({ perSecond: limits.messagesPerSecond, burst: limits.messageBurst });
		this.inbox = new Inbox({
			pauseFrames: limits.inboxPauseFrames,
			pauseBytes: limits.inboxPauseBytes,
			maxFrames: limits.inboxMaxFrames,
			maxBytes: limits.inboxMaxBytes
		});
	}

	/** Closed: nothing more is handled (what waits in the inbox is dropped; the client resends it on reconnect). */
	stop(): void {
		this.closed = true;
		this.cancelTurn?.();
		this.cancelTurn = null;
		this.inbox.clear();
		// Read again, or the peer's answer to our close frame would wait unread until `ws` times out.
		if (this.paused) {
			this.paused = false;
			this.socket.resume();
		}
	}
}

/** Document updates admitted in a turn and not applied yet: applied as one. */
interface Batch {
	updates: Uint8Array[];
	bytes: number;
	/** Update frames of an editor handled in this turn (stored once the batch is applied). */
	frames: number;
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
	/**
	 * An edit was stored and relayed (version history, issue 13): `author` is the presence name of
	 * the connection it came from, null for the server's own edits. Must not throw.
	 */
	onEdit?: (room: Room, author: string | null) => void;
	/** Scale-out: the other processes holding this room (relay.ts); absent in the embedded mode. */
	relay?: RoomRelay;
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
	/**
	 * The store's work, in order: each update's append then its relay, and compactions. An update
	 * reaches other clients only once it is stored, and updates are relayed in the order they were made.
	 */
	#writes: Promise<void> = Promise.resolve();

	/**
	 * Loads the stored document, then builds the room around it; rejects if the store cannot be read.
	 * @example const room = await Room.load({ id, persistence, limits, counters, log, onEmpty, onFailed })
	 */
	static async load(options: RoomOptions): Promise<Room> {
		const doc = new Y.Doc();
		const loaded = await options.persistence.load(options.id, doc);
		return new Room(options, doc, loaded);
	}

	/** A room over `doc` (already loaded, see `Room.load`; a fresh empty one when absent). */
	constructor(options: RoomOptions, doc: Y.Doc = new Y.Doc(), loaded = { replayed: 0, skipped: 0 }) {
		this.#options = options;
		this.id = options.id;
		this.#compactAt = options.limits.compactEvery;
		this.doc = doc;
		const { replayed, skipped } = loaded;
		if (skipped > 0) options.log.warn({ workflowId: this.id, skipped }, 'Skipped undecodable stored updates');
		this.#approxBytes = Y.encodeStateAsUpdate(this.doc).byteLength;
		// Loading replays the log; fold it into the snapshot now so the next load reads one blob.
		if (replayed + skipped > 0) void this.#tryCompact();
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

	/**
	 * Resolves once every update made so far is stored (and relayed) and every compaction asked for
	 * has run: the store's writes happen one after another, in the order the edits were made.
	 */
	settled(): Promise<void> {
		return this.#writes;
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

	/**
	 * Takes one binary frame from `socket`: it is handled in the connection's next turn, in order.
	 * Never throws: bad input closes only that socket.
	 */
	receive(socket: CollabSocket, data: Uint8Array): void {
		const conn = this.#conns.get(socket);
		if (!conn || conn.closed) return;
		const state = conn.inbox.push(data);
		if (conn.budget.available() < conn.inbox.length) this.#options.counters.throttledFrames++;
		if (state === 'overflow') {
			this.#options.counters.floods++;
			this.#options.log.warn(
				{ workflowId: this.id, frames: conn.inbox.length, bytes: conn.inbox.bytes },
				'Collab inbox flooded past its bound; closing the sender'
			);
			this.#close(conn, COLLAB_CLOSE.FLOODED, 'Too many messages at once');
			return;
		}
		if (state === 'pause' && !conn.paused) {
			conn.paused = true;
			this.#options.counters.pausedReads++;
			conn.socket.pause();
		}
		this.#scheduleTurn(conn);
	}

	/** The next turn of `conn`: now (next tick) if its budget covers what waits, else once it does. */
	#scheduleTurn(conn: Connection): void {
		if (conn.cancelTurn !== null || conn.closed || conn.inbox.length === 0) return;
		const wait = conn.budget.waitFor(Math.min(conn.inbox.length, TURN_FRAMES));
		const run = () => {
			conn.cancelTurn = null;
			this.#turn(conn);
		};
		if (wait === 0) {
			const immediate = setImmediate(run);
			conn.cancelTurn = () => clearImmediate(immediate);
		} else {
			const timer = setTimeout(run, Math.ceil(wait));
			conn.cancelTurn = () => clearTimeout(timer);
		}
	}

	/** Handles what the budget allows of `conn`'s inbox, reads its socket again once it is low. */
	#turn(conn: Connection): void {
		if (conn.closed || this.#state !== 'open') return;
		try {
			const count = Math.min(conn.inbox.length, TURN_FRAMES, conn.budget.available());
			if (count > 0) {
				const handled = this.#handle(conn, conn.inbox.peek(count), false, performance.now() + TURN_MS);
				// What was not reached stays queued for the next turn, its budget unspent.
				conn.inbox.drop(handled);
				conn.budget.take(handled);
			}
			if (conn.closed) return;
			if (conn.paused && conn.inbox.canResume) {
				conn.paused = false;
				conn.socket.resume();
			}
			this.#scheduleTurn(conn);
		} catch (error) {
			// Not meant to happen (`#handle` refuses bad input itself); a timer must not throw.
			this.#options.log.error({ workflowId: this.id, error: String(error) }, 'Collab turn failed');
			this.#close(conn, COLLAB_CLOSE.INTERNAL, 'Internal error');
		}
	}

	/**
	 * `conn` is leaving, or the room closes: applies the document updates it has queued, whatever
	 * its pace (they are someone's edits). The rest would only be answered to a closed socket.
	 */
	#flush(conn: Connection): void {
		conn.cancelTurn?.();
		conn.cancelTurn = null;
		if (conn.inbox.length > 0 && this.#state === 'open') this.#handle(conn, conn.inbox.take(conn.inbox.length), true);
	}

	/**
	 * Handles `frames` of `conn` in order (only their document updates if `updatesOnly`), at least
	 * one and no more once `deadline` (performance.now) has passed; returns how many it took.
	 * Consecutive updates are applied as one transaction. Never throws: a bad frame closes `conn`,
	 * after the valid updates before it are applied.
	 */
	#handle(conn: Connection, frames: Uint8Array[], updatesOnly = false, deadline = Infinity): number {
		const batch: Batch = { updates: [], bytes: 0, frames: 0 };
		let failure: unknown = null;
		let handled = 0;
		for (const data of frames) {
			if (conn.closed || (handled > 0 && performance.now() >= deadline)) break;
			handled++;
			try {
				this.#handleFrame(conn, data, batch, updatesOnly);
			} catch (error) {
				failure = error;
				break;
			}
		}
		try {
			this.#applyBatch(conn, batch);
		} catch (error) {
			failure ??= error;
		}
		if (failure === null && batch.frames > 0) {
			// Acknowledged once stored: the appends of these frames are queued on #writes (in order)
			// by the applies above, so the ack follows them — never before, and never if one failed.
			const frames = batch.frames;
			this.#writes = this.#writes.then(() => {
				if (this.#state === 'failed') return;
				conn.storedFrames += frames;
				if (conn.wantsAcks) this.#sendSaved(conn);
			});
		}
		if (failure === null) return handled;
		const refusal = failure instanceof Refusal ? failure : new Refusal(COLLAB_CLOSE.MALFORMED, 'Malformed message', 'malformed');
		this.#options.counters[refusal.counter]++;
		this.#options.log.warn(
			{ workflowId: this.id, code: refusal.code, error: failure instanceof Error ? failure.message : String(failure) },
			'Collab frame refused'
		);
		this.#close(conn, refusal.code, refusal.message);
		return handled;
	}

	#handleFrame(conn: Connection, data: Uint8Array, batch: Batch, updatesOnly: boolean): void {
		const decoder = decoding.createDecoder(data);
		const type = decoding.readVarUint(decoder);
		if (type === MESSAGE_SYNC) {
			const sync = decoding.readVarUint(decoder);
			if (sync === syncProtocol.messageYjsSyncStep2 || sync === syncProtocol.messageYjsUpdate) {
				this.#admitUpdate(conn, decoding.readVarUint8Array(decoder), batch);
				if (conn.access === 'edit') batch.frames++;
				return;
			}
			if (updatesOnly) return;
			// Anything else is answered after the edits sent before it.
			this.#applyBatch(conn, batch);
			if (sync !== syncProtocol.messageYjsSyncStep1) {
				throw new Refusal(COLLAB_CLOSE.MALFORMED, `Unknown sync message ${sync}`, 'malformed');
			}
			this.#answerSyncStep1(conn, decoding.readVarUint8Array(decoder));
			return;
		}
		if (updatesOnly) return;
		this.#applyBatch(conn, batch);
		switch (type) {
			case MESSAGE_AWARENESS: {
				const refusal = this.#presence.receive(conn, decoding.readVarUint8Array(decoder));
				if (refusal) throw new Refusal(refusal.code, refusal.reason, refusal.counter);
				break;
			}
			case MESSAGE_QUERY_AWARENESS:
				this.#send(conn, this.#awarenessMessage([...this.awareness.getStates().keys()]));
				break;
			case MESSAGE_SAVED:
				if (decoding.readVarUint(decoder) !== 1 || decoding.hasContent(decoder)) {
					throw new Refusal(COLLAB_CLOSE.MALFORMED, 'Malformed acknowledgement request', 'malformed');
				}
				conn.wantsAcks = true;
				this.#sendSaved(conn);
				break;
			default:
				throw new Refusal(COLLAB_CLOSE.UNSUPPORTED, `Unsupported message type ${type}`, 'unsupported');
		}
	}

	/** Closes one connection on purpose (e.g. a text frame) and counts it. */
	refuse(socket: CollabSocket, code: number, reason: string, counter: keyof CollabCounters): void {
		const conn = this.#conns.get(socket);
		if (!conn || conn.closed) return;
		this.#options.counters[counter]++;
		this.#close(conn, code, reason);
	}

	/**
	 * The socket closed (from either side): apply what it sent before closing (edits a person made),
	 * then forget it and clear its presence at once.
	 */
	leave(socket: CollabSocket): void {
		const conn = this.#conns.get(socket);
		if (!conn) return;
		if (!conn.closed) this.#flush(conn);
		this.#forget(conn);
	}

	/** Folds the update log into one snapshot, after the writes queued before it (rejects if the store refuses). */
	compact(): Promise<void> {
		const run = this.#writes.then(() => this.#compactNow());
		this.#writes = run.catch(() => {});
		return run;
	}

	async #compactNow(): Promise<void> {
		if (this.#state === 'failed') return;
		const since = this.#sinceCompaction;
		await this.#options.persistence.compact(this.id, this.doc);
		this.#options.counters.compactions++;
		// Updates stored while the snapshot was written count toward the next one.
		this.#sinceCompaction = Math.max(0, this.#sinceCompaction - since);
		this.#compactAt = this.#options.limits.compactEvery;
		this.#approxBytes = Y.encodeStateAsUpdate(this.doc).byteLength;
	}

	/**
	 * `compact()` for socket, timer and microtask paths: never rejects. Compaction is only an
	 * optimisation (the log still holds every edit, and appending goes on), so a failure (disk
	 * full, SQLITE_BUSY, a lost connection…) is logged and retried after another `compactEvery`
	 * updates or on leave.
	 */
	#tryCompact(): Promise<void> {
		return this.compact().catch((error: unknown) => {
			this.#compactAt = this.#sinceCompaction + this.#options.limits.compactEvery;
			this.#options.log.warn(
				{ workflowId: this.id, error: error instanceof Error ? error.message : String(error) },
				'Could not compact a document log (edits stay in the log)'
			);
		});
	}

	/**
	 * Closes every connection with `code`, stores what they had sent, compacts, and releases the
	 * doc; resolves once the store has everything (never rejects).
	 */
	close(code: number = COLLAB_CLOSE.GOING_AWAY, reason = 'Server shutting down'): Promise<void> {
		if (this.#state === 'closed') return this.#writes;
		// Frames already received and waiting their turn are edits too: store them before closing.
		for (const conn of [...this.#conns.values()]) if (!conn.closed) this.#flush(conn);
		const wasOpen = this.#state === 'open';
		this.#state = 'closed';
		for (const conn of [...this.#conns.values()]) {
			conn.stop();
			this.#conns.delete(conn.socket);
			safeClose(conn.socket, code, reason);
		}
		// Scaled out: the other processes show our people until told they left.
		const mine = this.#options.relay ? this.#presence.ownedIds() : [];
		if (mine.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, mine, 'room closed');
		this.#release();
		if (wasOpen && this.#sinceCompaction + this.#pendingAppends > 0) void this.#tryCompact();
		return this.#writes;
	}

	/** Checks one update and adds it to `batch` (or drops it: empty, or from a view link). */
	#admitUpdate(conn: Connection, update: Uint8Array, batch: Batch): void {
		// Decoding first (throws on garbage) means a malformed update never half-applies.
		const decoded = Y.decodeUpdate(update);
		if (decoded.structs.length === 0 && decoded.ds.clients.size === 0) return;
		if (conn.access === 'view') {
			conn.dropped++;
			this.#options.counters.droppedViewUpdates++;
			return;
		}
		const { maxDocBytes } = this.#options.limits;
		if (this.#approxBytes + batch.bytes + update.byteLength > maxDocBytes) {
			// Apply what came before, then measure exactly: only this update is refused.
			this.#applyBatch(conn, batch);
			this.#approxBytes = Y.encodeStateAsUpdate(this.doc).byteLength;
			if (this.#approxBytes + update.byteLength > maxDocBytes) {
				throw new Refusal(COLLAB_CLOSE.DOC_TOO_LARGE, 'Document size limit reached', 'refusedDocTooLarge');
			}
		}
		batch.updates.push(update);
		batch.bytes += update.byteLength;
	}

	/**
	 * Answers a sync step 1 with what `conn` lacks — once the edits applied to the doc are stored:
	 * a joiner, like everyone else, is sent only stored edits (the doc may hold some whose append is
	 * still under way). While appends keep coming, the answer waits behind them at most
	 * `SYNC_WAITS` times, then goes (a flood must not keep a joiner out; what it gets is being stored).
	 */
	#answerSyncStep1(conn: Connection, stateVector: Uint8Array, waited = 0): void {
		if (this.#state !== 'open' || conn.closed) return;
		if (this.#pendingAppends > 0 && waited < SYNC_WAITS) {
			void this.#writes.then(() => this.#answerSyncStep1(conn, stateVector, waited + 1));
			return;
		}
		const reply = encoding.createEncoder();
		encoding.writeVarUint(reply, MESSAGE_SYNC);
		encoding.writeVarUint(reply, syncProtocol.messageYjsSyncStep2);
		encoding.writeVarUint8Array(reply, Y.encodeStateAsUpdate(this.doc, stateVector));
		this.#send(conn, encoding.toUint8Array(reply));
	}

	/** Tells `conn` how many of its update frames are stored (they were appended before this). */
	#sendSaved(conn: Connection): void {
		if (this.#state !== 'open' || conn.closed) return;
		const message = encoding.createEncoder();
		encoding.writeVarUint(message, MESSAGE_SAVED);
		encoding.writeVarUint(message, conn.storedFrames);
		this.#send(conn, encoding.toUint8Array(message));
	}

	/**
	 * Applies the admitted updates as one (one append, one relay): in one Yjs transaction, whose
	 * single 'update' event carries them all. Cheaper than `Y.mergeUpdates` first, which decodes
	 * every update once more and, until the JIT has warmed to it, costs tens of ms a turn.
	 */
	#applyBatch(conn: Connection, batch: Batch): void {
		if (batch.updates.length === 0) return;
		const updates = batch.updates;
		batch.updates = [];
		batch.bytes = 0;
		if (this.#state !== 'open') return;
		if (updates.length === 1) {
			Y.applyUpdate(this.doc, updates[0], conn);
			return;
		}
		Y.transact(
			this.doc,
			() => {
				for (const update of updates) Y.applyUpdate(this.doc, update, conn);
			},
			conn,
			false
		);
	}

	/** Updates applied to the doc whose append has not finished yet. */
	#pendingAppends = 0;

	readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
		if (this.#state !== 'open') return;
		if (origin === REMOTE) {
			// Stored by the process that received it: only our clients need it.
			this.#approxBytes += update.byteLength;
			this.#sendAll(syncUpdateMessage(update), null);
			return;
		}
		this.#approxBytes += update.byteLength;
		this.#pendingAppends++;
		// Who made it, now: the connection may be gone once the update is stored.
		const author = origin instanceof Connection ? this.#presence.nameOf(origin) : null;
		this.#writes = this.#writes.then(async () => {
			if (this.#state === 'failed') return;
			try {
				await this.#options.persistence.appendUpdate(this.id, update);
			} catch (error) {
				this.#fail(error);
				return;
			} finally {
				this.#pendingAppends--;
			}
			this.#options.counters.updatesPersisted++;
			// Stored: the other processes first (their hop through Redis overlaps our sends; also when
			// this room is closing, they still hold theirs), then ours.
			this.#options.relay?.publish(RELAY_UPDATE, update);
			if (this.#state === 'open') this.#sendAll(syncUpdateMessage(update), origin);
			if (++this.#sinceCompaction >= this.#compactAt && this.#state === 'open') this.#queueCompaction();
			this.#options.onEdit?.(this, author);
		});
	};

	readonly #onAwarenessUpdate = (
		{ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
		origin: unknown
	): void => {
		const changed = [...added, ...updated, ...removed];
		if (changed.length === 0) return;
		// Sent to the sender too: a lone client's own echo is what keeps the provider's
		// "no message for 30 s" watchdog from reconnecting.
		const bytes = this.#awarenessMessage(changed);
		for (const conn of this.#conns.values()) this.#send(conn, bytes);
		// What this process decided about its own connections; every process times out stale
		// entries by itself, so 'timeout' removals are not news to the others.
		if (origin !== REMOTE && origin !== 'timeout') {
			this.#options.relay?.publish(RELAY_AWARENESS, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed));
		}
	};

	/**
	 * A frame another process's room published (relay.ts). Never throws: a payload that does not
	 * decode is logged and dropped (it came from a peer of ours, not from a client).
	 */
	applyRemote(kind: RelayKind, payload: Uint8Array): void {
		if (this.#state !== 'open') return;
		try {
			if (kind === RELAY_UPDATE) Y.applyUpdate(this.doc, payload, REMOTE);
			else if (kind === RELAY_AWARENESS) awarenessProtocol.applyAwarenessUpdate(this.awareness, payload, REMOTE);
			else if (kind === RELAY_QUERY_AWARENESS) {
				const mine = this.#presence.ownedIds();
				if (mine.length > 0)
					this.#options.relay?.publish(RELAY_AWARENESS, awarenessProtocol.encodeAwarenessUpdate(this.awareness, mine));
			}
		} catch (error) {
			this.#options.log.warn({ workflowId: this.id, kind, error: String(error) }, 'Dropped an undecodable relayed collab frame');
		}
	}

	/** Asks the other processes for the presence they hold (a room just opened here). */
	queryRemotePresence(): void {
		this.#options.relay?.publish(RELAY_QUERY_AWARENESS, new Uint8Array(0));
	}

	/**
	 * Catches up with the store (the relay was away and may have missed updates): what the store
	 * holds beyond this doc is applied as from another process — relayed to our clients, not
	 * stored again. Throws if the store cannot be read.
	 */
	async resync(): Promise<void> {
		if (this.#state !== 'open') return;
		const stored = new Y.Doc();
		await this.#options.persistence.load(this.id, stored);
		if (this.#state !== 'open') return;
		Y.applyUpdate(this.doc, Y.encodeStateAsUpdate(stored, Y.encodeStateVector(this.doc)), REMOTE);
		stored.destroy();
	}

	#sendAll(bytes: Uint8Array, except: unknown): void {
		for (const conn of this.#conns.values()) if (conn !== except) this.#send(conn, bytes);
	}

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
		conn.stop();
		if (!this.#conns.delete(conn.socket)) return;
		this.#presence.leave(conn);
		if (this.#conns.size === 0 && this.#state === 'open') {
			// A failed compaction must not skip `onEmpty`: the room would never be evicted.
			if (this.#sinceCompaction + this.#pendingAppends > 0) void this.#tryCompact();
			this.#options.onEmpty(this);
		}
	}

	#queueCompaction(): void {
		if (this.#compactionQueued) return;
		this.#compactionQueued = true;
		queueMicrotask(() => {
			this.#compactionQueued = false;
			if (this.#state === 'open' && this.#sinceCompaction >= this.#compactAt) void this.#tryCompact();
		});
	}

	/**
	 * Storing an edit failed, but the doc in memory already has it. Drop this copy: close everyone
	 * (1011), never compact it, and let the registry reload from disk. Clients still hold their
	 * edits and send them again on reconnect, so nothing acknowledged is lost and nothing unsaved
	 * is relayed.
	 */
	#fail(error: unknown): void {
		if (this.#state === 'failed') return;
		const wasOpen = this.#state === 'open';
		this.#state = 'failed';
		this.#options.counters.persistFailures++;
		this.#options.log.error({ workflowId: this.id, error: String(error) }, 'Could not persist a document update');
		for (const conn of [...this.#conns.values()]) {
			conn.stop();
			this.#conns.delete(conn.socket);
			safeClose(conn.socket, COLLAB_CLOSE.INTERNAL, 'Could not save the change');
		}
		if (wasOpen) this.#release();
		this.#options.onFailed(this);
	}

	#release(): void {
		this.doc.off('update', this.#onDocUpdate);
		this.awareness.off('update', this.#onAwarenessUpdate);
		this.#presence.destroy();
	}
}

function syncUpdateMessage(update: Uint8Array): Uint8Array {
	const message = encoding.createEncoder();
	encoding.writeVarUint(message, MESSAGE_SYNC);
	syncProtocol.writeUpdate(message, update);
	return encoding.toUint8Array(message);
}

function safeClose(socket: CollabSocket, code: number, reason: string): void {
	try {
		socket.close(code, reason);
	} catch {
		// already closed
	}
}
