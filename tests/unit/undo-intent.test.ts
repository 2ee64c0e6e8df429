/**
 * Undo by intent (issue 13, src/lib/workflow/undo.ts): tables of the rules, then a property over
 * random interleavings of two people's edits, undos, redos and syncs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	addBlock,
	docToWorkflow,
	getBlock,
	getName,
	getParamText,
	removeBlock,
	setName,
	setParam,
	setStructField,
	workflowToDoc
} from '../../src/lib/workflow/doc';
import type { WorkflowInput } from '../../src/lib/workflow/schema';
import { IntentUndo, type UndoOutcome } from '../../src/lib/workflow/undo';
import { PROPERTY_TIMEOUT_MS } from '../helpers/timeouts';

const SEED: WorkflowInput = {
	name: 'Leads',
	blocks: [
		{ id: 'f', type: 'filter', params: { expression: 'employees > 10' } },
		{ id: 'e', type: 'enrich_lead', params: { struct: { title: 'Job title' }, research_plan: '' } },
		{ id: 's', type: 'save_csv', params: { filename: 'out.csv' } }
	]
};

interface Person {
	name: string;
	doc: Y.Doc;
	undo: IntentUndo;
	/** One edit as one undo step, with this person's origin (what the editor's session does). */
	edit(change: (doc: Y.Doc) => void): void;
}

function people(): { ada: Person; bo: Person; sync: () => void } {
	const base = workflowToDoc(SEED);
	const make = (name: string): Person => {
		const doc = new Y.Doc();
		Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
		const origin = { name };
		const undo = new IntentUndo(doc, { origin, captureTimeout: 0 });
		return {
			name,
			doc,
			undo,
			edit(change) {
				undo.stopCapturing();
				doc.transact(() => change(doc), origin);
			}
		};
	};
	const ada = make('Ada');
	const bo = make('Bo');
	const sync = () => {
		Y.applyUpdate(bo.doc, Y.encodeStateAsUpdate(ada.doc, Y.encodeStateVector(bo.doc)));
		Y.applyUpdate(ada.doc, Y.encodeStateAsUpdate(bo.doc, Y.encodeStateVector(ada.doc)));
	};
	return { ada, bo, sync };
}

const expression = (doc: Y.Doc) => (getBlock(doc, 'f')?.params as { expression?: string } | undefined)?.expression;
const filename = (doc: Y.Doc) => (getBlock(doc, 's')?.params as { filename?: string } | undefined)?.filename;
const description = (doc: Y.Doc, field = 'title') => {
	const value = (getBlock(doc, 'e')?.params as { struct?: Record<string, unknown> } | undefined)?.struct?.[field];
	return typeof value === 'string' ? value : (value as { description?: string } | undefined)?.description;
};
const plan = (doc: Y.Doc) => getParamText(doc, 'e', 'research_plan').toString();

/** A whole-value field: how to set it and read it. */
const FIELDS = [
	{
		field: 'a Filter expression',
		set: (doc: Y.Doc, v: string) => setParam(doc, 'f', 'expression', v),
		get: expression,
		initial: 'employees > 10'
	},
	{ field: 'the workflow name', set: (doc: Y.Doc, v: string) => setName(doc, v), get: (doc: Y.Doc) => getName(doc), initial: 'Leads' },
	{
		field: 'a struct field description',
		set: (doc: Y.Doc, v: string) => setStructField(doc, 'e', 'title', v),
		get: (doc: Y.Doc) => description(doc),
		initial: 'Job title'
	},
	{
		field: 'a Save CSV file name',
		set: (doc: Y.Doc, v: string) => setParam(doc, 's', 'filename', v),
		get: filename,
		initial: 'out.csv'
	}
];

