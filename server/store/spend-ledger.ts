/**
 * Money spent on the enrichment API, per UTC day and scope (`*` for the whole server, a job owner
 * for one workflow or posting client), kept in SQLite so a restart forgets nothing. Synchronous on
 * purpose: the budget is consulted before every paid call, and better-sqlite3 answers in
 * microseconds; each charge is written the moment the API reports it.
 */
import type { Db } from './db';

export interface SpendLedger {
	/** Adds `cents` to every one of `scopes` on `day` (`YYYY-MM-DD`, UTC), in one transaction. */
	add(day: string, scopes: readonly string[], cents: number): void;
	/** Cents recorded for `scope` on `day` (0 when none). */
	spent(day: string, scope: string): number;
}

/**
 * The SQLite ledger (table `spend`, migration 4).
 * @example const ledger = createSqliteSpendLedger(db); ledger.add('2026-01-31', ['*', workflowId], 5)
 */
export function createSqliteSpendLedger(db: Db): SpendLedger {
	const upsert = db.prepare(
		'INSERT INTO spend (day, scope, cents) VALUES (?, ?, ?) ON CONFLICT (day, scope) DO UPDATE SET cents = cents + excluded.cents'
	);
	const select = db.prepare<[string, string], { cents: number }>('SELECT cents FROM spend WHERE day = ? AND scope = ?');
	const addTx = db.transaction((day: string, scopes: readonly string[], cents: number) => {
		for (const scope of new Set(scopes)) upsert.run(day, scope, cents);
	});
	return {
		add(day, scopes, cents) {
			if (!(cents > 0) || !Number.isFinite(cents)) return;
			addTx(day, scopes, cents);
		},
		spent(day, scope) {
			return select.get(day, scope)?.cents ?? 0;
		}
	};
}
