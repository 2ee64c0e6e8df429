/**
 * The registry of loaded rooms: get-or-create by workflow id, unload a room `idleEvictMs` after its
 * last client left (it compacted when they left, and compacts again if edited since), and close
 * everything on shutdown. One room per workflow per process, so one writer per document log.
 */
import type { CollabCounters, CollabLimits, CollabLogger } from './limits';
import type { DocPersistence } from './persistence';
import { Room } from './room';

export interface RoomRegistryOptions {
	persistence: DocPersistence;
	limits: CollabLimits;
	counters: CollabCounters;
	log: CollabLogger;
	/** Every stored edit of a room (version history); see `RoomOptions.onEdit`. */
	onEdit?: (room: Room, author: string | null) => void;
}

export class RoomRegistry {
	readonly #options: RoomRegistryOptions;
	readonly #rooms = new Map<string, Room>();
	readonly #evictions = new Map<string, ReturnType<typeof setTimeout>>();

	constructor(options: RoomRegistryOptions) {
		this.#options = options;
	}

	/** The loaded room of `workflowId`, loading it from the store if needed (may throw on a bad store). */
	get(workflowId: string): Room {
		const existing = this.#rooms.get(workflowId);
		if (existing) return existing;
		const room = new Room({
			id: workflowId,
			...this.#options,
			onEmpty: (r) => this.#scheduleEviction(r),
			onFailed: (r) => this.#drop(r)
		});
		this.#rooms.set(workflowId, room);
		return room;
	}

	/** Like `get`, for a caller that will not join (a run snapshot): the room unloads when idle. */
	getUnjoined(workflowId: string): Room {
		const room = this.get(workflowId);
		if (room.size === 0) this.#scheduleEviction(room);
		return room;
	}

	/** A connection is about to join: keep the room loaded. */
	retain(workflowId: string): Room {
		const timer = this.#evictions.get(workflowId);
		if (timer) clearTimeout(timer);
		this.#evictions.delete(workflowId);
		return this.get(workflowId);
	}

	/** Loaded rooms (for stats). */
	rooms(): IterableIterator<Room> {
		return this.#rooms.values();
	}

	/** Persists every room and closes every connection with `code`. */
	closeAll(code?: number, reason?: string): void {
		for (const timer of this.#evictions.values()) clearTimeout(timer);
		this.#evictions.clear();
		for (const room of this.#rooms.values()) {
			try {
				room.close(code, reason);
			} catch (error) {
				this.#options.log.error({ workflowId: room.id, error: String(error) }, 'Could not persist a room on close');
			}
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
		}, this.#options.limits.idleEvictMs);
		timer.unref();
		this.#evictions.set(room.id, timer);
	}

	#drop(room: Room): void {
		if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id);
		const timer = this.#evictions.get(room.id);
		if (timer) clearTimeout(timer);
		this.#evictions.delete(room.id);
	}
}
