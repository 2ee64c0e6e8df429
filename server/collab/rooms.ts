/**
 * The registry of loaded rooms: get-or-create by workflow id, unload a room `idleEvictMs` after its
 * last client left (it compacted when they left, and compacts again if edited since), and close
 * everything on shutdown. One room per workflow per process.
 *
 * Scaled out (`relay` set), a room subscribes to its bus channel *before* it loads from the store,
 * so every update is either in what it loads or delivered after (relay.ts); loading is therefore
 * asynchronous there. Loading is asynchronous in every mode anyway (the store may be PostgreSQL);
 * concurrent callers share one load, and a room reloaded right after its eviction waits until the
 * evicted copy has stored its last edits. While the bus is down no room is served: the
 * loaded ones close with 1013 (clients retry) and `get` rejects; once it is back, every process
 * re-reads its rooms from the store.
 */
import { COLLAB_CLOSE } from '../../src/lib/workflow/collab-close-codes';
import type { MessageBus } from '../scale/bus';
import type { CollabCounters, CollabLimits, CollabLogger } from './limits';
import type { DocPersistence } from './persistence';
import { decodeRelayFrame, encodeRelayFrame, newNodeId, RELOAD_CHANNEL, roomChannel, type RelayFrame, type RoomRelay } from './relay';
import { Room } from './room';

export interface RoomRegistryOptions {
	persistence: DocPersistence;
	limits: CollabLimits;
	counters: CollabCounters;
	log: CollabLogger;
	/** Every stored edit of a room (version history); see `RoomOptions.onEdit`. */
	onEdit?: (room: Room, author: string | null) => void;
	/** Scale-out: the bus to the other processes holding rooms. */
	bus?: MessageBus;
}

/** Thrown by `get` while the bus is down (scale-out). */
export class RelayUnavailableError extends Error {
	constructor() {
		super('Collaboration relay (Redis) unavailable');
		this.name = 'RelayUnavailableError';
	}
}

export class RoomRegistry {
	readonly #options: RoomRegistryOptions;
	readonly #rooms = new Map<string, Room>();
	readonly #evictions = new Map<string, ReturnType<typeof setTimeout>>();
	/** Scale-out: rooms still subscribing and loading. */
	readonly #opening = new Map<string, Promise<Room>>();
	/** Scale-out: each loaded room's bus subscription, to end when it unloads. */
	readonly #unsubscribe = new Map<Room, () => void>();
	readonly #nodeId = newNodeId();
	/** Embedded mode: rooms being read from the store. */
	readonly #loading = new Map<string, Promise<Room>>();
	/** Rooms closing (evicted), by workflow, whose last writes are still being stored: a reload waits for them. */
	readonly #closing = new Map<string, Promise<void>>();
	#busWasDown = false;
	#stopStatus: (() => void) | null = null;

	constructor(options: RoomRegistryOptions) {
		this.#options = options;
		const { bus } = options;
		if (!bus) return;
		void bus
			.subscribe(RELOAD_CHANNEL, () => void this.#resyncAll())
			.catch((error: unknown) => {
				options.log.error({ error: String(error) }, 'Could not subscribe to the collab reload channel');
			});
		this.#stopStatus = bus.onStatus((status) => {
			if (status === 'down') {
				this.#busWasDown = true;
				options.log.warn({ rooms: this.#rooms.size }, 'Collab relay (Redis) lost: closing rooms until it is back');
				void this.closeAll(COLLAB_CLOSE.TRY_AGAIN, 'Collaboration relay unavailable');
			} else if (this.#busWasDown) {
				this.#busWasDown = false;
				options.log.info({}, 'Collab relay (Redis) back: rooms everywhere re-read the store');
				bus.publish(RELOAD_CHANNEL, new Uint8Array(0));
			}
		});
	}

	/** True while rooms can be served (always in the embedded mode). */
	get available(): boolean {
		return this.#options.bus?.up ?? true;
	}

	/** The loaded room of `workflowId`, loading it from the store if needed (rejects on a bad store). */
	get(workflowId: string): Promise<Room> {
		const existing = this.#rooms.get(workflowId);
		if (existing) return Promise.resolve(existing);
		if (this.#options.bus) return this.#openRelayed(workflowId, this.#options.bus);
		const loading = this.#loading.get(workflowId);
		if (loading) return loading;
		const load = this.#stored(workflowId)
			.then(() => this.#create(workflowId))
			.then(
				(room) => {
					this.#loading.delete(workflowId);
					this.#rooms.set(workflowId, room);
					return room;
				},
				(error: unknown) => {
					this.#loading.delete(workflowId);
					throw error;
				}
			);
		this.#loading.set(workflowId, load);
		return load;
	}

	/** Like `get`, for a caller that will not join (a run snapshot): the room unloads when idle. */
	async getUnjoined(workflowId: string): Promise<Room> {
		const room = await this.get(workflowId);
		this.release(room);
		return room;
	}

	/** A connection is about to join: keep the room loaded. */
	async retain(workflowId: string): Promise<Room> {
		this.#cancelEviction(workflowId);
		const room = await this.get(workflowId);
		this.#cancelEviction(workflowId);
		return room;
	}

	/** A retained room nobody joined after all (the socket went away while it loaded): unload it when idle. */
	release(room: Room): void {
		if (room.size === 0) this.#scheduleEviction(room);
	}

	#cancelEviction(workflowId: string): void {
		const timer = this.#evictions.get(workflowId);
		if (timer) clearTimeout(timer);
		this.#evictions.delete(workflowId);
	}

	/** Resolves once an evicted copy of `workflowId` (if any) has stored its last edits. */
	#stored(workflowId: string): Promise<void> {
		return this.#closing.get(workflowId) ?? Promise.resolve();
	}

	#create(workflowId: string, relay?: RoomRelay): Promise<Room> {
		return Room.load({
			id: workflowId,
			...this.#options,
			relay,
			onEmpty: (r) => this.#scheduleEviction(r),
			onFailed: (r) => this.#drop(r)
		});
	}

