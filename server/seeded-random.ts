/**
 * A seeded source of uniform numbers, for what must be random yet repeatable: the simulator's
 * answers and faults, and the ETA's simulations (the same state gives the same estimate).
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32: a small, fast PRNG with a 32-bit state; good enough for fake data, faults and estimates. */
export function mulberry32(seed: number): Rng {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	};
}
