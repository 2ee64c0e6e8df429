import { describe, expect, it } from 'vitest';
import { PollTiming } from '../../server/enrichment/poll-timing';

describe('poll timing', () => {
	const timing = () => new PollTiming({ initialMs: 2_000, factor: 1.5, maxIntervalMs: 15_000, minIntervalMs: 100 });

	it.each([
		{ poll: 0, elapsed: 0, expected: 2_000 },
		{ poll: 0, elapsed: 500, expected: 1_500 },
		{ poll: 0, elapsed: 60_000, expected: 100 }, // a resumed old task: poll (almost) at once
		{ poll: 1, elapsed: 2_000, expected: 1_000 },
		{ poll: 2, elapsed: 3_000, expected: 1_500 },
		{ poll: 3, elapsed: 4_500, expected: 2_250 },
		{ poll: 20, elapsed: 99_000, expected: 15_000 } // capped
	])('poll $poll, $elapsed ms after submit → wait $expected ms', ({ poll, elapsed, expected }) => {
		expect(timing().delay('/enrich-lead', poll, elapsed)).toBe(expected);
	});

	it.each([
		{ name: 'first observation replaces the default', observations: [[800, 400]], expected: 600 },
		{ name: 'done at the first poll probes 10 % earlier', observations: [[1_000, null]], expected: 900 },
		{
			name: 'EWMA with weight 0.3',
			observations: [
				[1_000, 0],
				[2_000, 2_000]
			],
			expected: 500 + 0.3 * 1_500
		},
		{ name: 'never below the minimum interval', observations: [[10, null]], expected: 100 }
	] as { name: string; observations: [number, number | null][]; expected: number }[])('$name', ({ observations, expected }) => {
		const t = timing();
		for (const [done, lastRunning] of observations) t.observe('/enrich-lead', done, lastRunning);
		expect(t.expected('/enrich-lead')).toBeCloseTo(expected, 6);
		expect(t.expected('/find-email')).toBe(2_000); // per endpoint
	});
});
