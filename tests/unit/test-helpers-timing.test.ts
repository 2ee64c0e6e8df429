/**
 * The timing helpers other tests lean on must discriminate, or the tests using them cannot fail:
 * `settledAtOnce` tells microtask-only settling from anything that waits for a timer or I/O, and
 * `cpuMs` counts work, not waiting.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cpuMs } from '../helpers/cpu-time';
import { STILL_PENDING, settledAtOnce } from '../helpers/settles';

afterEach(() => {
	vi.useRealTimers();
});

describe('settledAtOnce', () => {
	it('sees a value that arrives through a long chain of microtasks', async () => {
		let chain: Promise<number> = Promise.resolve(0);
		for (let i = 0; i < 1_000; i++) chain = chain.then((n) => n + 1);
		expect(await settledAtOnce(chain)).toBe(1_000);
	});

	it('reports a promise that nothing settles as still pending', async () => {
		expect(await settledAtOnce(new Promise(() => {}))).toBe(STILL_PENDING);
	});

	it('reports a promise that waits for a timer as still pending, until the timer fires (fake clock)', async () => {
		vi.useFakeTimers();
		const timer = new Promise((r) => setTimeout(() => r('fired'), 1));
		expect(await settledAtOnce(timer)).toBe(STILL_PENDING);
		await vi.advanceTimersByTimeAsync(1);
		expect(await settledAtOnce(timer)).toBe('fired');
	});
});

describe('cpuMs', () => {
	it('grows with work and hardly at all while waiting', async () => {
		const beforeWait = cpuMs();
		await new Promise((r) => setTimeout(r, 200));
		const waited = cpuMs() - beforeWait;
		const beforeWork = cpuMs();
		let x = 0;
		for (let i = 0; i < 20_000_000; i++) x = (x * 31 + i) | 0; // a fixed amount of work (tens of ms of CPU)
		const worked = cpuMs() - beforeWork;
		expect(x).not.toBe(0.5); // keeps the loop from being optimised away
		expect(worked).toBeGreaterThan(waited);
		expect(waited).toBeLessThan(50);
	});
});
