/**
 * CPU time, for the few tests that box a computation to catch a blow-up (a hang, exponential
 * backtracking). The wall clock is the wrong meter there: it keeps running while the OS runs other
 * processes, so on a loaded two-core machine a 1 ms compile can read as 100 ms. CPU time counts
 * only work this process did. It is process-wide (worker threads and the garbage collector count
 * too), so boxes measured with it must still be generous; speed itself belongs in tests/bench.
 */

/** CPU time (user + system) this process has used so far, in ms. */
export function cpuMs(): number {
	const { user, system } = process.cpuUsage();
	return (user + system) / 1_000;
}

/** Runs `work` and returns its result with the CPU time it took (ms). */
export function withCpuMs<T>(work: () => T): { value: T; ms: number } {
	const started = cpuMs();
	const value = work();
	return { value, ms: cpuMs() - started };
}
