/**
 * The Y.Doc ↔ Workflow mapping against documents a hostile (or buggy) peer wrote (fast-check).
 * doc-property.test.ts covers well-formed docs (round trips, convergence); here every level of the
 * shape holds the wrong thing — blocks that are strings or arrays, params that are Y.Text, struct
 * fields that are numbers, `__proto__` and `constructor` as keys — delivered as a binary update,
 * the way it reaches the server. Properties:
 * - `docToWorkflow` never throws, gives unique block ids and plain JSON;
 * - what the schema sees is what JSON shows (no value hidden in a prototype: what is exported or
 *   displayed is what runs);
 * - writing a valid workflow over the hostile doc repairs it: reading back gives exactly that workflow.
 */
import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { docToWorkflow, workflowToDoc } from '../../src/lib/workflow/doc';
import { BLOCK_TYPES, WorkflowSchema, type WorkflowInput } from '../../src/lib/workflow/schema';
import { PROPERTY_TIMEOUT_MS } from '../helpers/timeouts';

/** A value a peer may put anywhere in the doc. */
type Spec =
	| { k: 'prim'; v: string | number | boolean | null }
	| { k: 'json'; v: unknown }
	| { k: 'bytes'; v: Uint8Array }
	| { k: 'text'; v: string }
	| { k: 'array'; v: Spec[] }
	| { k: 'map'; v: [string, Spec][] };

const KEYS = [
	'type',
	'position',
	'params',
	'struct',
	'path',
	'expression',
	'description',
	'form',
	'name',
	'mode',
	'filename',
	'__proto__',
	'constructor',
	'toString',
	'blocks',
	'meta'
];
const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });
const prim = fc.oneof(
	fc.string({ maxLength: 12 }),
	fc.double(),
	fc.integer(),
	fc.boolean(),
	fc.constant(null),
	fc.constantFrom(...BLOCK_TYPES, 'a0', 'Zz')
);

const { spec } = fc.letrec<{ spec: Spec }>((tie) => ({
	spec: fc.oneof(
		{ depthSize: 'small', withCrossShrink: true },
		prim.map((v): Spec => ({ k: 'prim', v })),
		fc.jsonValue({ maxDepth: 2 }).map((v): Spec => ({ k: 'json', v })),
		fc.uint8Array({ maxLength: 4 }).map((v): Spec => ({ k: 'bytes', v })),
		fc.string({ maxLength: 12 }).map((v): Spec => ({ k: 'text', v })),
		fc.array(tie('spec'), { maxLength: 3 }).map((v): Spec => ({ k: 'array', v })),
		fc.array(fc.tuple(key, tie('spec')), { maxLength: 5 }).map((v): Spec => ({ k: 'map', v }))
	)
}));

/** A block-like map: the right keys with values of any kind, plus extra keys. */
const blockSpec = fc
	.record({
		type: fc.oneof(
			fc.constantFrom(...BLOCK_TYPES).map((t): Spec => ({ k: 'prim', v: t })),
			spec
		),
		position: fc.oneof(
			fc.string({ maxLength: 4 }).map((p): Spec => ({ k: 'prim', v: p })),
			spec
		),
		params: fc.oneof(
			fc.array(fc.tuple(key, spec), { maxLength: 5 }).map((v): Spec => ({ k: 'map', v })),
			spec
		),
		extra: fc.array(fc.tuple(key, spec), { maxLength: 2 })
	})
	.map(({ type, position, params, extra }): Spec => ({
		k: 'map',
		v: [['type', type], ['position', position], ['params', params], ...extra]
	}));

const hostileDoc = fc.record({
	meta: fc.array(fc.tuple(key, spec), { maxLength: 3 }),
	blocks: fc.array(
		fc.tuple(
			fc.oneof(key, fc.stringMatching(/^[a-z0-9]{1,6}$/)),
			fc.oneof({ weight: 3, arbitrary: blockSpec }, { weight: 1, arbitrary: spec })
		),
		{
			maxLength: 6
		}
	)
});

function materialize(s: Spec): unknown {
	switch (s.k) {
		case 'prim':
		case 'json':
		case 'bytes':
			return s.v;
		case 'text':
			return new Y.Text(s.v);
		case 'array': {
			const array = new Y.Array<unknown>();
			array.push(s.v.map(materialize));
			return array;
		}
		case 'map': {
			const map = new Y.Map<unknown>();
			for (const [k, value] of s.v) map.set(k, materialize(value));
			return map;
		}
	}
}

/** The hostile doc as the server receives it: a binary update applied to a fresh doc. */
function receive(shape: { meta: [string, Spec][]; blocks: [string, Spec][] }): Y.Doc {
	const author = new Y.Doc();
	author.transact(() => {
		for (const [k, s] of shape.meta) author.getMap('meta').set(k, materialize(s));
		for (const [k, s] of shape.blocks) author.getMap('blocks').set(k, materialize(s));
	});
	const doc = new Y.Doc();
	Y.applyUpdate(doc, Y.encodeStateAsUpdate(author));
	author.destroy();
	return doc;
}

