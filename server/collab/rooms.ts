/**
 * The registry of loaded rooms: get-or-create by workflow id, unload a room `idleEvictMs` after its
 * last client left (it compacted when they left, and compacts again if edited since), and close
 * everything on shutdown. One room per workflow per process.
 *
 * Scaled out (`relay` set), a room subscribes to its bus channel *before* it loads from the store,
 * so every update is either in what it loads or delivered after (relay.ts); loading is therefore
 * asynchronous there (`get` returns a promise). While the bus is down no room is served: the
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
				this.closeAll(COLLAB_CLOSE.TRY_AGAIN, 'Collaboration relay unavailable');
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

	/**
	 * The loaded room of `workflowId`, loading it from the store if needed (may throw on a bad
	 * store). Synchronous in the embedded mode; a promise when scaled out.
	 */
	get(workflowId: string): Room | Promise<Room> {
		const existing = this.#rooms.get(workflowId);
		if (existing) return existing;
		if (this.#options.bus) return this.#openRelayed(workflowId, this.#options.bus);
		const room = this.#create(workflowId);
		this.#rooms.set(workflowId, room);
		return room;
	}

	/** Like `get`, for a caller that will not join (a run snapshot): the room unloads when idle. */
	async getUnjoined(workflowId: string): Promise<Room> {
		const room = await this.get(workflowId);
		if (room.size === 0) this.#scheduleEviction(room);
		return room;
	}

	/** A connection is about to join: keep the room loaded. */
	retain(workflowId: string): Room | Promise<Room> {
		const timer = this.#evictions.get(workflowId);
		if (timer) clearTimeout(timer);
		this.#evictions.delete(workflowId);
		return this.get(workflowId);
	}

	#create(workflowId: string, relay?: RoomRelay): Room {
		return new Room({
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
				room = this.#create(workflowId, {
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

	/** Persists every room and closes every connection with `code`. */
	closeAll(code?: number, reason?: string): void {
		if (code === undefined || code === COLLAB_CLOSE.GOING_AWAY) {
			// Shutting down (the bus only goes down for a moment): stop following it.
			this.#stopStatus?.();
			this.#stopStatus = null;
		}
		for (const timer of this.#evictions.values()) clearTimeout(timer);
		this.#evictions.clear();
		for (const room of this.#rooms.values()) {
			try {
				room.close(code, reason);
			} catch (error) {
				this.#options.log.error({ workflowId: room.id, error: String(error) }, 'Could not persist a room on close');
			}
			this.#unload(room);
		}
		this.#rooms.clear();
	}

	#scheduleEviction(room: Room): void {
		const existing = this.#evictions.get(room.id);
		if (existing) clearTimeout(existing);
		const timer = setTimeout(() => {
			this.#evictions.delete(room.id);
			if (room.size > 0 || this.#rooms.get(room.id) !== room) return;
			this.#rooms.delete(room.id);
			try {
				room.close();
			} catch (error) {
				this.#options.log.error({ workflowId: room.id, error: String(error) }, 'Could not persist an idle room');
			}
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
