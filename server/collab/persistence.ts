/**
 * Where room documents live between restarts: a snapshot per workflow plus an append-only log of
 * the updates since (tables `doc_snapshots`, `doc_updates`).
 *
 * Durability: `appendUpdate` is a synchronous better-sqlite3 insert, and the room calls it before
 * it relays the update to anyone, so an edit another client has seen survives SIGKILL (WAL with
 * `synchronous = NORMAL` is durable against a process crash; an OS crash may lose the last
 * commits). Loading replays snapshot + log, so the log is compacted into the snapshot now and
 * then; load time stays bounded by the compaction interval.
 */
import * as Y from 'yjs';
import type { Db } from '../store/db';

/** A document's stored state, as the room needs it. */
export interface DocPersistence {
	/** Applies the stored state of `workflowId` to `doc`; returns how many log entries were replayed. */
	load(workflowId: string, doc: Y.Doc): { replayed: number; skipped: number };
	/** Appends one update to the log (synchronously: it is durable when this returns). */
	appendUpdate(workflowId: string, update: Uint8Array): void;
	/** Replaces snapshot + log by one snapshot of `doc` (which must hold every logged update). */
	compact(workflowId: string, doc: Y.Doc): void;
	/** Forgets a document (workflow deleted). */
	remove(workflowId: string): void;
	/** True if anything is stored for `workflowId`. */
	has(workflowId: string): boolean;
}

/** The SQLite implementation of `DocPersistence`. */
export function createSqlitePersistence(db: Db): DocPersistence {
	const selectSnapshot = db.prepare<[string], { state: Buffer }>('SELECT state FROM doc_snapshots WHERE workflow_id = ?');
	const selectUpdates = db.prepare<[string], { id: number; update_data: Buffer }>(
		'SELECT id, update_data FROM doc_updates WHERE workflow_id = ? ORDER BY id'
	);
	const insertUpdate = db.prepare<[string, Uint8Array, number]>(
		'INSERT INTO doc_updates (workflow_id, update_data, created_at) VALUES (?, ?, ?)'
	);
	const upsertSnapshot = db.prepare<[string, Uint8Array, number]>(
		`INSERT INTO doc_snapshots (workflow_id, state, updated_at) VALUES (?, ?, ?)
		 ON CONFLICT (workflow_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`
	);
	const maxUpdateId = db.prepare<[string], { id: number | null }>('SELECT MAX(id) AS id FROM doc_updates WHERE workflow_id = ?');
	const deleteUpdatesUpTo = db.prepare<[string, number]>('DELETE FROM doc_updates WHERE workflow_id = ? AND id <= ?');
	const deleteUpdates = db.prepare<[string]>('DELETE FROM doc_updates WHERE workflow_id = ?');
	const deleteSnapshot = db.prepare<[string]>('DELETE FROM doc_snapshots WHERE workflow_id = ?');
	const anyState = db.prepare<[string, string], { found: number }>(
		`SELECT EXISTS (SELECT 1 FROM doc_snapshots WHERE workflow_id = ?)
		     OR EXISTS (SELECT 1 FROM doc_updates WHERE workflow_id = ?) AS found`
	);

	const selectUpdatesUpTo = db.prepare<[string, number], { update_data: Buffer }>(
		'SELECT update_data FROM doc_updates WHERE workflow_id = ? AND id <= ? ORDER BY id'
	);

	const compactTx = db.transaction((workflowId: string, doc: Y.Doc) => {
		const last = maxUpdateId.get(workflowId)?.id;
		let state = Y.encodeStateAsUpdate(doc);
		if (last != null) {
			// Several processes may append to one log (scale-out): another's update can be logged
			// before it reaches this `doc`. The snapshot is `doc` plus every entry it replaces, so
			// deleting them loses nothing. In one process they are all in `doc` already (a no-op).
			const folded = new Y.Doc();
			Y.applyUpdate(folded, state);
			for (const row of selectUpdatesUpTo.iterate(workflowId, last)) {
				try {
					Y.applyUpdate(folded, row.update_data);
				} catch {
					// undecodable: skipped, as `load` does
				}
			}
			state = Y.encodeStateAsUpdate(folded);
			folded.destroy();
		}
		upsertSnapshot.run(workflowId, state, Date.now());
		if (last != null) deleteUpdatesUpTo.run(workflowId, last);
	});
	// Snapshot and log are read in one transaction: a compaction by another process in between
	// would otherwise move entries from the log into a snapshot this load has already read.
	const readTx = db.transaction((workflowId: string) => ({
		snapshot: selectSnapshot.get(workflowId),
		updates: selectUpdates.all(workflowId)
	}));
	const removeTx = db.transaction((workflowId: string) => {
		deleteUpdates.run(workflowId);
		deleteSnapshot.run(workflowId);
	});

	return {
		load(workflowId, doc) {
			let replayed = 0;
			let skipped = 0;
			const { snapshot, updates } = readTx(workflowId);
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
			insertUpdate.run(workflowId, update, Date.now());
		},
		compact(workflowId, doc) {
			// IMMEDIATE: take the write lock before reading the log (another process may be appending).
			compactTx.immediate(workflowId, doc);
		},
		remove(workflowId) {
			removeTx(workflowId);
		},
		has(workflowId) {
			return anyState.get(workflowId, workflowId)?.found === 1;
		}
	};
}
