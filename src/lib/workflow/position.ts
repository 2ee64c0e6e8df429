/**
 * Fractional positions for ordered collections inside a Y.Doc (blocks, struct fields).
 *
 * Why not a Y.Array: moving an item in a Y.Array is delete + insert, so two people moving the same
 * block at once end up with two copies. With a position key per item, a move rewrites one string
 * (last writer wins), so a block is never duplicated or lost; order = sort by (position, id).
 * Concurrent inserts at the same spot may produce equal keys: the id breaks the tie, and the next
 * write through `planPositions` re-keys them apart.
 */
import { generateKeyBetween, generateNKeysBetween } from 'fractional-indexing';

/** Anything ordered by a fractional position, with a stable id as the tie-breaker. */
export interface Positioned {
	id: string;
	position: string;
}

/** True if `key` is a position `fractional-indexing` can generate neighbours for. */
export function isValidPosition(key: unknown): key is string {
	if (typeof key !== 'string' || key.length === 0 || key.length > 1_000) return false;
	try {
		generateKeyBetween(key, null);
		return true;
	} catch {
		return false;
	}
}

/** Orders by position, then by id (plain code-unit comparison, as the keys are ASCII). */
export function comparePositioned(a: Positioned, b: Positioned): number {
	if (a.position !== b.position) return a.position < b.position ? -1 : 1;
	if (a.id !== b.id) return a.id < b.id ? -1 : 1;
	return 0;
}

/**
 * Given the current positions of items listed in their desired order (undefined for new items or
 * unusable keys), returns a strictly increasing list of positions that keeps as many existing keys
 * as possible (a longest increasing subsequence) and generates keys in the gaps. Only the items
 * whose key changes need a write, so a move touches one block and merges with other moves.
 *
 * @example planPositions(['a0', undefined, 'a1']) // → ['a0', 'a0V', 'a1']
 */
export function planPositions(current: readonly (string | null | undefined)[]): string[] {
	const kept = longestIncreasing(current);
	const result: string[] = [];
	/** Items since the last kept key, waiting for the next kept key (their upper bound). */
	let gap = 0;
	const fillGap = (upper: string | null) => {
		if (gap === 0) return;
		result.push(...generateNKeysBetween(result.at(-1) ?? null, upper, gap));
		gap = 0;
	};
	for (const key of kept) {
		if (key === undefined) gap++;
		else {
			fillGap(key);
			result.push(key);
		}
	}
	fillGap(null);
	return result;
}

/** One link of a run in `longestIncreasing`: a kept key and the run it extends. */
interface RunLink {
	index: number;
	key: string;
	previous: RunLink | null;
}

/**
 * Keeps a longest strictly increasing run of valid keys (patience sorting): the same list with the
 * kept keys in place and undefined everywhere else.
 */
function longestIncreasing(keys: readonly (string | null | undefined)[]): (string | undefined)[] {
	const tails: RunLink[] = []; // tails[len] = the smallest tail of a run of length len+1
	keys.forEach((key, index) => {
		if (!isValidPosition(key)) return;
		let lo = 0;
		let hi = tails.length;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (tails[mid]!.key < key)
				lo = mid + 1; // lo ≤ mid < hi ≤ tails.length: in range
			else hi = mid;
		}
		tails[lo] = { index, key, previous: tails[lo - 1] ?? null };
	});
	const kept = new Array<string | undefined>(keys.length).fill(undefined);
	for (let link = tails.at(-1) ?? null; link; link = link.previous) kept[link.index] = link.key;
	return kept;
}
