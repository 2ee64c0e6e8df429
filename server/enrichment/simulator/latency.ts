/**
 * Simulated latency: a log-normal distribution fixed by its median and 99th percentile, which is
 * the shape real API latencies tend to have (most calls near the median, a long right tail).
 */
import type { Rng } from './prng';

/** Median and p99 of one endpoint's latency; `{ medianMs: 0 }` means "answer at once". */
export interface LatencySpec {
	medianMs: number;
	p99Ms?: number | undefined;
}

/** z-score of the 99th percentile of the standard normal distribution. */
const Z99 = 2.326_347_874;

/** Never wait longer than this multiple of p99, so one unlucky draw cannot stall a test run. */
const TAIL_CAP = 4;

/**
 * One latency draw in milliseconds. With `p99Ms` absent or equal to the median, every draw is the
 * median; otherwise `ln(latency)` is normal with mean `ln(median)` and the spread that puts p99
 * where asked.
 */
export function sampleLatencyMs(spec: LatencySpec, rng: Rng): number {
	const median = Math.max(0, spec.medianMs);
	const p99 = Math.max(median, spec.p99Ms ?? median);
	if (median === 0) return 0;
	if (p99 === median) return median;
	const sigma = Math.log(p99 / median) / Z99;
	const u1 = 1 - rng(); // (0, 1]: keeps log() finite
	const u2 = rng();
	const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
	return Math.min(median * Math.exp(sigma * z), p99 * TAIL_CAP);
}

/**
 * Wait `ms`, or less if `signal` aborts first. Resolves `true` when the full time elapsed and
 * `false` when aborted; never rejects, and leaves no timer behind.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
	if (signal?.aborted) return Promise.resolve(false);
	if (ms <= 0) return Promise.resolve(true);
	return new Promise((resolve) => {
		const onAbort = () => {
			clearTimeout(timer);
			resolve(false);
		};
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve(true);
		}, ms);
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}
