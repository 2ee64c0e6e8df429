import { describe, expect, it } from 'vitest';
import { blockEta, blockFraction, blockSpeed, jobTotals, withKnownTotals } from '../../src/lib/job-totals';
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
			block({
				block_id: 'e',
				status: 'running',
				rows_out: 40,
				total: 100,
				calls: 45,
				cached: 10,
				cost_cents: 225.004,
				errors: 2,
				waiting: 3,
				duration_ms: 10_000
			}),
			block({
				block_id: 'f',
				block_type: 'find_email',
				status: 'running',
				rows_out: 10,
				total: 100,
				calls: 10,
				cost_cents: 50,
				duration_ms: 5_000
			}),
			block({ block_id: 's', block_type: 'save_csv', status: 'pending' })
		]);
		expect(t).toMatchObject({
			calls: 55,
			cached: 10,
			costCents: 275,
			errors: 2,
			waiting: 3,
			rowsPerSecond: 2,
			etaSeconds: 45,
			rowsOut: 0
		});
		expect(t.percent).toBeCloseTo(((1 + 0.4 + 0.1 + 0) / 4) * 100);
	});

	it('has no speed, ETA or waiting once nothing runs', () => {
		const t = jobTotals([block({ status: 'completed', rows_out: 7, waiting: 4, duration_ms: 1000 })]);
		expect(t).toMatchObject({ rowsPerSecond: 0, etaSeconds: null, waiting: 0, percent: 100, rowsOut: 7 });
	});

	it('says nothing about progress for an empty job', () => {
		expect(jobTotals([]).percent).toBeNull();
	});
});

describe('speed and ETA are measured on rows done', () => {
	it.each([
		// all 10 rows entered the API block at once, 4 answered in 2 s: 2 rows/s, 3 s to go
		{ b: block({ status: 'running', rows_in: 10, rows_out: 4, total: 10, duration_ms: 2000 }), speed: 2, eta: 3 },
		// nothing answered yet: no speed, no ETA (not "0 s")
		{ b: block({ status: 'running', rows_in: 10, rows_out: 0, total: 10, duration_ms: 2000 }), speed: 0, eta: null },
		// unknown total: a speed but no ETA
		{ b: block({ status: 'running', rows_out: 6, total: null, duration_ms: 3000 }), speed: 2, eta: null },
		{ b: block({ status: 'completed', rows_out: 6, total: 6, duration_ms: 3000 }), speed: 2, eta: 0 }
	])('speed $speed, eta $eta', ({ b, speed, eta }) => {
		expect(blockSpeed(b)).toBe(speed);
		expect(blockEta(b)).toBe(eta);
	});
});

describe('withKnownTotals', () => {
	it('gives a block the output of the finished block before it as its total', () => {
		const filled = withKnownTotals([
			block({ block_id: 'r', block_type: 'read_csv', status: 'completed', rows_out: 10, total: 10 }),
			block({ block_id: 'f', block_type: 'filter', status: 'completed', rows_in: 10, rows_out: 4, total: null }),
			block({ block_id: 'e', status: 'running', rows_in: 4, rows_out: 1, total: null }),
			block({ block_id: 's', block_type: 'save_csv', status: 'running', rows_out: 1, total: null })
		]);
		expect(filled.map((b) => b.total)).toEqual([10, 10, 4, null]);
		expect(blockFraction(filled[2])).toBe(0.25);
		// the block after a running one stays unknown: its input is still growing
		expect(blockFraction(filled[3])).toBeNull();
	});

	it('keeps a total the engine reported', () => {
		const filled = withKnownTotals([
			block({ block_id: 'r', block_type: 'read_csv', status: 'completed', rows_out: 10, total: 10 }),
			block({ block_id: 'e', status: 'running', rows_out: 2, total: 7 })
		]);
		expect(filled[1].total).toBe(7);
	});
});

describe('with the server counting answers', () => {
	it('moves on answers, shows the API block speed (not Read CSV’s) and no ETA while the server has none', () => {
		const t = jobTotals([
			block({
				block_id: 'r',
				block_type: 'read_csv',
				status: 'running',
				rows_in: 600,
				rows_out: 600,
				total: 1000,
				duration_ms: 1000,
				rows_per_s: 600
			}),
			block({
				block_id: 'e',
				status: 'running',
				rows_in: 600,
				rows_out: 0,
				answered: 50,
				in_flight: 64,
				calls: 50,
				requests: 180,
				total: 1000,
				rows_per_s: 0,
				eta_s: null,
				duration_ms: 1000
			})
		]);
		expect(t).toMatchObject({ rowsPerSecond: 0, etaSeconds: null, answered: 50, inFlight: 64, requests: 180, calls: 50 });
		expect(t.requestsPerRow).toBeCloseTo(3.6);
		expect(t.percent).toBeCloseTo(((0.6 + 0.05) / 2) * 100);
	});

	it('takes the server’s rows/s and smoothed ETA while running', () => {
		const b = block({ status: 'running', rows_out: 10, answered: 400, total: 1000, rows_per_s: 20, eta_s: 31, duration_ms: 60_000 });
		expect(blockSpeed(b)).toBe(20);
		expect(blockEta(b)).toBe(31);
		expect(blockFraction(b)).toBe(0.4);
	});

	it('a finished run keeps its total time and average rows/s', () => {
		const t = jobTotals([
			block({
				block_id: 'r',
				block_type: 'read_csv',
				status: 'completed',
				rows_in: 100,
				rows_out: 100,
				total: 100,
				duration_ms: 10_000
			}),
			block({ block_id: 'e', status: 'completed', rows_in: 100, rows_out: 100, answered: 100, total: 100, duration_ms: 20_000 })
		]);
		expect(t).toMatchObject({ rowsPerSecond: 0, averageRowsPerSecond: 5, elapsedSeconds: 20 });
	});
});
