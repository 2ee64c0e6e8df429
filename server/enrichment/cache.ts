/**
 * The response cache (SQLite tables `cache` and `pending_tasks`): every answer is stored keyed by
 * endpoint + normalised request, so identical rows are paid for once, a re-run costs nothing for
 * rows already done, and the cache doubles as the crash checkpoint. Identical requests in flight at
 * the same time share one call. Errors are never cached. For async calls the `task_id` is recorded
 * in `pending_tasks` before polling, so a restarted process resumes the paid task instead of
 * submitting it again.
 */
import { abortError, raceAbort } from './abortable';
import { RelayMeter } from './relay-meter';
import { requestKey } from './request-key';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/db';
import type { CallMeter, CallOptions } from './types';

export interface ResponseCacheOptions {
	db: Db;
	/** Answers older than this are refetched (ms; 0 or absent = kept forever). */
	ttlMs?: number;
	/** Wall clock in ms (stored in `created_at`); injectable for TTL tests. */
	now?: () => number;
}

export interface CacheStats {
	/** Answers served from SQLite. */
	hits: number;
	/** Calls started because nothing was stored or in flight. */
	misses: number;
	/** Callers that joined an identical call already in flight. */
	joined: number;
	/** Answers that could not be written to SQLite (they were still returned). */
	storeErrors: number;
}

/** What the work behind a miss gets: the cache key, a signal that aborts only when every sharer has gone, and a meter. */
export interface MissContext {
	key: string;
	signal: AbortSignal;
	meter: CallMeter;
}

export interface PendingTask {
	taskId: string;
	endpoint: string;
	/** Wall-clock ms when the task was submitted. */
	createdAt: number;
}

export interface ResponseCache {
	/**
	 * The answer to (endpoint, request): from SQLite (counted `cached`), from an identical call in
	 * flight (counted `cached` once it succeeds), or by running `miss` once and storing its value.
	 */
	getOrCall<T>(
		endpoint: string,
		request: unknown,
		options: CallOptions,
		miss: (context: MissContext) => Promise<{ value: T; costCents: number }>
	): Promise<T>;
	/** The stored answer, if any and fresh (no accounting). */
	peek<T>(endpoint: string, request: unknown): T | undefined;
	key(endpoint: string, request: unknown): string;
	pendingTask(key: string): PendingTask | null;
	savePendingTask(key: string, endpoint: string, taskId: string): void;
	clearPendingTask(key: string): void;
	stats(): CacheStats;
	/** Writes the answers still held in memory now (the server calls it before closing the db). */
	flush(): void;
}

interface Flight {
	promise: Promise<unknown>;
	controller: AbortController;
	meter: RelayMeter;
	/** Meters of the callers still waiting, in arrival order; the first owns the relay. */
	callers: CallMeter[];
}

