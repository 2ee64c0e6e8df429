import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	addBlock,
	docToWorkflow,
	duplicateBlock,
	getBlock,
	getParamText,
	moveBlock,
	orderedBlockIds,
	removeBlock,
	setName,
	setParam,
	setStructField,
	workflowToDoc,
	WorkflowDocError
} from '../../src/lib/workflow/doc';
import { MAX_BLOCKS, WorkflowSchema, type WorkflowInput } from '../../src/lib/workflow/schema';
import * as v from 'valibot';

/** Brings `to` up to date with everything `from` has. */
function pull(to: Y.Doc, from: Y.Doc): void {
	Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));
}

function syncAll(...docs: Y.Doc[]): void {
	for (const a of docs) for (const b of docs) if (a !== b) pull(b, a);
}

/** A replica of `source` with its own client id (another person's tab). */
function replica(source: Y.Doc): Y.Doc {
	const doc = new Y.Doc();
	pull(doc, source);
	return doc;
}

const lead: WorkflowInput = {
	name: 'Leads → emails',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
		{ id: 'us', type: 'filter', params: { expression: 'country == "US" and employees >= 50' } },
		{
			id: 'enrich',
			type: 'enrich_lead',
			params: {
				struct: {
					title: 'Current job title',
					linkedin: { description: 'LinkedIn URL' },
					employees: { description: 'Headcount', type: 'int' },
					alpha: 'Comes last although alphabetically first'
				},
				research_plan: 'Check the company site first.\nThen LinkedIn.',
				input_columns: ['name', 'company'],
				tier: 'high',
				concurrency: 20
			}
		},
		{ id: 'email', type: 'find_email', params: { mode: 'PERSONAL', only_missing: false } },
		{ id: 'save', type: 'save_csv', params: { filename: 'out.csv' } }
	]
};

describe('docToWorkflow ∘ workflowToDoc', () => {
	const cases: [string, WorkflowInput][] = [
		['every block type, struct in given order', lead],
		['no name, no blocks', { blocks: [] }],
		['empty name and empty free text', { name: '', blocks: [{ id: 'f', type: 'filter', params: { expression: '' } }] }],
		[
			'filter by column with typed values',
			{
				blocks: [
					{ id: 'a', type: 'filter', params: { column: 'employees', operator: 'gte', value: 50 } },
					{ id: 'b', type: 'filter', params: { column: 'remote', operator: 'equals', value: true } },
					{ id: 'c', type: 'filter', params: { column: 'email', operator: 'is_empty' } }
				]
			}
		],
		[
			'emoji and astral text',
			{ name: '🦊 Füchse 𝔘𝔫𝔦𝔠𝔬𝔡𝔢', blocks: [{ id: 'x', type: 'filter', params: { expression: 'name == "😀"' } }] }
		],
		[
			'an invalid struct is kept as a plain value',
			{ blocks: [{ id: 'e', type: 'enrich_lead', params: { struct: { a: 5 } as never } }] }
		]
	];

	it.each(cases)('%s', (_label, workflow) => {
		const doc = workflowToDoc(workflow);
		expect(docToWorkflow(doc)).toEqual(workflow);
		expect(docToWorkflow(replica(doc))).toEqual(workflow);
	});

	it('keeps a valid workflow valid', () => {
		expect(v.safeParse(WorkflowSchema, docToWorkflow(workflowToDoc(lead))).success).toBe(true);
	});

	it('reconciles over an existing doc without replacing unchanged text', () => {
		const doc = workflowToDoc(lead);
		const plan = getParamText(doc, 'enrich', 'research_plan');
		const next = structuredClone(lead);
		next.blocks.reverse();
		next.blocks.splice(1, 1);
		(next.blocks.find((b) => b.id === 'enrich')!.params as { research_plan: string }).research_plan =
			'Check the company site first.\nThen Crunchbase.';
		workflowToDoc(next, doc);
		expect(docToWorkflow(doc)).toEqual(next);
		expect(getParamText(doc, 'enrich', 'research_plan')).toBe(plan);
	});

	it('refuses duplicate block ids and leaves the doc alone', () => {
		const doc = workflowToDoc(lead);
		const dup: WorkflowInput = { blocks: [lead.blocks[0], lead.blocks[0]] };
		expect(() => workflowToDoc(dup, doc)).toThrow(WorkflowDocError);
		expect(docToWorkflow(doc)).toEqual(lead);
	});
});

