/**
 * The one place that knows the shape of a workflow's Y.Doc, and converts it to and from Workflow
 * JSON losslessly. Everything else (editor, room server, runs) goes through these functions.
 *
 * Shape (chosen so that what two people do at once merges):
 * ```
 * meta:   Y.Map { name: string }                       a whole value
 * blocks: Y.Map<blockId, Y.Map {
 *           type: BlockType,
 *           position: string,                          fractional index; order = (position, id)
 *           params: Y.Map {
 *             <text param>: Y.Text,                    long free text: concurrent typing merges
 *             <struct param>: Y.Map<field, Y.Map {      one map per field, so edits to different
 *               position, description: string,         fields (or to the description and the
 *               type?: string, form: 'text'|'object'    type of one field) merge
 *             }>,
 *             …every other param: a plain value         last writer wins per param
 *           } }>
 * ```
 * Whole values and free text (issue 13): short structured fields (the name, expressions, file
 * names, struct field keys and descriptions) are plain values, replaced whole, so whatever the
 * interleaving of two people's edits and undos, the field holds a value one of them wrote (never
 * `utana` from `"Anthill"` and `"Autana"`). Only long free text (a research plan) is a Y.Text.
 * Documents stored before this may hold a Y.Text there: it is read as its string and replaced by a
 * plain value on the next write.
 * Which params are text and which structs merge per field is each block's definition
 * (`collab`, e.g. Filter's expression, Enrich Lead's research plan and struct). What is inside a
 * struct's map is doc-struct.ts's; the Y.Text and plain-value helpers are doc-values.ts's.
 * A block is a map entry, not an array element: a move rewrites its `position`, so concurrent
 * moves never duplicate or lose it, and a delete racing an edit simply deletes.
 */
import * as Y from 'yjs';
import { definitionOf, isBlockType } from './blocks';
import { isStructLike, readStruct, setField, STRUCT, writeStruct, type StructFieldInput } from './doc-struct';
import { ensureText, HIDDEN_KEY, isPlainObject, plainJson, replaceText } from './doc-values';
import { comparePositioned, planPositions } from './position';
import { MAX_BLOCKS, type BlockType, type WorkflowInput } from './schema';

export { replaceText } from './doc-values';

export type BlockInput = WorkflowInput['blocks'][number];
type Params = Record<string, unknown>;

/** True when `key` is a param people type into together (kept as Y.Text) in blocks of `type`. */
export function isTextParam(type: unknown, key: string): boolean {
	return definitionOf(type)?.collab?.text?.includes(key) ?? false;
}

/** True when `key` is a struct param kept field by field (concurrent edits to fields merge). */
export function isMergeableStruct(type: unknown, key: string): boolean {
	return definitionOf(type)?.collab?.structs?.includes(key) ?? false;
}

const META = 'meta';
const BLOCKS = 'blocks';
const NAME = 'name';

/** Thrown when an edit names a block or param that is not there, or would break a limit. */
export class WorkflowDocError extends Error {
	override name = 'WorkflowDocError';
}

// ─── reading ────────────────────────────────────────────────────────────────────────────────

/** Block ids in display order: sorted by (position, id), so every replica agrees. */
export function orderedBlockIds(doc: Y.Doc): string[] {
	const items: { id: string; position: string }[] = [];
	blocksOf(doc).forEach((value, id) => {
		if (!(value instanceof Y.Map)) return;
		const position = value.get('position');
		items.push({ id, position: typeof position === 'string' ? position : '' });
	});
	return items.sort(comparePositioned).map((b) => b.id);
}

/**
 * The workflow a Y.Doc holds, as plain JSON (not validated: a half-edited workflow is normal
 * while people type; validate with `WorkflowSchema` before running).
 */
export function docToWorkflow(doc: Y.Doc): WorkflowInput {
	const name = metaOf(doc).get(NAME);
	const blocks = orderedBlockIds(doc).map((id) => readBlock(id, blockMap(doc, id)));
	return {
		...(name instanceof Y.Text ? { name: name.toString() } : typeof name === 'string' ? { name } : {}),
		blocks
	};
}

/** One block as plain JSON, or undefined if there is no such block. */
export function getBlock(doc: Y.Doc, id: string): BlockInput | undefined {
	const map = blocksOf(doc).get(id);
	return map instanceof Y.Map ? readBlock(id, map) : undefined;
}

function readBlock(id: string, map: Y.Map<unknown>): BlockInput {
	const params = map.get('params');
	const type = map.get('type');
	return {
		id,
		type: (type instanceof Y.AbstractType ? plainJson(type) : type) as BlockType,
		params: params instanceof Y.Map ? readParams(params, type) : {}
	} as BlockInput;
}

function readParams(params: Y.Map<unknown>, type: unknown): Params {
	const out: Params = {};
	params.forEach((value, key) => {
		if (key === HIDDEN_KEY) return;
		if (value instanceof Y.Text) out[key] = value.toString();
		else if (value instanceof Y.Map) out[key] = key === STRUCT || isMergeableStruct(type, key) ? readStruct(value) : plainJson(value);
		else if (value instanceof Y.AbstractType) out[key] = plainJson(value);
		else if (value !== undefined) out[key] = structuredClone(value);
	});
	return out;
}