/** Every object in `value`, at any depth, has the plain Object (or Array) prototype. */
function expectPlainJson(value: unknown, path = '$'): void {
	if (value === null || typeof value !== 'object') return;
	if (value instanceof Uint8Array) return;
	const proto = Object.getPrototypeOf(value);
	expect(proto === Object.prototype || proto === Array.prototype, `${path} has a foreign prototype`).toBe(true);
	for (const [k, child] of Object.entries(value)) expectPlainJson(child, `${path}.${k}`);
}

/** Valid workflows whose block ids often collide with the hostile doc's keys. */
const validWorkflow: fc.Arbitrary<WorkflowInput> = fc
	.record({
		name: fc.string({ maxLength: 10 }),
		blocks: fc.array(
			fc.tuple(
				fc.constantFrom('', 'a', 'b', 'type', 'params', '0'),
				fc.oneof(
					fc.record({ type: fc.constant('read_csv'), params: fc.record({ path: fc.string({ minLength: 1, maxLength: 8 }) }) }),
					fc.record({ type: fc.constant('filter'), params: fc.record({ expression: fc.string({ maxLength: 8 }) }) }),
					fc.record({
						type: fc.constant('enrich_lead'),
						params: fc.record({
							struct: fc.dictionary(fc.constantFrom('title', 'city', 'type', 'x_1'), fc.string({ maxLength: 8 }), {
								maxKeys: 3
							})
						})
					}),
					fc.record({ type: fc.constant('save_csv'), params: fc.record({ filename: fc.string({ maxLength: 8 }) }) })
				)
			),
			{ maxLength: 4 }
		)
	})
	.map(({ name, blocks }) => ({ name, blocks: blocks.map(([id, block], i) => ({ id: `${id}${i}`, ...block })) }) as WorkflowInput);

describe('docToWorkflow on documents a hostile peer wrote (fast-check)', () => {
	it(
		'never throws; unique ids; plain JSON; the schema sees exactly what JSON shows',
		() => {
			let valid = 0;
			fc.assert(
				fc.property(hostileDoc, (shape) => {
					const doc = receive(shape);
					const workflow = docToWorkflow(doc);
					const ids = workflow.blocks.map((b) => b.id);
					expect(new Set(ids).size).toBe(ids.length);
					expectPlainJson(workflow);
					const asJson = JSON.parse(JSON.stringify(workflow, (_k, value) => (value instanceof Uint8Array ? [...value] : value)));
					const direct = v.safeParse(WorkflowSchema, workflow);
					const viaJson = v.safeParse(WorkflowSchema, asJson);
					expect(direct.success).toBe(viaJson.success);
					if (direct.success && viaJson.success) {
						valid++;
						expect(direct.output).toEqual(viaJson.output);
					}
					doc.destroy();
				}),
				{ numRuns: 400 }
			);
			expect(valid).toBeGreaterThan(0);
		},
		PROPERTY_TIMEOUT_MS
	);

	it(
		'a valid workflow written over a hostile doc reads back exactly (the doc is repaired)',
		() => {
			fc.assert(
				fc.property(hostileDoc, validWorkflow, (shape, workflow) => {
					const doc = receive(shape);
					workflowToDoc(workflow, doc);
					expect(docToWorkflow(doc)).toEqual(workflow);
					// …and so does every peer that receives the repaired state.
					const peer = new Y.Doc();
					Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc));
					expect(docToWorkflow(peer)).toEqual(workflow);
					doc.destroy();
					peer.destroy();
				}),
				{ numRuns: 200 }
			);
		},
		PROPERTY_TIMEOUT_MS
	);

	it.each([
		['params.__proto__ holding a path', { k: 'map', v: [['__proto__', { k: 'json', v: { path: 'uploads/x.csv' } }]] } as Spec],
		[
			'params.__proto__ as a Y.Map',
			{ k: 'map', v: [['__proto__', { k: 'map', v: [['path', { k: 'prim', v: 'uploads/x.csv' }]] }]] } as Spec
		]
	])('%s: no param appears that JSON does not show', (_label, params) => {
		const doc = receive({
			meta: [],
			blocks: [
				[
					'r',
					{
						k: 'map',
						v: [
							['type', { k: 'prim', v: 'read_csv' }],
							['position', { k: 'prim', v: 'a0' }],
							['params', params]
						]
					}
				]
			]
		});
		const workflow = docToWorkflow(doc);
		const block = workflow.blocks[0] as { params: Record<string, unknown> };
		expectPlainJson(workflow);
		expect(Object.hasOwn(block.params, 'path')).toBe(false);
		expect(block.params.path).toBeUndefined();
		expect(v.safeParse(WorkflowSchema, workflow).success).toBe(false);
	});
});
