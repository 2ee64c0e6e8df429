/**
 * The response cache (tables `cache` and `pending_tasks`, SQLite or PostgreSQL): every answer is stored keyed by
 * endpoint + normalised request, so identical rows are paid for once, a re-run costs nothing for
 * rows already done, and the cache doubles as the crash checkpoint. Identical requests in flight at
 * the same time share one call. Errors are never cached. For async calls the `task_id` is recorded
 * in `pending_tasks` before polling, so a restarted process resumes the paid task instead of
 * submitting it again.
 */
import { abortError, raceAbort } from './abortable';
import { RelayMeter } from './relay-meter';
import { requestKey } from './request-key';
import { asStore, chunks, type Store, type StoreHandle } from '../store/store';
import type { CallMeter, CallOptions } from './types';

export interface ResponseCacheOptions {
	/** The database (a Store, or a SQLite handle in tests). */
	db: StoreHandle;
	/** Answers older than this are refetched (ms; 0 or absent = kept forever). */
	ttlMs?: number;
	/** Wall clock in ms (stored in `created_at`); injectable for TTL tests. */
	now?: () => number;
}

export interface CacheStats {
	/** Answers served from the database. */
	hits: number;
	/** Calls started because nothing was stored or in flight. */
	misses: number;
	/** Callers that joined an identical call already in flight. */
	joined: number;
	/** Answers that could not be written to the database (they were still returned). */
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
	 * The answer to (endpoint, request): from the database (counted `cached`), from an identical call in
	 * flight (counted `cached` once it succeeds), or by running `miss` once and storing its value.
	 */
	getOrCall<T>(
		endpoint: string,
		request: unknown,
		options: CallOptions,
		miss: (context: MissContext) => Promise<{ value: T; costCents: number }>
	): Promise<T>;
	/** The stored answer, if any and fresh (no accounting). */
	peek<T>(endpoint: string, request: unknown): Promise<T | undefined>;
	key(endpoint: string, request: unknown): string;
	pendingTask(key: string): Promise<PendingTask | null>;
	/** Checkpoints an async task's id; durable when it resolves (before the first poll). */
	savePendingTask(key: string, endpoint: string, taskId: string): Promise<void>;
	clearPendingTask(key: string): Promise<void>;
	stats(): CacheStats;
	/** Writes the answers still held in memory now (the server awaits it before closing the db). */
	flush(): Promise<void>;
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

	const store = asStore(db);
	const writer = writeBehindFor(store, figures);
	const answerQuery = (key: string) => store.db.selectFrom('cache').select(['response', 'created_at']).where('key', '=', key);
	/**
	 * Embedded mode keeps the hot read synchronous: the same Kysely query, compiled once and run
	 * as a prepared better-sqlite3 statement (microseconds, no promise per lookup).
	 */
	const sqliteAnswer = store.sqlite ? store.sqlite.prepare<unknown[], StoredAnswer>(answerQuery('').compile().sql) : null;

	/** A stored row as an answer: undefined when absent, expired or damaged. */
	function answerOf<T>(row: StoredAnswer | undefined): T | undefined {
		if (!row) return undefined;
		if (ttlMs > 0 && now() - Number(row.created_at) > ttlMs) return undefined;
		try {
			return JSON.parse(row.response) as T;
		} catch {
			return undefined; // a damaged row is a miss; the fresh answer replaces it
		}
	}

	/** The answer in memory or in SQLite, synchronously; `pending` when only PostgreSQL can tell. */
	function readNow<T>(key: string): T | undefined | typeof REMOTE {
		const row = writer.unflushed.get(key) ?? (sqliteAnswer ? sqliteAnswer.get(key) : undefined);
		if (row || sqliteAnswer) return answerOf<T>(row);
		return REMOTE;
	}

