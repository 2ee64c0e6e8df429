/**
 * Property tests of the Y.Doc mapping: any workflow survives a round trip (directly, through the
 * wire encoding, and written over another workflow), and replicas that edit concurrently converge
 * without duplicating or losing blocks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	addBlock,
	docToWorkflow,
	duplicateBlock,
	moveBlock,
	orderedBlockIds,
	removeBlock,
	setName,
	setParam,
	setStructField,
	workflowToDoc
} from '../../src/lib/workflow/doc';
import { FILTER_OPERATORS, STRUCT_FIELD_TYPES, TIERS, type WorkflowInput } from '../../src/lib/workflow/schema';
import { PROPERTY_TIMEOUT_MS } from '../helpers/timeouts';

/** Any code points, plus a small alphabet whose emoji share high surrogates, so diffs hit pairs. */
const text = fc.oneof(
	fc.string({ unit: 'binary', maxLength: 40 }),
	fc.string({ unit: fc.constantFrom('a', 'b', 'é', '😀', '😁', '🈀', '🦊', '𝔘'), maxLength: 12 })
);
const column = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 });
const fieldName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,8}$/);
const concurrency = fc.integer({ min: 1, max: 1_000 });
const structField = fc.oneof(
	text,
	fc.record({ description: text, type: fc.constantFrom(...STRUCT_FIELD_TYPES) }, { requiredKeys: ['description'] })
);

const paramsByType = {
	read_csv: fc.record({ path: text }),
	filter: fc.record(
		{
			expression: text,
			column,
			operator: fc.constantFrom(...FILTER_OPERATORS),
			value: fc.oneof(text, fc.double(), fc.boolean())
		},
		{ requiredKeys: [] }
	),
	enrich_lead: fc.record(
		{
			struct: fc.dictionary(fieldName, structField, { maxKeys: 6 }),
			research_plan: text,
			input_columns: fc.array(column, { maxLength: 4 }),
			tier: fc.constantFrom(...TIERS),
			concurrency
		},
		{ requiredKeys: ['struct'] }
	),
	find_email: fc.record(
		{ mode: fc.constantFrom('PROFESSIONAL', 'PERSONAL'), only_missing: fc.boolean(), concurrency },
		{ requiredKeys: [] }
	),
	save_csv: fc.record({ filename: text }, { requiredKeys: [] })
} as const;

const block = fc.oneof(
	...Object.entries(paramsByType).map(([type, params]) =>
		fc.record({ type: fc.constant(type), params: params as fc.Arbitrary<Record<string, unknown>> })
	)
);

const workflowArb: fc.Arbitrary<WorkflowInput> = fc
	.record(
		{
			name: text,
			blocks: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/), block), {
				maxLength: 8,
				selector: ([id]) => id
			})
		},
		{ requiredKeys: ['blocks'] }
	)
	.map(({ blocks, ...rest }) => ({ ...rest, blocks: blocks.map(([id, b]) => ({ id, ...b })) }) as WorkflowInput);

function pull(to: Y.Doc, from: Y.Doc): void {
	Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));
}

describe('workflow ↔ Y.Doc round trips (fast-check)', () => {
	it(
		'docToWorkflow(workflowToDoc(w)) equals w, also after the binary encoding',
		() => {
			fc.assert(
				fc.property(workflowArb, (workflow) => {
					const doc = workflowToDoc(workflow);
					expect(docToWorkflow(doc)).toEqual(workflow);
					const copy = new Y.Doc();
					Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
					expect(docToWorkflow(copy)).toEqual(workflow);
				}),
				{ numRuns: 200 }
			);
		},
		PROPERTY_TIMEOUT_MS
	);

	it(
		'writing w2 over a doc holding w1 yields exactly w2 (text is diffed, surrogate pairs intact)',
		() => {
			fc.assert(
				fc.property(workflowArb, workflowArb, (w1, w2) => {
					const doc = workflowToDoc(w1);
					workflowToDoc(w2, doc);
					expect(docToWorkflow(doc)).toEqual(w2);
					const copy = new Y.Doc();
					Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
					expect(docToWorkflow(copy)).toEqual(w2);
				}),
				{ numRuns: 200 }
			);
		},
		PROPERTY_TIMEOUT_MS
	);
});

