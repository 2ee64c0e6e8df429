/**
 * Value helpers shared by the workflow doc's modules (doc.ts, doc-struct.ts): text written into a
 * Y.Text as the smallest splice, plain data out of Y types, and the one key never read.
 */
import * as Y from 'yjs';
import { diffText } from './text-diff';

/**
 * A key no workflow uses that, assigned on a plain object, sets its prototype: a value stored under
 * it would be invisible in JSON (export, editor) yet read by the schema and the run. Never read.
 */
export const HIDDEN_KEY = '__proto__';

/**
 * A Y type's content as plain data. `toJSON` assigns keys, so a `__proto__` key written by a peer
 * would become a prototype; `structuredClone` keeps own properties only and drops it.
 */
export function plainJson(value: { toJSON(): unknown }): unknown {
	return structuredClone(value.toJSON());
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Sets `parent[key]` to a new Y.Text holding `value`. */
export function ensureText(parent: Y.Map<unknown>, key: string, value: string): Y.Text {
	const text = new Y.Text();
	parent.set(key, text);
	if (value) text.insert(0, value);
	return text;
}

/**
 * Rewrites `text` to `value` by replacing only the middle that differs (`diffText`, the same
 * splice a keystroke makes in a bound input), so concurrent typing elsewhere in the same text
 * survives. Never splits a surrogate pair (Yjs would mangle it).
 */
export function replaceText(text: Y.Text, value: string): void {
	const splice = diffText(text.toString(), value);
	if (splice === null) return;
	const apply = () => {
		if (splice.remove > 0) text.delete(splice.index, splice.remove);
		if (splice.insert) text.insert(splice.index, splice.insert);
	};
	if (text.doc) text.doc.transact(apply);
	else apply();
}
