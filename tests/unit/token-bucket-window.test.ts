import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket } from '../../server/enrichment/token-bucket';

/** Most of `times` inside any `[t, t + windowMs)`. */
function busiestWindow(times: number[], windowMs: number): number {
	let best = 0;
	for (let lo = 0, hi = 0; hi < times.length; hi++) {
		while (times[hi] - times[lo] >= windowMs) lo++;
		best = Math.max(best, hi - lo + 1);
	}
	return best;
}

describe('TokenBucket keeps every minute within the limit (the sliding-window reading)', () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it.each([
		{ ratePerMinute: 600, burst: undefined },
		{ ratePerMinute: 600, burst: 50 },
		{ ratePerMinute: 6_000, burst: undefined },
		{ ratePerMinute: 60, burst: 1 }
	])(
		'$ratePerMinute/min, burst $burst: a saturated key sends ≤ the limit in any 60 s, and not much less',
		async ({ ratePerMinute, burst }) => {
			vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
			const bucket = new TokenBucket({ ratePerMinute, burst });
			const sent: number[] = [];
			const wanted = ratePerMinute * 2;
			const all = Array.from({ length: wanted }, () => bucket.acquire().then(() => void sent.push(performance.now())));
			await vi.advanceTimersByTimeAsync(150_000);
			await Promise.all(all);
			bucket.close();

			expect(sent).toHaveLength(wanted);
			expect(busiestWindow(sent, 60_000)).toBeLessThanOrEqual(ratePerMinute);
			// The price of the guarantee is the burst, once per minute: at least limit − burst − 1 per minute.
			const effectiveBurst = burst ?? Math.max(1, Math.floor(ratePerMinute / 60));
			expect(sent.filter((t) => t < 60_000).length).toBeGreaterThanOrEqual(ratePerMinute - effectiveBurst - 1);
		}
	);

	it('still refills at the plain rate when the burst is the whole limit', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
		const bucket = new TokenBucket({ ratePerMinute: 2, burst: 2 });
		const sent: number[] = [];
		const all = Array.from({ length: 4 }, () => bucket.acquire().then(() => void sent.push(performance.now())));
		await vi.advanceTimersByTimeAsync(61_000);
		await Promise.all(all);
		bucket.close();
		expect(sent.map((t) => Math.round(t / 1000))).toEqual([0, 0, 30, 60]);
	});
});