describe('block edits', () => {
	const ids = () => ['read', 'us', 'enrich', 'email', 'save'];

	it.each([
		['first to last', 'read', 4, ['us', 'enrich', 'email', 'save', 'read']],
		['last to first', 'save', 0, ['save', 'read', 'us', 'enrich', 'email']],
		['one down', 'us', 2, ['read', 'enrich', 'us', 'email', 'save']],
		['to where it is', 'enrich', 2, ids()],
		['index past the end is clamped', 'read', 99, ['us', 'enrich', 'email', 'save', 'read']],
		['negative index is clamped', 'email', -3, ['email', 'read', 'us', 'enrich', 'save']]
	])('moveBlock %s', (_label, id, to, expected) => {
		const doc = workflowToDoc(lead);
		moveBlock(doc, id, to);
		expect(orderedBlockIds(doc)).toEqual(expected);
		expect(orderedBlockIds(replica(doc))).toEqual(expected);
	});

	it('addBlock uses the type defaults and lands at the index', () => {
		const doc = workflowToDoc(lead);
		const id = addBlock(doc, { type: 'find_email', index: 1 });
		expect(orderedBlockIds(doc)[1]).toBe(id);
		expect(getBlock(doc, id)).toEqual({ id, type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: true } });
		expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
	});

	it('duplicateBlock copies type and params right after the original', () => {
		const doc = workflowToDoc(lead);
		const copy = duplicateBlock(doc, 'enrich');
		expect(orderedBlockIds(doc).slice(2, 4)).toEqual(['enrich', copy]);
		expect(getBlock(doc, copy)?.params).toEqual(getBlock(doc, 'enrich')?.params);
		setParam(doc, copy, 'tier', 'low');
		expect(getBlock(doc, 'enrich')?.params).toMatchObject({ tier: 'high' });
	});

	it('removeBlock says whether there was something to remove', () => {
		const doc = workflowToDoc(lead);
		expect(removeBlock(doc, 'us')).toBe(true);
		expect(removeBlock(doc, 'us')).toBe(false);
		expect(orderedBlockIds(doc)).toEqual(['read', 'enrich', 'email', 'save']);
	});

	it('setParam with undefined removes the param; an expression is a whole value, not a Y.Text', () => {
		const doc = workflowToDoc(lead);
		setParam(doc, 'us', 'expression', 'country == "DE"');
		expect(doc.getMap<Y.Map<Y.Map<unknown>>>('blocks').get('us')!.get('params')!.get('expression')).toBe('country == "DE"');
		expect(() => getParamText(doc, 'us', 'expression')).toThrow(WorkflowDocError);
		setParam(doc, 'email', 'only_missing', undefined);
		expect(getBlock(doc, 'email')?.params).toEqual({ mode: 'PERSONAL' });
	});

	it.each([
		['a😀', 'a😁'],
		['😀b', '😁b'],
		['x😀y', 'x😀😀y'],
		['😀😁', '😁'],
		['🈀x', '😀x'],
		['𝔘nicode', 'unicode'],
		['same', 'same'],
		['', '🦊'],
		['🦊', '']
	])('text diff %j → %j keeps surrogate pairs whole, locally and on the wire', (from, to) => {
		const doc = workflowToDoc({ name: from, blocks: [] });
		setName(doc, to);
		expect(docToWorkflow(doc).name).toBe(to);
		expect(docToWorkflow(replica(doc)).name).toBe(to);
	});

	it('names are whole values; a name stored as a Y.Text by an older version is read, then replaced', () => {
		const doc = workflowToDoc(lead);
		const legacy = new Y.Text('Old name');
		doc.getMap('meta').set('name', legacy);
		expect(docToWorkflow(doc).name).toBe('Old name');
		setName(doc, 'Leads → verified emails');
		expect(doc.getMap('meta').get('name')).toBe('Leads → verified emails');
		expect(docToWorkflow(doc).name).toBe('Leads → verified emails');
	});

	it.each([
		['unknown block', (d: Y.Doc) => moveBlock(d, 'nope', 0)],
		['setParam on an unknown block', (d: Y.Doc) => setParam(d, 'nope', 'path', 'x')],
		['text of a non-text param', (d: Y.Doc) => getParamText(d, 'read', 'path')],
		['struct of a block without one', (d: Y.Doc) => setStructField(d, 'read', 'x', 'y')],
		['text of an expression (a whole value)', (d: Y.Doc) => getParamText(d, 'us', 'expression')],
		['unknown block type', (d: Y.Doc) => addBlock(d, { type: 'shell' as never })],
		['taken id', (d: Y.Doc) => addBlock(d, { type: 'save_csv', id: 'read' })]
	])('refuses %s with a WorkflowDocError', (_label, edit) => {
		const doc = workflowToDoc(lead);
		const before = Y.encodeStateAsUpdate(doc);
		expect(() => edit(doc)).toThrow(WorkflowDocError);
		expect(Y.encodeStateAsUpdate(doc)).toEqual(before);
	});

	it(`refuses a block beyond ${MAX_BLOCKS}`, () => {
		const doc = new Y.Doc();
		for (let i = 0; i < MAX_BLOCKS; i++) addBlock(doc, { type: 'save_csv' });
		expect(() => addBlock(doc, { type: 'save_csv' })).toThrow(/At most/);
		expect(orderedBlockIds(doc)).toHaveLength(MAX_BLOCKS);
	});
});