// ─── writing ────────────────────────────────────────────────────────────────────────────────

/**
 * Writes `workflow` into `doc` (a new one by default) as one transaction. On an existing doc it
 * reconciles: blocks are matched by id, unchanged values are not rewritten and text is diffed,
 * so importing over a live room disturbs as little as possible.
 * @throws WorkflowDocError on duplicate block ids.
 */
export function workflowToDoc(workflow: WorkflowInput, doc: Y.Doc = new Y.Doc()): Y.Doc {
	const ids = workflow.blocks.map((b) => b.id);
	if (new Set(ids).size !== ids.length) throw new WorkflowDocError('Block ids must be unique');
	doc.transact(() => {
		if (workflow.name === undefined) metaOf(doc).delete(NAME);
		else setName(doc, workflow.name);
		const blocks = blocksOf(doc);
		const wanted = new Set(ids);
		for (const id of [...blocks.keys()]) if (!wanted.has(id)) blocks.delete(id);
		const existing = workflow.blocks.map((b): Y.Map<unknown> | undefined => {
			const map = blocks.get(b.id);
			return map instanceof Y.Map && map.get('type') === b.type ? map : undefined;
		});
		const positions = planPositions(existing.map((m) => m?.get('position') as string | undefined));
		workflow.blocks.forEach((block, i) => {
			const map = existing[i] ?? createBlockMap(doc, block.id, block.type);
			if (map.get('position') !== positions[i]) map.set('position', positions[i]);
			writeParams(paramsOf(map), block.type, block.params as Params);
		});
	});
	return doc;
}

/** Options of `addBlock`: `index` is where the block ends up (default: last). */
export interface AddBlockOptions {
	type: BlockType;
	params?: Params;
	index?: number;
	/** Default: a fresh random id. */
	id?: string;
}

/**
 * Adds a block (with its type's default params unless given) and returns its id.
 * @throws WorkflowDocError for an unknown type, a taken id, or more than MAX_BLOCKS blocks.
 */
export function addBlock(doc: Y.Doc, options: AddBlockOptions): string {
	if (!isBlockType(options.type)) throw new WorkflowDocError(`Unknown block type: ${String(options.type)}`);
	const id = options.id ?? newBlockId();
	const blocks = blocksOf(doc);
	if (blocks.has(id)) throw new WorkflowDocError(`Block id ${id} is taken`);
	if (blocks.size >= MAX_BLOCKS) throw new WorkflowDocError(`At most ${MAX_BLOCKS} blocks`);
	const params = options.params ?? (definitionOf(options.type)!.defaults() as Params);
	doc.transact(() => {
		const map = createBlockMap(doc, id, options.type);
		placeBlock(doc, id, map, options.index);
		writeParams(paramsOf(map), options.type, params);
	});
	return id;
}

/**
 * Moves a block so that it ends up at `toIndex` (clamped). Only the moved block's position
 * changes (plus any blocks whose keys tied after concurrent inserts), so moves merge.
 */
export function moveBlock(doc: Y.Doc, id: string, toIndex: number): void {
	const map = blockMap(doc, id);
	doc.transact(() => placeBlock(doc, id, map, toIndex));
}

/** Deletes a block; returns false if it was not there (e.g. someone else deleted it first). */
export function removeBlock(doc: Y.Doc, id: string): boolean {
	const blocks = blocksOf(doc);
	if (!blocks.has(id)) return false;
	blocks.delete(id);
	return true;
}

/** Copies a block (type and params) right after the original; returns the copy's id. */
export function duplicateBlock(doc: Y.Doc, id: string): string {
	const source = readBlock(id, blockMap(doc, id));
	const index = orderedBlockIds(doc).indexOf(id) + 1;
	return addBlock(doc, { type: source.type, params: source.params as Params, index });
}

/**
 * Sets one param of a block; `undefined` removes it. Text params are diffed into their Y.Text and
 * a struct is reconciled field by field, so a whole-value write still merges with others' edits.
 */
export function setParam(doc: Y.Doc, id: string, key: string, value: unknown): void {
	const map = blockMap(doc, id);
	const params = paramsOf(map);
	doc.transact(() => {
		if (value === undefined) params.delete(key);
		else writeParam(params, map.get('type') as BlockType, key, value);
	});
}

/**
 * The Y.Text behind a text param, for binding an input to it (created from the current value if
 * the param was missing or plain).
 * @throws WorkflowDocError if `key` is not a free-text param of the block's type.
 */
export function getParamText(doc: Y.Doc, id: string, key: string): Y.Text {
	const map = blockMap(doc, id);
	const type = map.get('type') as BlockType;
	if (!isTextParam(type, key)) {
		throw new WorkflowDocError(`${key} is not a text param of ${String(type)} blocks`);
	}
	const params = paramsOf(map);
	const current = params.get(key);
	if (current instanceof Y.Text) return current;
	return ensureText(params, key, typeof current === 'string' ? current : '');
}