	/** Subscribe, then load; frames that arrive while loading are applied once it is loaded. */
	#openRelayed(workflowId: string, bus: MessageBus): Promise<Room> {
		const pending = this.#opening.get(workflowId);
		if (pending) return pending;
		const opening = (async () => {
			if (!bus.up) throw new RelayUnavailableError();
			const channel = roomChannel(workflowId);
			const early: RelayFrame[] = [];
			let room: Room | null = null;
			const handler = (bytes: Uint8Array) => {
				const frame = decodeRelayFrame(bytes);
				if (!frame || frame.from === this.#nodeId) return;
				if (room) room.applyRemote(frame.kind, frame.payload);
				else early.push(frame);
			};
			await bus.subscribe(channel, handler);
			const unsubscribe = () => bus.unsubscribe(channel, handler);
			try {
				if (!bus.up) throw new RelayUnavailableError();
				await this.#stored(workflowId);
				room = await this.#create(workflowId, {
					publish: (kind, payload) => bus.publish(channel, encodeRelayFrame(this.#nodeId, kind, payload))
				});
			} catch (error) {
				unsubscribe();
				throw error;
			}
			for (const frame of early) room.applyRemote(frame.kind, frame.payload);
			this.#rooms.set(workflowId, room);
			this.#unsubscribe.set(room, unsubscribe);
			room.queryRemotePresence();
			return room;
		})();
		this.#opening.set(workflowId, opening);
		const done = () => {
			if (this.#opening.get(workflowId) === opening) this.#opening.delete(workflowId);
		};
		opening.then(done, done);
		return opening;
	}

	/** Every loaded room catches up with the store (the bus was away somewhere). */
	async #resyncAll(): Promise<void> {
		for (const room of [...this.#rooms.values()]) {
			try {
				await room.resync();
			} catch (error) {
				this.#options.log.error({ workflowId: room.id, error: String(error) }, 'Could not re-read a room from the store');
			}
		}
	}

	#unload(room: Room): void {
		this.#unsubscribe.get(room)?.();
		this.#unsubscribe.delete(room);
	}

	/** Loaded rooms (for stats). */
	rooms(): IterableIterator<Room> {
		return this.#rooms.values();
	}

	/** Stores every room's last edits and closes every connection with `code`; resolves once stored. */
	async closeAll(code?: number, reason?: string): Promise<void> {
		if (code === undefined || code === COLLAB_CLOSE.GOING_AWAY) {
			// Shutting down (the bus only goes down for a moment): stop following it.
			this.#stopStatus?.();
			this.#stopStatus = null;
		}
		for (const timer of this.#evictions.values()) clearTimeout(timer);
		this.#evictions.clear();
		await Promise.allSettled([...this.#loading.values(), ...this.#opening.values()]);
		// Room.close never rejects (a failed compaction is logged by the room; the log keeps the edits).
		const closing = [...this.#rooms.values()].map((room) => {
			const closed = room.close(code, reason);
			this.#unload(room);
			return closed;
		});
		this.#rooms.clear();
		await Promise.all([...closing, ...this.#closing.values()]);
	}

	#scheduleEviction(room: Room): void {
		const existing = this.#evictions.get(room.id);
		if (existing) clearTimeout(existing);
		const timer = setTimeout(() => {
			this.#evictions.delete(room.id);
			if (room.size > 0 || this.#rooms.get(room.id) !== room) return;
			this.#rooms.delete(room.id);
			// Room.close never rejects (a failed compaction is logged by the room; the log keeps the edits).
			const closed = room.close().finally(() => {
				if (this.#closing.get(room.id) === closed) this.#closing.delete(room.id);
			});
			this.#closing.set(room.id, closed);
			this.#unload(room);
		}, this.#options.limits.idleEvictMs);
		timer.unref();
		this.#evictions.set(room.id, timer);
	}

	#drop(room: Room): void {
		if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id);
		this.#unload(room);
		const timer = this.#evictions.get(room.id);
		if (timer) clearTimeout(timer);
		this.#evictions.delete(room.id);
	}
}