describe('undo of whole values', () => {
	it.each(FIELDS)('$field: the Anthill/Autana case skips the undo and names who changed it; both keep Autana', ({ set, get }) => {
		const { ada, bo, sync } = people();
		ada.edit((d) => set(d, 'contains(company, "Anthill")'));
		sync();
		bo.edit((d) => set(d, 'contains(company, "Autana")'));
		sync();
		expect(ada.undo.undo()).toEqual({ kind: 'skipped', by: bo.doc.clientID });
		sync();
		expect(get(ada.doc)).toBe('contains(company, "Autana")');
		expect(get(bo.doc)).toBe('contains(company, "Autana")');
		// The skipped step is gone: nothing more to undo for Ada, nothing to redo.
		expect(ada.undo.canUndo()).toBe(false);
		expect(ada.undo.canRedo()).toBe(false);
	});

	it.each(FIELDS)('$field: untouched by others, undo and redo walk the values back and forth', ({ set, get, initial }) => {
		const { ada, bo, sync } = people();
		ada.edit((d) => set(d, 'one'));
		ada.edit((d) => set(d, 'two'));
		sync();
		const steps: [() => UndoOutcome, string][] = [
			[() => ada.undo.undo(), 'one'],
			[() => ada.undo.undo(), initial],
			[() => ada.undo.redo(), 'one'],
			[() => ada.undo.redo(), 'two'],
			[() => ada.undo.undo(), 'one']
		];
		for (const [press, value] of steps) {
			expect(press()).toEqual({ kind: 'done' });
			sync();
			expect(get(ada.doc)).toBe(value);
			expect(get(bo.doc)).toBe(value);
		}
	});

	it.each(FIELDS)('$field: redo mirrors it — a redo over a teammate change is skipped', ({ set, get }) => {
		const { ada, bo, sync } = people();
		ada.edit((d) => set(d, 'mine'));
		ada.undo.undo();
		sync();
		bo.edit((d) => set(d, 'theirs'));
		sync();
		expect(ada.undo.redo()).toEqual({ kind: 'skipped', by: bo.doc.clientID });
		expect(get(ada.doc)).toBe('theirs');
	});

	it('a teammate changing another field does not block the undo', () => {
		const { ada, bo, sync } = people();
		ada.edit((d) => setParam(d, 'f', 'expression', 'employees > 50'));
		sync();
		bo.edit((d) => setName(d, 'Bo was here'));
		sync();
		expect(ada.undo.undo()).toEqual({ kind: 'done' });
		sync();
		expect(expression(bo.doc)).toBe('employees > 10');
		expect(getName(bo.doc)).toBe('Bo was here');
	});

	it("a teammate's form creating an empty research plan in our new block does not block its undo; typing in it does", () => {
		for (const typed of ['', 'Check LinkedIn first']) {
			const { ada, bo, sync } = people();
			ada.edit((d) => addBlock(d, { type: 'enrich_lead', id: 'n' }));
			sync();
			// Bo's browser shows the new block: its research-plan field creates the shared text (no undo origin).
			getParamText(bo.doc, 'n', 'research_plan').insert(0, typed);
			sync();
			const outcome = ada.undo.undo();
			if (typed === '') {
				expect(outcome).toEqual({ kind: 'done' });
				expect(getBlock(ada.doc, 'n')).toBeUndefined();
			} else {
				expect(outcome).toEqual({ kind: 'skipped', by: bo.doc.clientID });
				expect(getBlock(ada.doc, 'n')).toBeDefined();
			}
		}
	});

	it('a change made at the same time (not yet seen) skips the undo, whichever of the two won', () => {
		const { ada, bo, sync } = people();
		ada.edit((d) => setParam(d, 'f', 'expression', 'a == 1'));
		bo.edit((d) => setParam(d, 'f', 'expression', 'b == 1'));
		sync();
		const winner = expression(ada.doc);
		expect(ada.undo.undo()).toEqual({ kind: 'skipped', by: bo.doc.clientID });
		sync();
		expect(expression(ada.doc)).toBe(winner);
		expect(expression(bo.doc)).toBe(winner);
	});

	it('renaming a struct field, then a teammate describing it: the rename is not undone', () => {
		const { ada, bo, sync } = people();
		ada.edit((d) => setParam(d, 'e', 'struct', { role: 'Job title' }));
		sync();
		bo.edit((d) => setStructField(d, 'e', 'role', 'Their current role'));
		sync();
		expect(ada.undo.undo()).toEqual({ kind: 'skipped', by: bo.doc.clientID });
		sync();
		expect(description(ada.doc, 'role')).toBe('Their current role');
	});

	it('one press is one step: a skipped step does not undo the step before it', () => {
		const { ada, bo, sync } = people();
		ada.edit((d) => setName(d, 'Mine'));
		ada.edit((d) => setParam(d, 'f', 'expression', 'x == 1'));
		sync();
		bo.edit((d) => setParam(d, 'f', 'expression', 'y == 2'));
		sync();
		expect(ada.undo.undo().kind).toBe('skipped');
		expect(getName(ada.doc)).toBe('Mine');
		expect(ada.undo.undo()).toEqual({ kind: 'done' });
		expect(getName(ada.doc)).toBe('Leads');
	});
});

