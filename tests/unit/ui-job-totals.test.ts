import { describe, expect, it } from 'vitest';
import { blockFraction, jobTotals } from '../../src/lib/job-totals';
import { pendingBlock } from '../../src/lib/workflow/live-jobs';
import type { LiveBlockProgress } from '../../src/lib/workflow/protocol';

const block = (over: Partial<LiveBlockProgress>): LiveBlockProgress => ({
	...pendingBlock({ block_id: over.block_id ?? 'b', block_type: over.block_type ?? 'enrich_lead' }),
	...over
});

describe('blockFraction', () => {
	it.each([
		{ b: block({ status: 'pending' }), expected: 0 },
		{ b: block({ status: 'completed', total: null }), expected: 1 },
		{ b: block({ status: 'running', rows_out: 25, total: 100 }), expected: 0.25 },
		// a filter's work is the rows it has read, not the (fewer) rows it kept
		{ b: block({ block_type: 'filter', status: 'running', rows_in: 50, rows_out: 2, total: 100 }), expected: 0.5 },
		{ b: block({ status: 'running', rows_out: 5, total: null }), expected: null },
		{ b: block({ status: 'running', total: 0 }), expected: 1 }
	])('$expected', ({ b, expected }) => {
		expect(blockFraction(b)).toBe(expected);
	});
});

describe('jobTotals', () => {
	it('sums counters and takes the slowest running block as the bottleneck', () => {
		const t = jobTotals([
			block({ block_id: 'r', block_type: 'read_csv', status: 'completed', rows_in: 100, rows_out: 100, total: 100 }),
			block({ block_id: 'e', status: 'running', rows_out: 40, total: 100, calls: 45, cached: 10, cost_cents: 225.004, errors: 2, waiting: 3, rows_per_s: 4, eta_s: 15 }),
			block({ block_id: 'f', block_type: 'find_email', status: 'running', rows_out: 10, total: 100, calls: 10, cost_cents: 50, rows_per_s: 2, eta_s: 45 }),
			block({ block_id: 's', block_type: 'save_csv', status: 'pending' })
		]);
		expect(t).toMatchObject({ calls: 55, cached: 10, costCents: 275, errors: 2, waiting: 3, rowsPerSecond: 2, etaSeconds: 45, rowsOut: 0 });
		expect(t.percent).toBeCloseTo(((1 + 0.4 + 0.1 + 0) / 4) * 100);
	});

	it('has no speed, ETA or waiting once nothing runs', () => {
		const t = jobTotals([block({ status: 'completed', rows_out: 7, waiting: 4, rows_per_s: 9, eta_s: 0 })]);
		expect(t).toMatchObject({ rowsPerSecond: 0, etaSeconds: null, waiting: 0, percent: 100, rowsOut: 7 });
	});

	it('says nothing about progress for an empty job', () => {
		expect(jobTotals([]).percent).toBeNull();
	});
});
