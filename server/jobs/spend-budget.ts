/**
 * Daily spend limits: one for the whole server and one per job owner (a shared workflow, or the
 * address that posted a run), in cents per UTC day. Spend is what the API reported as charged,
 * read from the ledger in SQLite, so it survives restarts; calls in flight hold a reservation of
 * their price bound (estimate.ts) until they settle, so concurrent rows and jobs cannot together
 * start more paid calls than the budget has room for.
 */
import type { SpendLedger } from '../store/spend-ledger';

/** The ledger scope of the whole server (owners are workflow ids or `client:<address>`). */
export const SERVER_SCOPE = '*';

/** Cents per UTC day; 0 = no limit. */
export interface SpendLimits {
	serverCentsPerDay: number;
	workflowCentsPerDay: number;
}

/** One budget today, as the API and the run panel show it. */
export interface BudgetLine {
	/** Null: no limit. */
	limit_cents: number | null;
	spent_cents: number;
	/** Null: no limit. Never below 0. */
	left_cents: number | null;
}

export interface BudgetStatus {
	/** The UTC day counted (`YYYY-MM-DD`) and when the next one begins (ISO). */
	day: string;
	resets_at: string;
	server: BudgetLine;
	/** This workflow's budget (for a posted run: the posting address's). */
	workflow: BudgetLine;
}

export type BudgetScope = 'server' | 'workflow';

/** Why something cannot be paid for: the budget that is short, with its figures. */
export interface BudgetShortfall {
	scope: BudgetScope;
	line: BudgetLine;
	/** One sentence naming the budget, what it allows, what was spent and when it resets. */
	describe: string;
	/** The setting that raises it. */
	setting: string;
}

export interface SpendBudget {
	readonly limits: SpendLimits;
	/** Today's figures for an owner (null: only the server's budget applies). */
	status(owner: string | null): BudgetStatus;
	/**
	 * The first budget a run bounded by `cents` would not fit in; null when it fits. `null` cents
	 * (no bound known) only fails a budget that is used up; 0 cents always fits.
	 */
	shortfall(owner: string | null, cents: number | null): BudgetShortfall | null;
	/** Holds `cents` for a call about to start; false when a budget has no room for it now. */
	tryReserve(owner: string | null, cents: number): boolean;
	release(owner: string | null, cents: number): void;
	/** Records a charge the API reported (persisted at once). */
	record(owner: string | null, cents: number): void;
}

export interface SpendBudgetOptions {
	ledger: SpendLedger;
	limits: SpendLimits;
	/** Clock in ms (tests). */
	now?: () => number;
}

/** `$12.34` */
export const dollars = (cents: number) => `$${(Math.max(0, cents) / 100).toFixed(2)}`;

/** The UTC day of `ms` as `YYYY-MM-DD`. */
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const EPSILON = 1e-9;

/**
 * Creates the budget over a ledger.
 * @example const budget = createSpendBudget({ ledger: createSqliteSpendLedger(db), limits: config.spendLimits })
 */
export function createSpendBudget(options: SpendBudgetOptions): SpendBudget {
	const { ledger, limits } = options;
	const now = options.now ?? (() => Date.now());
	/** Cents held by calls in flight, per ledger scope. */
	const reserved = new Map<string, number>();

	/** The budgets that apply to an owner's spending, with their ledger scope and limit. */
	function scopes(owner: string | null): { scope: BudgetScope; key: string; limit: number; setting: string }[] {
		const list: { scope: BudgetScope; key: string; limit: number; setting: string }[] = [
			{ scope: 'server', key: SERVER_SCOPE, limit: limits.serverCentsPerDay, setting: 'SPEND_LIMIT_CENTS_PER_DAY' }
		];
		if (owner !== null) {
			list.push({
				scope: 'workflow',
				key: owner,
				limit: limits.workflowCentsPerDay,
				setting: 'SPEND_LIMIT_CENTS_PER_WORKFLOW_PER_DAY'
			});
		}
		return list;
	}

	function line(day: string, key: string, limit: number): BudgetLine {
		const spent = Math.round(ledger.spent(day, key) * 100) / 100;
		return limit > 0
			? { limit_cents: limit, spent_cents: spent, left_cents: Math.max(0, Math.round((limit - spent) * 100) / 100) }
			: { limit_cents: null, spent_cents: spent, left_cents: null };
	}

	function name(scope: BudgetScope, owner: string | null): string {
		if (scope === 'server') return "the server's daily spend limit";
		return owner?.startsWith('client:')
			? 'the daily spend limit of runs posted from your address'
			: "this workflow's daily spend limit";
	}

	return {
		limits,
		status(owner) {
			const t = now();
			const day = utcDay(t);
			const [server, workflow] = scopes(owner);
			return {
				day,
				resets_at: `${utcDay(t + 86_400_000)}T00:00:00.000Z`,
				server: line(day, server.key, server.limit),
				workflow: workflow ? line(day, workflow.key, workflow.limit) : { limit_cents: null, spent_cents: 0, left_cents: null }
			};
		},
		shortfall(owner, cents) {
			if (cents === 0) return null;
			const day = utcDay(now());
			for (const s of scopes(owner)) {
				if (s.limit <= 0) continue;
				const l = line(day, s.key, s.limit);
				const left = l.left_cents ?? Infinity;
				if (cents === null ? left <= EPSILON : cents > left + EPSILON) {
					return {
						scope: s.scope,
						line: l,
						setting: s.setting,
						describe: `${name(s.scope, owner)} is ${dollars(s.limit)}: ${dollars(l.spent_cents)} spent today, ${dollars(left)} left (it resets at 00:00 UTC)`
					};
				}
			}
			return null;
		},
		tryReserve(owner, cents) {
			const day = utcDay(now());
			const applying = scopes(owner).filter((s) => s.limit > 0);
			for (const s of applying) {
				if (ledger.spent(day, s.key) + (reserved.get(s.key) ?? 0) + cents > s.limit + EPSILON) return false;
			}
			for (const s of applying) reserved.set(s.key, (reserved.get(s.key) ?? 0) + cents);
			return true;
		},
		release(owner, cents) {
			for (const s of scopes(owner)) {
				if (s.limit <= 0) continue;
				const left = (reserved.get(s.key) ?? 0) - cents;
				if (left > EPSILON) reserved.set(s.key, left);
				else reserved.delete(s.key);
			}
		},
		record(owner, cents) {
			// Counted in memory at once; the write's failure is the ledger's `onError` to report.
			void ledger
				.add(
					utcDay(now()),
					scopes(owner).map((s) => s.key),
					cents
				)
				.catch(() => {});
		}
	};
}
