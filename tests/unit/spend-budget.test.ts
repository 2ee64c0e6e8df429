/**
 * The daily budgets over the SQLite ledger: which budget a run's cost bound falls short of (a
 * table of cases), reservations of calls in flight, and the UTC day boundary.
 */
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/store/db';
import { createSqliteSpendLedger } from '../../server/store/spend-ledger';
import { createSpendBudget, type SpendLimits } from '../../server/jobs/spend-budget';

const NOON = Date.parse('2026-03-10T12:00:00Z');

function budgetWith(limits: SpendLimits, spent: Record<string, number> = {}, now = () => NOON) {
	const db = openDatabase(':memory:');
	const ledger = createSqliteSpendLedger(db);
	for (const [owner, cents] of Object.entries(spent)) ledger.add('2026-03-10', ['*', owner], cents);
	return createSpendBudget({ ledger, limits, now });
}

describe('SpendBudget.shortfall', () => {
	it.each<{
		what: string;
		limits: [number, number];
		spent: Record<string, number>;
		owner: string | null;
		cents: number | null;
		short: string | null;
	}>([
		{ what: 'within both budgets', limits: [100, 50], spent: {}, owner: 'w1', cents: 50, short: null },
		{ what: 'over the workflow budget', limits: [100, 50], spent: {}, owner: 'w1', cents: 51, short: 'workflow' },
		{ what: "over the server's, under the workflow's", limits: [40, 50], spent: {}, owner: 'w1', cents: 45, short: 'server' },
		{
			what: "another workflow's spend counts for the server only",
			limits: [100, 50],
			spent: { w2: 80 },
			owner: 'w1',
			cents: 25,
			short: 'server'
		},
		{ what: 'the same workflow spent before today', limits: [100, 50], spent: { w1: 30 }, owner: 'w1', cents: 25, short: 'workflow' },
		{ what: 'no bound, something left', limits: [100, 50], spent: { w1: 49 }, owner: 'w1', cents: null, short: null },
		{ what: 'no bound, nothing left', limits: [100, 50], spent: { w1: 50 }, owner: 'w1', cents: null, short: 'workflow' },
		{ what: 'a free run always fits', limits: [100, 50], spent: { w1: 50 }, owner: 'w1', cents: 0, short: null },
		{ what: 'no limits set', limits: [0, 0], spent: { w1: 5_000 }, owner: 'w1', cents: 1_000_000, short: null },
		{ what: 'a job without owner: server only', limits: [100, 10], spent: {}, owner: null, cents: 90, short: null }
	])('$what → $short', ({ limits, spent, owner, cents, short }) => {
		const budget = budgetWith({ serverCentsPerDay: limits[0], workflowCentsPerDay: limits[1] }, spent);
		expect(budget.shortfall(owner, cents)?.scope ?? null).toBe(short);
	});

	it('names the budget, its figures and the setting; a posted run is told it is per address', () => {
		const budget = budgetWith({ serverCentsPerDay: 0, workflowCentsPerDay: 500 }, { 'client:10.0.0.1': 420 });
		expect(budget.shortfall('client:10.0.0.1', 100)).toEqual({
			scope: 'workflow',
			line: { limit_cents: 500, spent_cents: 420, left_cents: 80 },
			setting: 'SPEND_LIMIT_CENTS_PER_WORKFLOW_PER_DAY',
			describe:
				'the daily spend limit of runs posted from your address is $5.00: $4.20 spent today, $0.80 left (it resets at 00:00 UTC)'
		});
	});
});

describe('SpendBudget reservations and days', () => {
	it('holds room for calls in flight until they settle, and counts their charges', () => {
		const budget = budgetWith({ serverCentsPerDay: 20, workflowCentsPerDay: 0 });
		expect([budget.tryReserve('w1', 5), budget.tryReserve('w2', 5), budget.tryReserve('w1', 5), budget.tryReserve('w1', 5)]).toEqual([
			true,
			true,
			true,
			true
		]);
		expect(budget.tryReserve('w1', 5)).toBe(false); // 20 reserved
		budget.release('w1', 5);
		budget.record('w1', 5);
		expect(budget.tryReserve('w1', 5)).toBe(false); // 15 reserved + 5 spent
		budget.release('w2', 5); // a cache hit: nothing charged
		expect(budget.tryReserve('w1', 5)).toBe(true);
		expect(budget.status('w1').server).toEqual({ limit_cents: 20, spent_cents: 5, left_cents: 15 });
	});

	it('counts per UTC day: a new day starts with the whole budget', () => {
		let now = Date.parse('2026-03-10T23:59:59Z');
		const budget = budgetWith({ serverCentsPerDay: 10, workflowCentsPerDay: 10 }, { w1: 10 }, () => now);
		expect(budget.status('w1')).toMatchObject({
			day: '2026-03-10',
			resets_at: '2026-03-11T00:00:00.000Z',
			workflow: { left_cents: 0 }
		});
		expect(budget.shortfall('w1', null)?.scope).toBe('server');
		now = Date.parse('2026-03-11T00:00:01Z');
		expect(budget.status('w1')).toMatchObject({
			day: '2026-03-11',
			server: { spent_cents: 0, left_cents: 10 },
			workflow: { spent_cents: 0, left_cents: 10 }
		});
		expect(budget.shortfall('w1', null)).toBeNull();
	});
});