describe('undo in long free text (research plan)', () => {
	it("removes only one's own characters; the teammate's stay, with nothing of ours", () => {
		const { ada, bo, sync } = people();
		ada.edit(() => getParamText(ada.doc, 'e', 'research_plan').insert(0, 'Check LinkedIn first'));
		sync();
		bo.edit(() => {
			const t = getParamText(bo.doc, 'e', 'research_plan');
			t.insert(t.length, ' #4B-plan');
		});
		sync();
		expect(ada.undo.undo()).toEqual({ kind: 'done' });
		sync();
		expect(plan(ada.doc)).toBe(' #4B-plan');
		expect(plan(bo.doc)).toBe(' #4B-plan');
		expect(ada.undo.redo()).toEqual({ kind: 'done' });
		sync();
		expect(plan(bo.doc)).toBe('Check LinkedIn first #4B-plan');
	});

	it('typing inside the teammate’s text: undo takes out only our insertion', () => {
		const { ada, bo, sync } = people();
		bo.edit(() => getParamText(bo.doc, 'e', 'research_plan').insert(0, 'Read the site.'));
		sync();
		ada.edit(() => getParamText(ada.doc, 'e', 'research_plan').insert(4, ' carefully'));
		sync();
		bo.edit(() => getParamText(bo.doc, 'e', 'research_plan').insert(0, 'First: '));
		sync();
		ada.undo.undo();
		sync();
		expect(plan(bo.doc)).toBe('First: Read the site.');
	});

	it('undoing the block we added is skipped once a teammate typed into it (their text would go)', () => {
		const { ada, bo, sync } = people();
		let id = '';
		ada.edit((d) => (id = addBlock(d, { type: 'enrich_lead', params: { struct: {}, research_plan: '' } })));
		sync();
		bo.edit(() => getParamText(bo.doc, id, 'research_plan').insert(0, 'Bo’s plan'));
		sync();
		expect(ada.undo.undo()).toEqual({ kind: 'skipped', by: bo.doc.clientID });
		sync();
		expect(getParamText(ada.doc, id, 'research_plan').toString()).toBe('Bo’s plan');
	});

	it('a step in a block a teammate deleted since is skipped, not silently replaced by the one before', () => {
		const { ada, bo, sync } = people();
		ada.edit((d) => setName(d, 'Mine'));
		ada.edit((d) => setParam(d, 's', 'filename', 'mine.csv'));
		sync();
		bo.edit((d) => removeBlock(d, 's'));
		sync();
		expect(ada.undo.undo()).toEqual({ kind: 'skipped', by: null });
		expect(getName(ada.doc)).toBe('Mine');
		expect(docToWorkflow(ada.doc).blocks.map((b) => b.id)).toEqual(['f', 'e']);
	});
});

// ─── property ─────────────────────────────────────────────────────────────────────────────────

type Op =
	| { kind: 'set'; who: 0 | 1; field: number; value: string }
	| { kind: 'type'; who: 0 | 1; at: number; text: string }
	| { kind: 'erase'; who: 0 | 1; at: number; length: number }
	| { kind: 'add'; who: 0 | 1 }
	| { kind: 'typeAdded'; who: 0 | 1; text: string }
	| { kind: 'undo' | 'redo'; who: 0 | 1 }
	| { kind: 'sync' };

const who = fc.constantFrom<0 | 1>(0, 1);
const op: fc.Arbitrary<Op> = fc.oneof(
	{
		arbitrary: fc.record({
			kind: fc.constant('set' as const),
			who,
			field: fc.nat({ max: FIELDS.length - 1 }),
			value: fc.constantFrom('a', 'b', 'ab', 'x == 1', '')
		}),
		weight: 4
	},
	{
		arbitrary: fc.record({
			kind: fc.constant('type' as const),
			who,
			at: fc.nat({ max: 30 }),
			text: fc.constantFrom('x', 'yz', ' plan ')
		}),
		weight: 3
	},
	{
		arbitrary: fc.record({ kind: fc.constant('erase' as const), who, at: fc.nat({ max: 30 }), length: fc.integer({ min: 1, max: 4 }) }),
		weight: 2
	},
	{ arbitrary: fc.record({ kind: fc.constant('add' as const), who }), weight: 3 },
	{ arbitrary: fc.record({ kind: fc.constant('typeAdded' as const), who, text: fc.constantFrom('q', 'rs') }), weight: 4 },
	{ arbitrary: fc.record({ kind: fc.constantFrom('undo' as const, 'redo' as const), who }), weight: 2 },
	{ arbitrary: fc.record({ kind: fc.constant('undo' as const), who }), weight: 3 },
	{ arbitrary: fc.constant({ kind: 'sync' as const }), weight: 2 }
);
/** An op, and whether the two sync right after it (else the next ops are concurrent with it). */
const step = fc.tuple(op, fc.boolean());