/** Opens the cache over an already migrated database (`openDatabase`). */
export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
	const { db } = options;
	const ttlMs = options.ttlMs ?? 0;
	if (!(ttlMs >= 0) || !Number.isFinite(ttlMs)) throw new RangeError(`cache TTL must be ≥ 0 ms, got ${ttlMs}`);
	const now = options.now ?? (() => Date.now());
	const figures: CacheStats = { hits: 0, misses: 0, joined: 0, storeErrors: 0 };
	const flights = new Map<string, Flight>();

	const selectAnswer = db.prepare<[string], { response: string; created_at: number }>(
		'SELECT response, created_at FROM cache WHERE key = ?'
	);
	const storeAnswer = db.prepare('INSERT OR REPLACE INTO cache (key, endpoint, response, cost_cents, created_at) VALUES (?, ?, ?, ?, ?)');
	const selectPending = db.prepare<[string], { task_id: string; endpoint: string; created_at: number }>(
		'SELECT task_id, endpoint, created_at FROM pending_tasks WHERE key = ?'
	);
	const storePending = db.prepare('INSERT OR REPLACE INTO pending_tasks (key, endpoint, task_id, created_at) VALUES (?, ?, ?, ?)');
	const deletePending = db.prepare('DELETE FROM pending_tasks WHERE key = ?');
	const writer = writeBehindFor(db, storeAnswer, deletePending, figures);

	function read<T>(key: string): T | undefined {
		const row = writer.unflushed.get(key) ?? selectAnswer.get(key);
		if (!row) return undefined;
		if (ttlMs > 0 && now() - row.created_at > ttlMs) return undefined;
		try {
			return JSON.parse(row.response) as T;
		} catch {
			return undefined; // a damaged row is a miss; the fresh answer replaces it
		}
	}

	/** A caller leaves a flight (it aborted): hand the relay on, or cancel the call if nobody is left. */
	function leave(key: string, flight: Flight, meter: CallMeter): void {
		const i = flight.callers.indexOf(meter);
		if (i < 0) return;
		flight.callers.splice(i, 1);
		if (i === 0) flight.meter.retarget(flight.callers[0] ?? null);
		if (flight.callers.length === 0) {
			if (flights.get(key) === flight) flights.delete(key);
			flight.controller.abort(new DOMException('every caller of this request gave up', 'AbortError'));
		}
	}

	function join<T>(key: string, flight: Flight, call: CallOptions): Promise<T> {
		const { signal, meter } = call;
		if (signal.aborted) return Promise.reject(abortError(signal));
		flight.callers.push(meter);
		const onAbort = () => leave(key, flight, meter);
		signal.addEventListener('abort', onAbort, { once: true });
		return raceAbort(flight.promise as Promise<T>, signal).then(
			(value) => {
				signal.removeEventListener('abort', onAbort);
				if (flight.meter.target !== meter) meter.cached++;
				return value;
			},
			(error: unknown) => {
				signal.removeEventListener('abort', onAbort);
				throw error;
			}
		);
	}

	return {
		key: requestKey,
		peek: (endpoint, request) => read(requestKey(endpoint, request)),
		async getOrCall<T>(
			endpoint: string,
			request: unknown,
			call: CallOptions,
			miss: (context: MissContext) => Promise<{ value: T; costCents: number }>
		): Promise<T> {
			if (call.signal.aborted) throw abortError(call.signal);
			const key = requestKey(endpoint, request);
			const existing = flights.get(key);
			if (existing) {
				figures.joined++;
				return join<T>(key, existing, call);
			}
			const stored = read<T>(key);
			if (stored !== undefined) {
				figures.hits++;
				call.meter.cached++;
				return stored;
			}
			figures.misses++;
			const controller = new AbortController();
			const meter = new RelayMeter(call.meter);
			meter.calls++; // one API call for this answer, however many requests (polls, retries) it takes
			const flight: Flight = { promise: Promise.resolve(), controller, meter, callers: [] };
			flight.promise = (async () => {
				try {
					const { value, costCents } = await miss({ key, signal: controller.signal, meter });
					try {
						writer.store(key, { endpoint, response: JSON.stringify(value), cost: costCents, created_at: now() });
					} catch {
						// The answer is paid for: hand it to the callers even if it could not be kept.
						figures.storeErrors++;
					}
					return value;
				} finally {
					if (flights.get(key) === flight) flights.delete(key);
				}
			})();
			flight.promise.catch(() => {});
			flights.set(key, flight);
			return join<T>(key, flight, call);
		},
		pendingTask(key) {
			if (writer.unflushed.has(key)) return null; // answered: its task is done
			const row = selectPending.get(key);
			return row ? { taskId: row.task_id, endpoint: row.endpoint, createdAt: row.created_at } : null;
		},
		savePendingTask(key, endpoint, taskId) {
			storePending.run(key, endpoint, taskId, now());
		},
		clearPendingTask(key) {
			deletePending.run(key);
		},
		stats: () => ({ ...figures }),
		flush: () => writer.flush()
	};
}

interface Unflushed {
	endpoint: string;
	response: string;
	cost: number;
	created_at: number;
}

interface WriteBehind {
	unflushed: Map<string, Unflushed>;
	store(key: string, entry: Unflushed): void;
	flush(): void;
}

/** One writer per database, so every cache over it sees the answers not yet written. */
const writers = new WeakMap<Db, WriteBehind>();

/**
 * Answers are written behind, in one transaction per turn of the event loop: at hundreds of
 * answers a second, a transaction each was the engine's largest cost. An answer waits at most
 * until the next `setImmediate` — less time than the calls still in flight, which a crash loses
 * too — and is served from `unflushed` meanwhile.
 */
function writeBehindFor(db: Db, storeAnswer: Statement, deletePending: Statement, figures: CacheStats): WriteBehind {
	const existing = writers.get(db);
	if (existing) return existing;
	const unflushed = new Map<string, Unflushed>();
	let scheduled = false;
	const writeAll = db.transaction((entries: [string, Unflushed][]) => {
		for (const [key, e] of entries) {
			storeAnswer.run(key, e.endpoint, e.response, e.cost, e.created_at);
			deletePending.run(key);
		}
	});
	const writer: WriteBehind = {
		unflushed,
		store(key, entry) {
			unflushed.set(key, entry);
			if (!scheduled) {
				scheduled = true;
				setImmediate(writer.flush);
			}
		},
		flush() {
			scheduled = false;
			if (unflushed.size === 0 || !db.open) return;
			const entries = [...unflushed];
			try {
				writeAll(entries);
			} catch {
				// The answers are paid for and were handed to their callers; they just won't be reused.
				figures.storeErrors += entries.length;
			}
			for (const [key, entry] of entries) if (unflushed.get(key) === entry) unflushed.delete(key);
		}
	};
	writers.set(db, writer);
	return writer;
}
