import { describe, expect, it } from 'vitest';
import { cellText, formatCents, formatCount, formatRate, formatRelative, formatSeconds, percent } from '../../src/lib/format';

describe('format', () => {
	it.each([
		[formatCount(12345), '12,345'],
		[formatCount(null), '—'],
		[formatCount(Number.NaN), '—'],
		[formatCents(5), '$0.05'],
		[formatCents(123456), '$1,234.56'],
		[formatCents(0.4), '$0.01'],
		[formatCents(0), '$0.00'],
		[formatCents(null), '—'],
		[formatSeconds(0.01), '0s'],
		[formatSeconds(0.34), '0.3s'],
		[formatSeconds(4), '4s'],
		[formatSeconds(45), '45s'],
		[formatSeconds(185), '3m 05s'],
		[formatSeconds(7800), '2h 10m'],
		[formatSeconds(null), '—'],
		[formatSeconds(-1), '—'],
		[formatRate(3.44), '3.4/s'],
		[formatRate(120.4), '120/s'],
		[formatRate(0), '—'],
		[cellText(null), ''],
		[cellText(true), 'true'],
		[cellText({ a: 1 }), '{"a":1}']
	])('%s', (actual, expected) => {
		expect(actual).toBe(expected);
	});

	it.each([
		{ done: 5, total: 10, expected: 50 },
		{ done: 12, total: 10, expected: 100 },
		{ done: 0, total: 0, expected: 100 },
		{ done: 3, total: null, expected: null }
	])('percent($done, $total) = $expected', ({ done, total, expected }) => {
		expect(percent(done, total)).toBe(expected);
	});

	it.each([
		{ ago: 10_000, expected: 'just now' },
		{ ago: 5 * 60_000, expected: '5 min ago' },
		{ ago: 3 * 3_600_000, expected: '3 h ago' },
		{ ago: 86_400_000, expected: '1 day ago' },
		{ ago: 3 * 86_400_000, expected: '3 days ago' }
	])('formatRelative $expected', ({ ago, expected }) => {
		const now = Date.UTC(2026, 0, 15);
		expect(formatRelative(now - ago, now)).toBe(expected);
	});

	it('reads ISO dates and refuses garbage', () => {
		const now = Date.UTC(2026, 0, 15);
		expect(formatRelative(new Date(now - 120_000).toISOString(), now)).toBe('2 min ago');
		expect(formatRelative('not a date', now)).toBe('—');
	});
});
