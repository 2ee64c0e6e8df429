/**
 * The live grid's virtual window and range reads (issue 12): which rows are rendered for a scroll
 * position (it moves in steps, so most scroll frames change no DOM) and which chunks are read, when
 * (not while a fling or a drag passes them).
 */
import { describe, expect, it } from 'vitest';
import { renderWindow } from '../../src/routes/w/[id]/grid-window';
import { SettledLoads, wantedChunks } from '../../src/routes/w/[id]/grid-loads';

const base = { viewportHeight: 720, rowHeight: 36, total: 100_000, step: 6 };

describe('renderWindow', () => {
	it('covers the rows in view with at least a step to spare on each side', () => {
		for (const scrollTop of [0, 35, 36, 1_000, 123_456, 3_599_000]) {
			const { first, last } = renderWindow({ ...base, scrollTop });
			const top = Math.floor(scrollTop / 36);
			const bottom = Math.min(base.total, Math.ceil((scrollTop + 720) / 36));
			expect(first).toBeLessThanOrEqual(Math.max(0, top - 1));
			expect(last).toBeGreaterThanOrEqual(Math.min(base.total, bottom + 1));
			if (first > 0) expect(top - first).toBeGreaterThanOrEqual(base.step);
			if (last < base.total) expect(last - bottom).toBeGreaterThanOrEqual(base.step);
			expect(last - first).toBeLessThanOrEqual(Math.ceil(720 / 36) + 1 + 3 * base.step);
		}
	});

	it('changes only when the view crosses a step: a slow scroll re-renders every step rows, not every row', () => {
		const windows = new Set<string>();
		for (let scrollTop = 0; scrollTop < 36 * 60; scrollTop += 12) {
			const { first, last } = renderWindow({ ...base, scrollTop });
			windows.add(`${first}-${last}`);
		}
		expect(windows.size).toBe(10); // 60 rows scrolled, a new window every 6
	});

	it('stops at the last row and renders nothing for an empty grid', () => {
		expect(renderWindow({ ...base, total: 5, scrollTop: 0 })).toEqual({ first: 0, last: 5 });
		expect(renderWindow({ ...base, total: 100, scrollTop: 1e9 }).last).toBe(100);
		expect(renderWindow({ ...base, total: 0, scrollTop: 0 })).toEqual({ first: 0, last: 0 });
	});

	it.each([
		['a negative scroll', { scrollTop: -500 }],
		['a NaN scroll', { scrollTop: NaN }],
		['an infinite scroll', { scrollTop: Infinity }],
		['a zero-height viewport', { scrollTop: 0, viewportHeight: 0 }],
		['a NaN viewport', { scrollTop: 0, viewportHeight: NaN }],
		['a zero step', { scrollTop: 0, step: 0 }],
		['a fractional total', { scrollTop: 0, total: 10.7 }]
	])('bad input (%s) gives a window inside the grid', (_name, over: Partial<typeof base> & { scrollTop: number }) => {
		const { first, last } = renderWindow({ ...base, ...over });
		const total = Math.floor(over.total ?? base.total);
		expect(Number.isInteger(first) && Number.isInteger(last)).toBe(true);
		expect(first).toBeGreaterThanOrEqual(0);
		expect(last).toBeLessThanOrEqual(total);
		expect(first).toBeLessThanOrEqual(last);
	});

	it('renders nothing for a bad row height or total', () => {
		expect(renderWindow({ ...base, scrollTop: 0, rowHeight: 0 })).toEqual({ first: 0, last: 0 });
		expect(renderWindow({ ...base, scrollTop: 0, rowHeight: NaN })).toEqual({ first: 0, last: 0 });
		expect(renderWindow({ ...base, scrollTop: 0, total: -3 })).toEqual({ first: 0, last: 0 });
	});
});

