/**
 * localStorage that never throws: private windows, full quotas and corrupt values fall back to
 * defaults instead of breaking the page.
 */
import * as v from 'valibot';

/** Reads a JSON value and checks it against a schema; the fallback on anything unexpected. */
export function readStored<S extends v.GenericSchema>(key: string, schema: S, fallback: v.InferOutput<S>): v.InferOutput<S> {
	try {
		const text = globalThis.localStorage?.getItem(key);
		if (text == null) return fallback;
		const parsed = v.safeParse(schema, JSON.parse(text));
		return parsed.success ? parsed.output : fallback;
	} catch {
		return fallback;
	}
}

/** Writes a JSON value; a full or unavailable storage is ignored (the value lives for this tab). */
export function writeStored(key: string, value: unknown): void {
	try {
		globalThis.localStorage?.setItem(key, JSON.stringify(value));
	} catch {
		/* storage unavailable */
	}
}
