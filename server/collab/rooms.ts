/**
 * The registry of loaded rooms: get-or-create by workflow id, unload a room `idleEvictMs` after its
 * last client left (it compacted when they left, and compacts again if edited since), and close
 * everything on shutdown. One room per workflow per process; loading is async (the store may be
 * PostgreSQL), and concurrent callers share one load.
 */
import type { CollabCounters, CollabLimits, CollabLogger } from './limits';
import type { DocPersistence } from './persistence';
import { Room } from './room';

export interface RoomRegistryOptions {
	persistence: DocPersistence;
	limits: CollabLimits;
	counters: CollabCounters;
	log: CollabLogger;
}

export class RoomRegistry {
	readonly #options: RoomRegistryOptions;
	readonly #rooms = new Map<string, Room>();
	/** Rooms being read from the store: a second caller waits for the same load. */
	readonly #loading = new Map<string, Promise<Room>>();
	readonly #evictions = new Map<string, ReturnType<typeof setTimeout>>();
	/** Rooms closing (evicted), by workflow, whose last writes are still being stored: a reload waits for them. */
	readonly #closing = new Map<string, Promise<void>>();

	constructor(options: RoomRegistryOptions) {
		this.#options = options;
	}

	/** The loaded room of `workflowId`, loading it from the store if needed (rejects on a bad store). */
	get(workflowId: string): Promise<Room> {
		const existing = this.#rooms.get(workflowId);
		if (existing) return Promise.resolve(existing);
		const loading = this.#loading.get(workflowId);
		if (loading) return loading;
		// An evicted copy may still be storing its last edits: load only once they are in the store.
		const stored = this.#closing.get(workflowId) ?? Promise.resolve();
		const load = stored
			.then(() =>
				Room.load({
					id: workflowId,
					...this.#options,
					onEmpty: (r) => this.#scheduleEviction(r),
					onFailed: (r) => this.#drop(r)
				})
			)
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

	/** Loaded rooms (for stats). */
	rooms(): IterableIterator<Room> {
		return this.#rooms.values();
	}

	/** Stores every room's last edits and closes every connection with `code`; resolves once stored. */
	async closeAll(code?: number, reason?: string): Promise<void> {
		for (const timer of this.#evictions.values()) clearTimeout(timer);
		this.#evictions.clear();
		await Promise.allSettled([...this.#loading.values()]);
		const closing = [...this.#rooms.values()].map((room) => room.close(code, reason));
		this.#rooms.clear();
		await Promise.all([...closing, ...this.#closing.values()]);
	}

	#cancelEviction(workflowId: string): void {
		const timer = this.#evictions.get(workflowId);
		if (timer) clearTimeout(timer);
		this.#evictions.delete(workflowId);
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