type Op = (doc: Y.Doc, pick: (n: number) => number) => void;

const ops: fc.Arbitrary<Op>[] = [
	fc.constantFrom('read_csv', 'filter', 'enrich_lead', 'save_csv').map((type) => (doc: Y.Doc, pick: (n: number) => number) => {
		if (orderedBlockIds(doc).length < 20) addBlock(doc, { type, index: pick(orderedBlockIds(doc).length + 1) });
	}),
	fc.constant((doc: Y.Doc, pick: (n: number) => number) => {
		const ids = orderedBlockIds(doc);
		if (ids.length) moveBlock(doc, ids[pick(ids.length)], pick(ids.length));
	}),
	fc.constant((doc: Y.Doc, pick: (n: number) => number) => {
		const ids = orderedBlockIds(doc);
		if (ids.length) removeBlock(doc, ids[pick(ids.length)]);
	}),
	fc.constant((doc: Y.Doc, pick: (n: number) => number) => {
		const ids = orderedBlockIds(doc);
		if (ids.length && ids.length < 20) duplicateBlock(doc, ids[pick(ids.length)]);
	}),
	text.map((value) => (doc: Y.Doc, pick: (n: number) => number) => {
		const ids = orderedBlockIds(doc).filter((id) => doc.getMap<Y.Map<unknown>>('blocks').get(id)!.get('type') === 'filter');
		if (!ids.length) return;
		// An expression is a whole value (issue 13): set, never spliced.
		setParam(doc, ids[pick(ids.length)], 'expression', value);
	}),
	fc.tuple(fieldName, fc.option(structField)).map(([field, value]) => (doc: Y.Doc, pick: (n: number) => number) => {
		const ids = orderedBlockIds(doc).filter((id) => doc.getMap<Y.Map<unknown>>('blocks').get(id)!.get('type') === 'enrich_lead');
		if (ids.length) setStructField(doc, ids[pick(ids.length)], field, value ?? undefined);
	}),
	text.map((name) => (doc: Y.Doc) => setName(doc, name))
];

describe('replicas converge (fast-check)', () => {
	it(
		'random concurrent ops on three replicas, synced at random points, converge without duplicates',
		() => {
			fc.assert(
				fc.property(
					workflowArb,
					fc.array(fc.tuple(fc.nat(2), fc.oneof(...ops), fc.array(fc.nat(), { minLength: 3, maxLength: 3 }), fc.boolean()), {
						maxLength: 40
					}),
					(start, steps) => {
						const origin = workflowToDoc(start);
						const replicas = [0, 1, 2].map(() => {
							const d = new Y.Doc();
							pull(d, origin);
							return d;
						});
						const removed = new Set<string>();
						for (const [who, op, picks, sync] of steps) {
							let k = 0;
							const doc = replicas[who];
							const before = new Set(orderedBlockIds(doc));
							op(doc, (n) => picks[k++ % picks.length] % Math.max(1, n));
							for (const id of before) if (!orderedBlockIds(doc).includes(id)) removed.add(id);
							if (sync) pull(replicas[(who + 1) % 3], doc);
						}
						for (const a of replicas) for (const b of replicas) pull(b, a);
						const result = docToWorkflow(replicas[0]);
						expect(docToWorkflow(replicas[1])).toEqual(result);
						expect(docToWorkflow(replicas[2])).toEqual(result);
						const ids = result.blocks.map((b) => b.id);
						expect(new Set(ids).size).toBe(ids.length);
						for (const b of start.blocks) expect(ids.includes(b.id)).toBe(!removed.has(b.id));
					}
				),
				{ numRuns: 150 }
			);
		},
		PROPERTY_TIMEOUT_MS
	);
});