describe('concurrent edits merge', () => {
	it('two people changing one expression at once: it ends as one of their values, never a mix', () => {
		const a = workflowToDoc({ blocks: [{ id: 'f', type: 'filter', params: { expression: 'x == 1' } }] });
		const b = replica(a);
		setParam(a, 'f', 'expression', 'not x == 1');
		setParam(b, 'f', 'expression', 'x == 1 and y == 2');
		syncAll(a, b);
		expect(['not x == 1', 'x == 1 and y == 2']).toContain((getBlock(a, 'f')?.params as { expression: string }).expression);
		expect(docToWorkflow(b)).toEqual(docToWorkflow(a));
	});

	it('different struct fields (and description vs type of one field) merge', () => {
		const a = workflowToDoc(lead);
		const b = replica(a);
		setStructField(a, 'enrich', 'title', 'Job title, in English');
		setStructField(b, 'enrich', 'title', { description: 'Current job title', type: 'str' });
		setParam(b, 'enrich', 'struct', { ...(getBlock(b, 'enrich')!.params as { struct: object }).struct, seniority: 'Seniority level' });
		setStructField(a, 'enrich', 'linkedin', undefined);
		syncAll(a, b);
		const struct = (getBlock(a, 'enrich')!.params as { struct: Record<string, unknown> }).struct;
		expect(Object.keys(struct)).toEqual(['title', 'employees', 'alpha', 'seniority']);
		expect(struct.title).toEqual({ description: 'Job title, in English', type: 'str' });
		expect(docToWorkflow(b)).toEqual(docToWorkflow(a));
	});

	it('two people moving the same block never duplicate it', () => {
		const a = workflowToDoc(lead);
		const b = replica(a);
		moveBlock(a, 'read', 4);
		moveBlock(b, 'read', 2);
		moveBlock(b, 'save', 0);
		syncAll(a, b);
		const order = orderedBlockIds(a);
		expect(order).toEqual(orderedBlockIds(b));
		expect([...order].sort()).toEqual(['email', 'enrich', 'read', 'save', 'us']);
		expect(order[0]).toBe('save');
	});

	it('two blocks added at the same spot both stay, in the same order everywhere; later moves between them work', () => {
		const a = workflowToDoc(lead);
		const b = replica(a);
		const x = addBlock(a, { type: 'save_csv', index: 1 });
		const y = addBlock(b, { type: 'save_csv', index: 1 });
		syncAll(a, b);
		expect(orderedBlockIds(a)).toEqual(orderedBlockIds(b));
		expect(orderedBlockIds(a).slice(1, 3).sort()).toEqual([x, y].sort());
		moveBlock(a, 'email', 2);
		expect(orderedBlockIds(a)[2]).toBe('email');
		syncAll(a, b);
		expect(orderedBlockIds(b)).toEqual(orderedBlockIds(a));
	});

	it('a delete racing an edit deletes', () => {
		const a = workflowToDoc(lead);
		const b = replica(a);
		removeBlock(a, 'us');
		setParam(b, 'us', 'expression', 'true');
		moveBlock(b, 'us', 0);
		syncAll(a, b);
		expect(getBlock(a, 'us')).toBeUndefined();
		expect(docToWorkflow(b)).toEqual(docToWorkflow(a));
	});

	it('blocks with unusable positions (a hostile peer) still order deterministically and get repaired on move', () => {
		const doc = workflowToDoc(lead);
		const blocks = doc.getMap<Y.Map<unknown>>('blocks');
		blocks.get('us')!.set('position', '!!');
		blocks.get('save')!.set('position', 42 as never);
		expect(orderedBlockIds(doc)).toEqual(orderedBlockIds(replica(doc)));
		moveBlock(doc, 'read', 4);
		expect(orderedBlockIds(doc).at(-1)).toBe('read');
		expect(orderedBlockIds(doc)).toHaveLength(5);
	});
});