describe('wantedChunks', () => {
	it.each([
		['the first rows', { from: 0, to: 40 }, [0]],
		['across a chunk edge', { from: 190, to: 230 }, [0, 1]],
		['near the next chunk: read ahead', { from: 120, to: 160 }, [0, 1]],
		['near the previous chunk: read behind', { from: 210, to: 250 }, [1, 0]],
		['the middle of a chunk', { from: 260, to: 300 }, [1]]
	])('%s', (_name, window, expected) => {
		expect(wantedChunks({ ...window, chunk: 200, total: 100_000 })).toEqual(expected);
	});

	it('wants nothing past the last row, but always the first chunk', () => {
		expect(wantedChunks({ from: 150, to: 190, chunk: 200, total: 190 })).toEqual([0]);
		expect(wantedChunks({ from: 5_000, to: 5_040, chunk: 200, total: 300 })).toEqual([1]);
		expect(wantedChunks({ from: 0, to: 40, chunk: 200, total: 0 })).toEqual([0]);
		expect(wantedChunks({ from: 390, to: 400, chunk: 200, total: null })).toEqual([1, 2]);
	});

	it.each([
		['NaN bounds', { from: NaN, to: 40 }],
		['infinite bounds', { from: 0, to: Infinity }],
		['a zero chunk', { from: 0, to: 40, chunk: 0 }],
		['a negative chunk', { from: 0, to: 40, chunk: -200 }]
	])('bad input (%s): nothing wanted', (_name, over) => {
		expect(wantedChunks({ chunk: 200, total: 1000, ...over })).toEqual([]);
	});

	it('a reversed or negative window still wants the chunk it starts in', () => {
		expect(wantedChunks({ from: -50, to: 10, chunk: 200, total: 1000 })).toEqual([0]);
		expect(wantedChunks({ from: 500, to: 100, chunk: 200, total: 1000 })).toEqual([2]);
	});
});

describe('SettledLoads', () => {
	/** A clock the test moves by hand. */
	function clock() {
		let now = 0;
		const timers = new Map<number, { at: number; fn: () => void }>();
		let id = 0;
		return {
			setTimer: (fn: () => void, ms: number) => {
				timers.set(++id, { at: now + ms, fn });
				return id;
			},
			clearTimer: (t: unknown) => void timers.delete(t as number),
			advance(ms: number) {
				now += ms;
				for (const [key, t] of [...timers]) {
					if (t.at > now) continue;
					timers.delete(key);
					t.fn();
				}
			}
		};
	}

	it('reads nothing while the wanted chunks keep changing, then the last ones once they hold still', () => {
		const c = clock();
		const loaded: number[][] = [];
		const loads = new SettledLoads({ settleMs: 80, load: (chunks) => loaded.push(chunks), ...c });
		for (let frame = 0; frame < 100; frame++) {
			loads.want([frame * 3]); // a drag: another chunk every frame
			c.advance(16);
		}
		expect(loaded).toEqual([]);
		c.advance(80);
		expect(loaded).toEqual([[297]]);
	});

	it('the same chunks asked for again do not restart the wait (a steady scroll still reads)', () => {
		const c = clock();
		const loaded: number[][] = [];
		const loads = new SettledLoads({ settleMs: 80, load: (chunks) => loaded.push(chunks), ...c });
		for (let frame = 0; frame < 6; frame++) {
			loads.want([4, 5]);
			c.advance(16);
		}
		expect(loaded).toEqual([[4, 5]]);
	});

	it('reads at once when asked to, forgets a pending read on cancel or when nothing is missing', () => {
		const c = clock();
		const loaded: number[][] = [];
		const loads = new SettledLoads({ settleMs: 80, load: (chunks) => loaded.push(chunks), ...c });
		loads.want([0], true);
		expect(loaded).toEqual([[0]]);
		loads.want([1]);
		loads.cancel();
		loads.want([2]);
		loads.want([]);
		c.advance(1_000);
		expect(loaded).toEqual([[0]]);
	});
});
