/**
 * Money spent on the enrichment API, per UTC day and scope (`*` for the whole server, a job owner
 * for one workflow or posting client), kept in the database so a restart forgets nothing.
 *
 * Reads are synchronous on purpose: the budget is consulted before every paid call, so the ledger
 * keeps the figures of the days it has seen in memory. Each charge updates memory at once and is
 * written to the database the moment the API reports it (`add` resolves once it is stored). On
 * SQLite the memory is the whole truth (one process); on PostgreSQL other processes charge the same
 * scopes, so the figures of the current day are re-read every `refreshMs` and the larger of the two
 * is kept (a charge of ours not stored yet is never forgotten).
 */
import type { Db } from './db';
import { asStore, type Store, type StoreHandle } from './store';

export interface SpendLedger {
	/** Adds `cents` to every one of `scopes` on `day` (`YYYY-MM-DD`, UTC), in one transaction. */
	add(day: string, scopes: readonly string[], cents: number): Promise<void>;
	/** Cents recorded for `scope` on `day` (0 when none). */
	spent(day: string, scope: string): number;
	/** Reads `day`'s figures from the database now (other processes' charges). */
	refresh(day: string): Promise<void>;
	/** Stops the refresh timer. */
	close(): void;
}

export interface SpendLedgerOptions {
	/** A charge could not be stored (it still counts in memory). */
	onError?: (error: unknown) => void;
	/** PostgreSQL: how often the current day is re-read (ms; default 5 000; 0 = never). */
	refreshMs?: number;
	/** Clock (tests). */
	now?: () => number;
}

const keyOf = (day: string, scope: string) => `${day}\n${scope}`;
const today = (now: () => number) => new Date(now()).toISOString().slice(0, 10);

/**
 * The ledger over a Store (table `spend`, migration 4), with the current day loaded.
 * @example const ledger = await openSpendLedger(store); void ledger.add('2026-01-31', ['*', workflowId], 5)
 */
export async function openSpendLedger(store: Store, options: SpendLedgerOptions = {}): Promise<SpendLedger> {
	const ledger = createSpendLedger(store, options);
	await ledger.refresh(today(options.now ?? Date.now));
	return ledger;
}

/** The ledger over a Store; on SQLite a day is loaded synchronously the first time it is asked for. */
export function createSpendLedger(store: Store, options: SpendLedgerOptions = {}): SpendLedger {
	const { db } = store;
	const now = options.now ?? Date.now;
	const cents = new Map<string, number>();
	const loadedDays = new Set<string>();

	const dayQuery = (day: string) => db.selectFrom('spend').select(['scope', 'cents']).where('day', '=', day);
	const merge = (day: string, rows: { scope: string; cents: number }[]) => {
		for (const row of rows) {
			const key = keyOf(day, row.scope);
			cents.set(key, Math.max(cents.get(key) ?? 0, Number(row.cents)));
		}
		loadedDays.add(day);
	};
	/** SQLite answers in microseconds: the same Kysely query, run synchronously on the raw handle. */
	const loadSync = (day: string) => {
		if (!store.sqlite?.open) return;
		const query = dayQuery(day).compile();
		merge(day, store.sqlite.prepare(query.sql).all(...query.parameters) as { scope: string; cents: number }[]);
	};

	const refreshMs = options.refreshMs ?? 5_000;
	const timer =
		store.dialect === 'postgres' && refreshMs > 0
			? setInterval(() => void ledger.refresh(today(now)).catch(() => {}), refreshMs)
			: null;
	timer?.unref();

	const ledger: SpendLedger = {
		async add(day, scopes, amount) {
			if (!(amount > 0) || !Number.isFinite(amount)) return;
			const unique = [...new Set(scopes)];
			if (!loadedDays.has(day)) loadSync(day);
			for (const scope of unique) cents.set(keyOf(day, scope), (cents.get(keyOf(day, scope)) ?? 0) + amount);
			try {
				await db
					.insertInto('spend')
					.values(unique.map((scope) => ({ day, scope, cents: amount })))
					.onConflict((oc) =>
						oc
							.columns(['day', 'scope'])
							.doUpdateSet((eb) => ({ cents: eb(eb.ref('spend.cents'), '+', eb.ref('excluded.cents')) }))
					)
					.execute();
			} catch (error) {
				options.onError?.(error);
				throw error;
			}
		},
		spent(day, scope) {
			if (!loadedDays.has(day)) {
				if (store.dialect === 'sqlite') loadSync(day);
				else void ledger.refresh(day).catch(() => {});
			}
			return cents.get(keyOf(day, scope)) ?? 0;
		},
		async refresh(day) {
			merge(day, await dayQuery(day).execute());
		},
		close() {
			if (timer) clearInterval(timer);
		}
	};
	return ledger;
}

/**
 * The ledger over a SQLite handle (embedded mode, tests).
 * @example const ledger = createSqliteSpendLedger(db); void ledger.add('2026-01-31', ['*', workflowId], 5)
 */
export function createSqliteSpendLedger(db: Db | StoreHandle, options: SpendLedgerOptions = {}): SpendLedger {
	return createSpendLedger(asStore(db), options);
}