	async function read<T>(key: string): Promise<T | undefined> {
		const known = readNow<T>(key);
		return known !== REMOTE ? known : answerOf<T>(await answerQuery(key).executeTakeFirst());
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
			const known = readNow<T>(key);
			const stored = known !== REMOTE ? known : await read<T>(key);
			if (stored !== undefined) {
				figures.hits++;
				call.meter.cached++;
				return stored;
			}
			if (call.signal.aborted) throw abortError(call.signal);
			// An identical call may have started while the database answered: share it, never pay twice.
			const started = flights.get(key);
			if (started) {
				figures.joined++;
				return join<T>(key, started, call);
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
		async pendingTask(key) {
			if (writer.unflushed.has(key)) return null; // answered: its task is done
			const row = await store.db
				.selectFrom('pending_tasks')
				.select(['task_id', 'endpoint', 'created_at'])
				.where('key', '=', key)
				.executeTakeFirst();
			return row ? { taskId: row.task_id, endpoint: row.endpoint, createdAt: Number(row.created_at) } : null;
		},
		async savePendingTask(key, endpoint, taskId) {
			await store.db
				.insertInto('pending_tasks')
				.values({ key, endpoint, task_id: taskId, created_at: now() })
				.onConflict((oc) =>
					oc.column('key').doUpdateSet((eb) => ({
						endpoint: eb.ref('excluded.endpoint'),
						task_id: eb.ref('excluded.task_id'),
						created_at: eb.ref('excluded.created_at')
					}))
				)
				.execute();
		},
		async clearPendingTask(key) {
			await store.db.deleteFrom('pending_tasks').where('key', '=', key).execute();
		},
		stats: () => ({ ...figures }),
		flush: () => writer.flush()
	};
}

/** `readNow`'s answer when the row is in PostgreSQL (or nowhere): only a query can tell. */
const REMOTE = Symbol('remote');

interface StoredAnswer {
	response: string;
	created_at: number;
}

interface Unflushed extends StoredAnswer {
	endpoint: string;
	cost: number;
}

interface WriteBehind {
	unflushed: Map<string, Unflushed>;
	store(key: string, entry: Unflushed): void;
	flush(): Promise<void>;
}

/** Answers per multi-row insert (5 parameters each). */
const ANSWERS_PER_INSERT = 400;
/** After a failed write, the answers are kept and written again after this long, doubling up to `MAX_RETRY_MS`. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
/** Answers kept in memory while the database refuses them; past this the oldest are given up (they were paid, not lost to their callers). */
export const MAX_UNFLUSHED_ANSWERS = 50_000;

/** One writer per database, so every cache over it sees the answers not yet written. */
const writers = new WeakMap<Store, WriteBehind>();

/**
 * Answers are written behind, in one transaction per turn of the event loop: at hundreds of
 * answers a second, a transaction each was the engine's largest cost. An answer waits at most
 * until the next `setImmediate` (plus the write before it) — less time than the calls still in
 * flight, which a crash loses too — and is served from `unflushed` meanwhile. When the database
 * fails (PostgreSQL failing over), the answers stay in `unflushed` — still served — and are written
 * again with a growing delay: a paid answer is not dropped for a blip.
 */
function writeBehindFor(store: Store, figures: CacheStats): WriteBehind {
	const existing = writers.get(store);
	if (existing) return existing;
	const unflushed = new Map<string, Unflushed>();
	let scheduled = false;
	/** Delay before writing again after a failure (0: the last write worked). */
	let retryMs = 0;
	/** Writes run one after another, so `flush()` also waits for the one under way. */
	let writing: Promise<void> = Promise.resolve();

	async function writeAll(entries: [string, Unflushed][]): Promise<void> {
		await store.db.transaction().execute(async (trx) => {
			for (const part of chunks(entries, ANSWERS_PER_INSERT)) {
				await trx
					.insertInto('cache')
					.values(
						part.map(([key, e]) => ({
							key,
							endpoint: e.endpoint,
							response: e.response,
							cost_cents: e.cost,
							created_at: e.created_at
						}))
					)
					.onConflict((oc) =>
						oc.column('key').doUpdateSet((eb) => ({
							endpoint: eb.ref('excluded.endpoint'),
							response: eb.ref('excluded.response'),
							cost_cents: eb.ref('excluded.cost_cents'),
							created_at: eb.ref('excluded.created_at')
						}))
					)
					.execute();
				await trx
					.deleteFrom('pending_tasks')
					.where(
						'key',
						'in',
						part.map(([key]) => key)
					)
					.execute();
			}
		});
	}

	const writer: WriteBehind = {
		unflushed,
		store(key, entry) {
			unflushed.set(key, entry);
			if (!scheduled) {
				scheduled = true;
				setImmediate(() => void writer.flush());
			}
		},
		flush() {
			scheduled = false;
			writing = writing.then(async () => {
				if (unflushed.size === 0 || !store.open) return;
				const entries = [...unflushed];
				try {
					await writeAll(entries);
					retryMs = 0;
				} catch {
					figures.storeErrors += entries.length;
					// Kept for the next attempt. Past the bound the oldest go: paid for and handed to their
					// callers, they just won't be reused.
					for (const key of unflushed.keys()) {
						if (unflushed.size <= MAX_UNFLUSHED_ANSWERS) break;
						unflushed.delete(key);
					}
					retryMs = Math.min(MAX_RETRY_MS, retryMs === 0 ? FIRST_RETRY_MS : retryMs * 2);
					if (!scheduled) {
						scheduled = true;
						setTimeout(() => void writer.flush(), retryMs).unref?.();
					}
					return;
				}
				for (const [key, entry] of entries) if (unflushed.get(key) === entry) unflushed.delete(key);
			});
			return writing;
		}
	};
	writers.set(store, writer);
	return writer;
}
