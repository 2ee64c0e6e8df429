/**
 * Test timeouts for work whose amount is fixed but whose duration is not. A fast-check run or a loop
 * of a thousand in-process requests does the same work on every machine; on a loaded two-core
 * machine it just takes several times longer than Vitest's 5 s default. These timeouts only catch
 * a run that never ends; speed is measured in tests/bench, not here.
 */

/** A property test (fast-check) or another CPU-bound loop of fixed size. */
export const PROPERTY_TIMEOUT_MS = 60_000;
