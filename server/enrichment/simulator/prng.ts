/**
 * Seeded randomness for the simulator. Answers are derived from a hash of the normalised request
 * (so the same request always gets the same answer), and fault injection draws from a seeded
 * stream (so a test that sets `seed` sees the same sequence of faults every run).
 */
import { createHash } from 'node:crypto';
import { mulberry32, type Rng } from '../../seeded-random';

export { mulberry32, type Rng };

/** JSON with object keys sorted and `undefined` dropped: equal values give equal text. */
export function stableStringify(value: unknown): string {
	if (value === null || typeof value !== 'object') {
		return JSON.stringify(value ?? null);
	}
	if (Array.isArray(value)) return `[${value.map((item) => stableStringify(item)).join(',')}]`;
	const entries = Object.entries(value as Record<string, unknown>)
		.filter(([, item]) => item !== undefined)
		.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(',')}}`;
}

/** A short, stable hex key for any JSON-like value (sha256 of its stable form, 24 hex digits). */
export function hashKey(...parts: unknown[]): string {
	return createHash('sha256').update(stableStringify(parts)).digest('hex').slice(0, 24);
}

/** A 32-bit seed for any JSON-like value. */
export function seedOf(...parts: unknown[]): number {
	return Number.parseInt(hashKey(...parts).slice(0, 8), 16) >>> 0;
}

/** A PRNG whose sequence is fixed by `parts` (e.g. the simulator seed plus a request hash). */
export function rngFor(...parts: unknown[]): Rng {
	return mulberry32(seedOf(...parts));
}

/** One element of a non-empty list. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
	return items[Math.floor(rng() * items.length)] as T;
}

/** An integer in [min, max], both inclusive. */
export function intBetween(rng: Rng, min: number, max: number): number {
	return min + Math.floor(rng() * (max - min + 1));
}

/** `count` distinct elements (fewer if the list is shorter), in a random order. */
export function sample<T>(rng: Rng, items: readonly T[], count: number): T[] {
	const pool = [...items];
	const out: T[] = [];
	while (out.length < count && pool.length > 0) {
		out.push(pool.splice(Math.floor(rng() * pool.length), 1)[0] as T);
	}
	return out;
}