/**
 * Sets (or with `undefined` removes) one field of a mergeable struct param (`struct` by default);
 * a new field goes last and a field keeps its place. Its description is a whole value.
 */
export function setStructField(doc: Y.Doc, id: string, field: string, value: StructFieldInput | undefined, param: string = STRUCT): void {
	const struct = structOf(doc, id, param);
	doc.transact(() => setField(struct, field, value));
}

/** Sets the workflow's name (a whole value). */
export function setName(doc: Y.Doc, name: string): void {
	const meta = metaOf(doc);
	if (meta.get(NAME) !== name) meta.set(NAME, name);
}

/** The workflow's name ('' when unnamed). */
export function getName(doc: Y.Doc): string {
	const current = metaOf(doc).get(NAME);
	return current instanceof Y.Text ? current.toString() : typeof current === 'string' ? current : '';
}

// ─── internals ──────────────────────────────────────────────────────────────────────────────

function metaOf(doc: Y.Doc): Y.Map<unknown> {
	return doc.getMap(META);
}

function blocksOf(doc: Y.Doc): Y.Map<unknown> {
	return doc.getMap(BLOCKS);
}

function blockMap(doc: Y.Doc, id: string): Y.Map<unknown> {
	const map = blocksOf(doc).get(id);
	if (!(map instanceof Y.Map)) throw new WorkflowDocError(`No block ${id}`);
	return map;
}

function paramsOf(block: Y.Map<unknown>): Y.Map<unknown> {
	const params = block.get('params');
	if (params instanceof Y.Map) return params;
	const created = new Y.Map<unknown>();
	block.set('params', created);
	return created;
}

function structOf(doc: Y.Doc, id: string, param: string): Y.Map<unknown> {
	const map = blockMap(doc, id);
	if (!isMergeableStruct(map.get('type'), param))
		throw new WorkflowDocError(`Block ${id} has no ${param === STRUCT ? 'struct' : `struct ${param}`}`);
	const params = paramsOf(map);
	const current = params.get(param);
	if (current instanceof Y.Map) return current;
	const plain = current;
	const struct = new Y.Map<unknown>();
	doc.transact(() => {
		params.set(param, struct);
		if (isStructLike(plain)) writeStruct(struct, plain);
	});
	return struct;
}

/** Creates an empty block map in the doc (integrated first, so nested types can be filled). */
function createBlockMap(doc: Y.Doc, id: string, type: BlockType): Y.Map<unknown> {
	const map = new Y.Map<unknown>();
	blocksOf(doc).set(id, map);
	map.set('type', type);
	map.set('params', new Y.Map<unknown>());
	return map;
}

/** Gives block `id` a position so it lands at `index` among the others. */
function placeBlock(doc: Y.Doc, id: string, map: Y.Map<unknown>, index = Number.POSITIVE_INFINITY): void {
	const order = orderedBlockIds(doc).filter((other) => other !== id);
	const at = Math.max(0, Math.min(order.length, Number.isFinite(index) ? Math.trunc(index) : order.length));
	order.splice(at, 0, id);
	const maps = order.map((other) => (other === id ? map : blockMap(doc, other)));
	const current = maps.map((m) => (m === map ? undefined : (m.get('position') as string | undefined)));
	const positions = planPositions(current);
	maps.forEach((m, i) => {
		if (m.get('position') !== positions[i]) m.set('position', positions[i]);
	});
}

function writeParams(params: Y.Map<unknown>, type: BlockType, values: Params): void {
	for (const key of [...params.keys()]) if (values[key] === undefined) params.delete(key);
	for (const [key, value] of Object.entries(values)) if (value !== undefined) writeParam(params, type, key, value);
}

function writeParam(params: Y.Map<unknown>, type: BlockType, key: string, value: unknown): void {
	const current = params.get(key);
	if (typeof value === 'string' && isTextParam(type, key)) {
		if (current instanceof Y.Text) replaceText(current, value);
		else ensureText(params, key, value);
	} else if (isMergeableStruct(type, key) && isStructLike(value)) {
		if (current instanceof Y.Map) writeStruct(current, value);
		else {
			const struct = new Y.Map<unknown>();
			params.set(key, struct);
			writeStruct(struct, value);
		}
	} else if (current instanceof Y.AbstractType || !deepEqual(current, value)) {
		params.set(key, structuredClone(value));
	}
}

function deepEqual(a: unknown, b: unknown): boolean {
	if (Object.is(a, b)) return true;
	if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
	if (isPlainObject(a) && isPlainObject(b)) {
		const keys = Object.keys(a);
		return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
	}
	return false;
}

/** A short unguessable-enough block id (ids only need to be unique within one workflow). */
function newBlockId(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(9));
	let id = 'b';
	for (const byte of bytes) id += (byte % 36).toString(36);
	return id;
}
