/**
 * "At once" without a stopwatch. A wall-clock bound ("settles within 100 ms") fails whenever the OS
 * leaves the test process off the CPU for a moment, which a loaded machine does all the time. What
 * such tests mean is that nothing is waited for: no timer has to fire, no I/O has to arrive. That
 * is checkable exactly — a promise that settles through microtasks alone settles before the event
 * loop reaches its next `setImmediate`, however slow the machine.
 */

/** Captured at import, so tests that fake timers (`vi.useFakeTimers`) still get the real one. */
const realSetImmediate = globalThis.setImmediate;

export const STILL_PENDING = Symbol('still pending');

/** `promise`'s value if it settles before the event loop turns, else `STILL_PENDING`. */
export function settledAtOnce<T>(promise: Promise<T>): Promise<T | typeof STILL_PENDING> {
	return Promise.race([promise, new Promise<typeof STILL_PENDING>((resolve) => realSetImmediate(() => resolve(STILL_PENDING)))]);
}
