/**
 * The pure half of binding a text field to a Y.Text: the smallest single splice that turns one
 * string into another (what a keystroke, a paste or a cut does), and how a remote edit moves a
 * caret. Two people typing in one field then merge character by character instead of one
 * overwriting the other.
 */

/** Replace `remove` characters at `index` by `insert`. */
export interface Splice {
	index: number;
	remove: number;
	insert: string;
}

/**
 * The splice between two values: common prefix and suffix are kept, the middle is replaced.
 * `caret` (the cursor after the edit) breaks ties when the same character repeats, so typing "a"
 * into "aa" inserts where the cursor is.
 * @example diffText('hello', 'help') // { index: 3, remove: 2, insert: 'p' }
 */
export function diffText(before: string, after: string, caret?: number): Splice | null {
	if (before === after) return null;
	const max = Math.min(before.length, after.length);
	let prefix = 0;
	while (prefix < max && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
	// The edit ends at the caret: an insertion of d characters starts at caret - d at the latest.
	if (caret !== undefined) prefix = Math.min(prefix, Math.max(0, caret - Math.max(0, after.length - before.length)));
	// Never split a surrogate pair; backing off before the suffix is measured keeps the splice smallest.
	if (prefix > 0 && isHighSurrogate(before.charCodeAt(prefix - 1))) prefix--;
	let suffix = 0;
	while (
		suffix < before.length - prefix &&
		suffix < after.length - prefix &&
		before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
	)
		suffix++;
	const index = prefix;
	let endBefore = before.length - suffix;
	let endAfter = after.length - suffix;
	if (endBefore < before.length && isLowSurrogate(before.charCodeAt(endBefore))) {
		endBefore++;
		endAfter++;
	}
	return { index, remove: endBefore - index, insert: after.slice(index, endAfter) };
}

/** Applies a splice to a string (the inverse check of `diffText`). */
export function applySplice(text: string, splice: Splice): string {
	return text.slice(0, splice.index) + splice.insert + text.slice(splice.index + splice.remove);
}

/** One entry of a Y.Text change delta. */
export type DeltaOp = { retain?: number; insert?: unknown; delete?: number };

/**
 * Where a caret at `position` ends up after a remote change described by a Yjs delta: text
 * inserted before it pushes it right, text deleted before it pulls it left, an insert exactly at
 * the caret lands to its right (the other person typed where you stand; you keep your place).
 */
export function transformPosition(position: number, delta: readonly DeltaOp[]): number {
	let oldIndex = 0;
	let shift = 0;
	for (const op of delta) {
		if (oldIndex >= position) break;
		if (op.retain !== undefined) oldIndex += op.retain;
		else if (op.insert !== undefined) shift += typeof op.insert === 'string' ? op.insert.length : 1;
		else if (op.delete !== undefined) {
			shift -= Math.min(op.delete, position - oldIndex);
			oldIndex += op.delete;
		}
	}
	return Math.max(0, position + shift);
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