/** Every live character item of `client` in every Y.Text of the doc (by id). */
function liveCharsOf(doc: Y.Doc, client: number): string[] {
	const out: string[] = [];
	const visit = (type: Y.AbstractType<unknown>) => {
		for (const item of type._map.values()) if (!item.deleted && item.content instanceof Y.ContentType) visit(item.content.type);
		for (let item = type._start; item; item = item.right) {
			if (item.deleted) continue;
			if (item.content instanceof Y.ContentType) visit(item.content.type);
			else if (item.id.client === client && type instanceof Y.Text) {
				for (let i = 0; i < item.length; i++) out.push(`${item.id.client}:${item.id.clock + i}`);
			}
		}
	};
	visit(doc.getMap('blocks') as Y.AbstractType<unknown>);
	return out;
}

describe('property: two people editing, undoing and redoing in any interleaving', () => {
	it(
		'a whole-value field only ever holds a value someone set; no undo or redo removes a character the other typed',
		() => {
			fc.assert(
				fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
					const { ada, bo, sync } = people();
					const persons = [ada, bo];
					const written = FIELDS.map((f) => new Set<string | undefined>([f.initial]));
					const added: string[] = [];
					const check = () => {
						for (const p of persons)
							FIELDS.forEach((f, i) => {
								const value = f.get(p.doc);
								if (!written[i].has(value)) throw new Error(`${f.field} holds "${value}", which nobody set`);
							});
					};
					const apply = (o: Exclude<Op, { kind: 'sync' }>) => {
						const me = persons[o.who];
						const other = persons[1 - o.who];
						const plainText = () => getBlock(me.doc, 'e') && getParamText(me.doc, 'e', 'research_plan');
						switch (o.kind) {
							case 'set':
								if (!getBlock(me.doc, 'f') || !getBlock(me.doc, 's') || !getBlock(me.doc, 'e')) break;
								written[o.field].add(o.value);
								me.edit((d) => FIELDS[o.field].set(d, o.value));
								break;
							case 'type': {
								const t = plainText();
								if (t) me.edit(() => t.insert(Math.min(o.at, t.length), o.text));
								break;
							}
							case 'erase': {
								const t = plainText();
								if (t && t.length > 0) {
									const at = Math.min(o.at, t.length - 1);
									me.edit(() => t.delete(at, Math.min(o.length, t.length - at)));
								}
								break;
							}
							case 'add':
								me.edit((d) => added.push(addBlock(d, { type: 'enrich_lead', params: { struct: {}, research_plan: '' } })));
								break;
							case 'typeAdded': {
								const id = added.findLast((a) => getBlock(me.doc, a));
								if (id) me.edit(() => getParamText(me.doc, id, 'research_plan').insert(0, o.text));
								break;
							}
							case 'undo':
							case 'redo': {
								const before = liveCharsOf(me.doc, other.doc.clientID);
								if (o.kind === 'undo') me.undo.undo();
								else me.undo.redo();
								const after = new Set(liveCharsOf(me.doc, other.doc.clientID));
								const lost = before.filter((c) => !after.has(c));
								if (lost.length > 0)
									throw new Error(`${o.kind} by ${me.name} removed ${lost.length} character(s) typed by ${other.name}`);
								break;
							}
						}
					};
					for (const [o, thenSync] of steps) {
						if (o.kind !== 'sync') apply(o);
						check();
						if (o.kind === 'sync' || thenSync) {
							sync();
							check();
						}
					}
					sync();
					check();
					expect(docToWorkflow(ada.doc)).toEqual(docToWorkflow(bo.doc));
				}),
				{ numRuns: 300 }
			);
		},
		PROPERTY_TIMEOUT_MS
	);
});
