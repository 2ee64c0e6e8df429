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
	const keep = longestIncreasing(current);
	const result = new Array<string>(current.length);
	let i = 0;
	while (i < current.length) {
		if (keep[i]) {
			result[i] = current[i] as string;
			i++;
			continue;
		}
		let j = i;
		while (j < current.length && !keep[j]) j++;
		const lower = i > 0 ? result[i - 1] : null;
		const upper = j < current.length ? (current[j] as string) : null;
		const keys = generateNKeysBetween(lower, upper, j - i);
		for (let k = i; k < j; k++) result[k] = keys[k - i];
		i = j;
	}
	return result;
}

/** Marks the indexes of a longest strictly increasing run of valid keys (patience sorting). */
function longestIncreasing(keys: readonly (string | null | undefined)[]): boolean[] {
	const tails: number[] = []; // tails[len] = index of the smallest tail of a run of length len+1
	const prev = new Array<number>(keys.length).fill(-1);
	for (let i = 0; i < keys.length; i++) {
		const key = keys[i];
		if (!isValidPosition(key)) continue;
		let lo = 0;
		let hi = tails.length;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if ((keys[tails[mid]] as string) < key) lo = mid + 1;
			else hi = mid;
		}
		prev[i] = lo > 0 ? tails[lo - 1] : -1;
		tails[lo] = i;
	}
	const keep = new Array<boolean>(keys.length).fill(false);
	let k = tails.length > 0 ? tails[tails.length - 1] : -1;
	while (k >= 0) {
		keep[k] = true;
		k = prev[k];
	}
	return keep;
}
