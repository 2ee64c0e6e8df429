/**
 * Mergeable struct params in the workflow doc (Enrich Lead's `struct`, …): one Y.Map per field
 * `{ position, description, type?, form }`, so edits to different fields — or to the description
 * and the type of one field — made at once both survive. A description is a whole value (issue 13:
 * never merged or undone character by character); older documents may hold a Y.Text, read as its
 * string and replaced on the next write. doc.ts finds the struct's
 * map in a block; this module reads and writes what is inside it.
 */
import * as Y from 'yjs';
import { comparePositioned, planPositions } from './position';
import { HIDDEN_KEY, isPlainObject, plainJson } from './doc-values';

/** The struct param of blocks whose definition does not name another. */
export const STRUCT = 'struct';

/** A field as JSON: a bare description (`form: 'text'`) or `{ description, type? }`. */
export type StructFieldInput = string | { description: string; type?: string };

/** A struct we can store field by field: every field a string or `{description, type?}`. */
export function isStructLike(value: unknown): value is Record<string, StructFieldInput> {
	if (!isPlainObject(value)) return false;
	return Object.values(value).every(
		(field) =>
			typeof field === 'string' ||
			(isPlainObject(field) &&
				typeof field.description === 'string' &&
				(field.type === undefined || typeof field.type === 'string') &&
				Object.keys(field).every((k) => k === 'description' || k === 'type'))
	);
}

/** The struct as JSON, fields in (position, name) order. */
export function readStruct(struct: Y.Map<unknown>): Record<string, unknown> {
	const fields: { id: string; position: string; map: Y.Map<unknown> }[] = [];
	struct.forEach((value, field) => {
		if (!(value instanceof Y.Map) || field === HIDDEN_KEY) return;
		const position = value.get('position');
		fields.push({ id: field, position: typeof position === 'string' ? position : '', map: value });
	});
	const out: Record<string, unknown> = {};
	for (const { id, map } of fields.sort(comparePositioned)) {
		const description = map.get('description');
		const text = description instanceof Y.Text ? description.toString() : String(description ?? '');
		const raw = map.get('type');
		const type = raw instanceof Y.AbstractType ? plainJson(raw) : raw;
		out[id] = map.get('form') === 'text' && type === undefined ? text : { description: text, ...(type !== undefined ? { type } : {}) };
	}
	return out;
}

/** Reconciles the struct with `value`: fields matched by name keep their map and place. */
export function writeStruct(struct: Y.Map<unknown>, value: Record<string, StructFieldInput>): void {
	const fields = Object.entries(value).map(([name, input]) => {
		const current = struct.get(name);
		return { name, input, map: current instanceof Y.Map ? (current as Y.Map<unknown>) : undefined };
	});
	const wanted = new Set(fields.map((field) => field.name));
	for (const field of [...struct.keys()]) if (!wanted.has(field)) struct.delete(field);
	const positions = planPositions(fields.map((field) => field.map?.get('position') as string | undefined));
	fields.forEach(({ name, input, map: existing }, i) => {
		const position = positions[i]!; // planPositions gives one position per item, in order
		const map = existing ?? createStructField(struct, name, position);
		if (map.get('position') !== position) map.set('position', position);
		writeStructField(map, input);
	});
}

/**
 * Sets (or with `undefined` removes) one field; a new field goes last, a field keeps its place.
 * Call inside a transaction.
 */
export function setField(struct: Y.Map<unknown>, field: string, value: StructFieldInput | undefined): void {
	if (value === undefined) {
		struct.delete(field);
		return;
	}
	const current = struct.get(field);
	if (current instanceof Y.Map) writeStructField(current, value);
	else {
		const last = readStructOrder(struct).at(-1);
		const position = planPositions(last === undefined ? [undefined] : [last, undefined]).at(-1) as string;
		writeStructField(createStructField(struct, field, position), value);
	}
}

function readStructOrder(struct: Y.Map<unknown>): string[] {
	const positions: { id: string; position: string }[] = [];
	struct.forEach((value, id) => {
		const position = value instanceof Y.Map ? value.get('position') : undefined;
		if (typeof position === 'string') positions.push({ id, position });
	});
	return positions.sort(comparePositioned).map((p) => p.position);
}

function createStructField(struct: Y.Map<unknown>, field: string, position: string): Y.Map<unknown> {
	const map = new Y.Map<unknown>();
	struct.set(field, map);
	map.set('position', position);
	return map;
}

function writeStructField(map: Y.Map<unknown>, value: StructFieldInput): void {
	const form = typeof value === 'string' ? 'text' : 'object';
	const description = typeof value === 'string' ? value : value.description;
	const type = typeof value === 'string' ? undefined : value.type;
	if (map.get('form') !== form) map.set('form', form);
	if (map.get('description') !== description) map.set('description', description);
	if (type === undefined) {
		if (map.has('type')) map.delete('type');
	} else if (map.get('type') !== type) map.set('type', type);
}
