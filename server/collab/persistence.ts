/**
 * Where room documents live between restarts: a snapshot per workflow plus an append-only log of
 * the updates since (tables `doc_snapshots`, `doc_updates`, SQLite or PostgreSQL).
 *
 * Durability: the room awaits `appendUpdate` before it relays the update to anyone (and relays in
 * the order the updates were made), so an edit another client has seen survives SIGKILL (SQLite:
 * WAL with `synchronous = NORMAL` is durable against a process crash; PostgreSQL: the commit).
 * Loading replays snapshot + log, so the log is compacted into the snapshot now and then; load
 * time stays bounded by the compaction interval.
 *
 * Compaction merges the stored snapshot, the log entries it read and the room's document into the
 * new snapshot, and deletes exactly the entries it read: an update another process logged but this
 * room has not seen yet is either in the new snapshot or still in the log, never lost.
 */
import { sql } from 'kysely';
import * as Y from 'yjs';
import { asStore, chunks, toBuffer, type Store, type StoreHandle } from '../store/store';
import { createGroupCommit } from './group-commit';

/** A document's stored state, as the room needs it. */
export interface DocPersistence {
	/** Applies the stored state of `workflowId` to `doc`; returns how many log entries were replayed. */
	load(workflowId: string, doc: Y.Doc): Promise<{ replayed: number; skipped: number }>;
	/** Appends one update to the log; durable when it resolves (appends of one turn share a statement). */
	appendUpdate(workflowId: string, update: Uint8Array): Promise<void>;
	/** Folds snapshot + log + `doc` into one snapshot (`doc` must hold every update this process logged). */
	compact(workflowId: string, doc: Y.Doc): Promise<void>;
	/** Forgets a document (workflow deleted). */
	remove(workflowId: string): Promise<void>;
	/** True if anything is stored for `workflowId`. */
	has(workflowId: string): Promise<boolean>;
}

/** Log ids per `IN (…)` delete. */
const IDS_PER_DELETE = 500;

/** True if `update` decodes (an entry that does not is skipped by everyone). */
function decodes(update: Uint8Array): boolean {
	try {
		Y.decodeUpdate(update);
		return true;
	} catch {
		return false;
	}
}

/**
 * `stored` (snapshot and log entries) merged with `state` into one update. Entries that do not
 * decode are left out; they are rare, so they are looked for only when the merge of everything
 * throws, instead of decoding every entry an extra time on each compaction.
 */
function mergeStored(stored: Uint8Array[], state: Uint8Array): Uint8Array {
	if (stored.length === 0) return state;
	try {
		return Y.mergeUpdates([...stored, state]);
	} catch {
		const parts = [...stored.filter(decodes), state];
		return parts.length === 1 ? state : Y.mergeUpdates(parts);
	}
}

/** The document store over a Store (SQLite or PostgreSQL). */
export function createDocPersistence(store: Store): DocPersistence {
	const { db } = store;
	// Appends of one turn of the event loop go in one statement (group-commit.ts).
	const append = createGroupCommit(async (rows) => {
		const now = Date.now();
		await db
			.insertInto('doc_updates')
			.values(rows.map((r) => ({ workflow_id: r.workflowId, update_data: toBuffer(r.update), created_at: now })))
			.execute();
	});
	return {
		async load(workflowId, doc) {
			let replayed = 0;
			let skipped = 0;
			// Snapshot and log read as of one moment: a compaction by another process in between would
			// otherwise move entries from the log into a snapshot this load has already read.
			const read = store.dialect === 'postgres' ? db.transaction().setIsolationLevel('repeatable read') : db.transaction();
			const { snapshot, updates } = await read.execute(async (trx) => ({
				snapshot: await trx.selectFrom('doc_snapshots').select('state').where('workflow_id', '=', workflowId).executeTakeFirst(),
				updates: await trx
					.selectFrom('doc_updates')
					.select(['id', 'update_data'])
					.where('workflow_id', '=', workflowId)
					.orderBy('id')
					.execute()
			}));
			if (snapshot) Y.applyUpdate(doc, snapshot.state);
			for (const row of updates) {
				try {
					Y.applyUpdate(doc, row.update_data);
					replayed++;
				} catch {
					// A log entry that does not decode cannot be applied by anyone; skipping it keeps
					// the rest of the document loadable. Counted so it shows in stats and logs.
					skipped++;
				}
			}
			return { replayed, skipped };
		},
		appendUpdate(workflowId, update) {
			return append({ workflowId, update });
		},
		async compact(workflowId, doc) {
			const state = Y.encodeStateAsUpdate(doc);
			await db.transaction().execute(async (trx) => {
				// One compaction of a document at a time across processes (PostgreSQL); SQLite's writer lock does it there.
				if (store.dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(hashtext(${workflowId}))`.execute(trx);
				const snapshot = await trx
					.selectFrom('doc_snapshots')
					.select('state')
					.where('workflow_id', '=', workflowId)
					.executeTakeFirst();
				const log = await trx
					.selectFrom('doc_updates')
					.select(['id', 'update_data'])
					.where('workflow_id', '=', workflowId)
					.execute();
				const merged = mergeStored([...(snapshot ? [snapshot.state] : []), ...log.map((r) => r.update_data)], state);
				await trx
					.insertInto('doc_snapshots')
					.values({ workflow_id: workflowId, state: toBuffer(merged), updated_at: Date.now() })
					.onConflict((oc) =>
						oc
							.column('workflow_id')
							.doUpdateSet((eb) => ({ state: eb.ref('excluded.state'), updated_at: eb.ref('excluded.updated_at') }))
					)
					.execute();
				for (const ids of chunks(
					log.map((r) => r.id),
					IDS_PER_DELETE
				)) {
					await trx.deleteFrom('doc_updates').where('workflow_id', '=', workflowId).where('id', 'in', ids).execute();
				}
			});
		},
		async remove(workflowId) {
			await db.transaction().execute(async (trx) => {
				await trx.deleteFrom('doc_updates').where('workflow_id', '=', workflowId).execute();
				await trx.deleteFrom('doc_snapshots').where('workflow_id', '=', workflowId).execute();
			});
		},
		async has(workflowId) {
			const [snapshot, update] = await Promise.all([
				db.selectFrom('doc_snapshots').select('workflow_id').where('workflow_id', '=', workflowId).limit(1).executeTakeFirst(),
				db.selectFrom('doc_updates').select('workflow_id').where('workflow_id', '=', workflowId).limit(1).executeTakeFirst()
			]);
			return snapshot !== undefined || update !== undefined;
		}
	};
}

/** The document store over a SQLite handle (embedded mode, tests). */
export function createSqlitePersistence(db: StoreHandle): DocPersistence {
	return createDocPersistence(asStore(db));
}
