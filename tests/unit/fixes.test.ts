/**
 * One-click fixes: for each problem that has an obvious remedy, the analysis offers it, applying
 * it to the shared document makes the problem go away, it is one undo step, and another replica
 * sees the same result.
 */
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import * as Y from 'yjs';
import { applyFix } from '../../src/lib/workflow/apply-fix';
import { analyzeColumns, ProblemSchema, type Problem } from '../../src/lib/workflow/columns';
import { docToWorkflow, getBlock, orderedBlockIds, WorkflowDocError, workflowToDoc } from '../../src/lib/workflow/doc';
import { FixSchema, MAX_FIXES, withValueAt, type Fix } from '../../src/lib/workflow/fixes';
import type { WorkflowInput } from '../../src/lib/workflow/schema';

const sources: Record<string, string[]> = {
	'leads.csv': ['name', 'company', 'email', 'linkedin'],
	'companies.csv': ['company_name', 'website', 'industry'],
	'odd-companies.csv': ['id', 'Employer Org', 'notes'],
	'two-candidates.csv': ['id', 'Company Legal', 'Web address'],
	'plain.csv': ['id', 'notes']
};

type Blocks = { id: string; type: string; params: Record<string, unknown> }[];

function analyze(doc: Y.Doc) {
	return analyzeColumns(docToWorkflow(doc), { sourceColumns: (p) => sources[p] ?? null });
}

function docOf(blocks: Blocks): Y.Doc {
	return workflowToDoc({ name: 'Fix me', blocks } as WorkflowInput);
}

function problemMatching(doc: Y.Doc, message: RegExp): Problem | undefined {
	return analyze(doc).problems.find((p) => message.test(p.message));
}

const origin = { session: true };

/** Applies the fix labelled `label` of the problem matching `message` as one tracked transaction. */
function fixAndCheck(blocks: Blocks, message: RegExp, label: string | RegExp) {
	const doc = docOf(blocks);
	const undo = new Y.UndoManager(doc, { trackedOrigins: new Set([origin]) });
	const before = docToWorkflow(doc);
	const problem = problemMatching(doc, message);
	expect(problem, `a problem matching ${message}`).toBeDefined();
	const fix = problem!.fixes?.find((f) => (typeof label === 'string' ? f.label === label : label.test(f.label)));
	expect(fix, `fix "${label}" among ${JSON.stringify(problem!.fixes?.map((f) => f.label))}`).toBeDefined();
	// A replica (another person's tab) receives the fix as it is applied.
	const other = new Y.Doc();
	Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
	doc.on('update', (update: Uint8Array) => Y.applyUpdate(other, update));
	doc.transact(() => applyFix(doc, fix!), origin);
	expect(problemMatching(doc, message), 'the problem is gone').toBeUndefined();
	expect(docToWorkflow(other)).toEqual(docToWorkflow(doc));
	const after = docToWorkflow(doc);
	// One undo step restores the workflow exactly.
	undo.undo();
	expect(docToWorkflow(doc)).toEqual(before);
	expect(undo.canUndo()).toBe(false);
	return { doc: after, fix: fix! };
}

const read = (path: string, id = 'r', kind?: string) => ({ id, type: 'read_csv', params: kind ? { path, kind } : { path } });

describe('one-click fixes', () => {
	it('an empty workflow: Add Read CSV', () => {
		const { doc } = fixAndCheck([], /has no blocks/, 'Add Read CSV');
		expect(doc.blocks.map((b) => b.type)).toEqual(['read_csv']);
	});

	it('a block with nothing before it: Add Read CSV above it', () => {
		const { doc } = fixAndCheck([{ id: 'e', type: 'find_email', params: {} }], /comes after nothing/, 'Add Read CSV');
		expect(doc.blocks.map((b) => b.type)).toEqual(['read_csv', 'find_email']);
	});

	it('Read CSV below another block: Move Read CSV to the top (both problems go)', () => {
		const blocks = [{ id: 's', type: 'save_csv', params: {} }, read('leads.csv')];
		const { doc } = fixAndCheck(blocks, /Read CSV must be the first block/, 'Move Read CSV to the top');
		expect(doc.blocks.map((b) => b.id)).toEqual(['r', 's']);
		expect(analyze(docOf(doc.blocks as Blocks)).ok).toBe(true);
	});

	it('Enrich Company on lead rows: Switch to Enrich Lead, keeping its id, place and fields', () => {
		const blocks = [
			read('leads.csv'),
			{
				id: 'c',
				type: 'enrich_company',
				params: { struct: { industry: 'The industry' }, find_people: false, tier: 'medium', research_plan: 'Look at the site' }
			},
			{ id: 's', type: 'save_csv', params: {} }
		];
		const { doc } = fixAndCheck(blocks, /Enrich Company needs company rows/, 'Switch to Enrich Lead');
		expect(doc.blocks.map((b) => [b.id, b.type])).toEqual([
			['r', 'read_csv'],
			['c', 'enrich_lead'],
			['s', 'save_csv']
		]);
		expect(doc.blocks[1].params).toEqual({ struct: { industry: 'The industry' }, tier: 'medium', research_plan: 'Look at the site' });
		expect(analyze(docOf(doc.blocks as Blocks)).ok).toBe(true);
	});

	it("Enrich Company on lead rows: Set Read CSV's row kind to Company", () => {
		const blocks = [read('leads.csv'), { id: 'c', type: 'enrich_company', params: { struct: { industry: 'The industry' } } }];
		const { doc } = fixAndCheck(blocks, /Enrich Company needs company rows/, "Set Read CSV's row kind to Company");
		expect(doc.blocks[0].params).toEqual({ path: 'leads.csv', kind: 'company' });
	});

	it("a lead block on company rows: Set Read CSV's row kind to Lead", () => {
		const blocks = [read('companies.csv'), { id: 'e', type: 'find_email', params: {} }];
		fixAndCheck(blocks, /Find Email needs lead rows/, "Set Read CSV's row kind to Lead");
	});

	it('a lead block after Enrich Company without Find people: Turn on Find people', () => {
		const blocks = [
			read('companies.csv'),
			{ id: 'c', type: 'enrich_company', params: { struct: { industry: 'The industry' } } },
			{ id: 'e', type: 'find_email', params: {} }
		];
		const { doc } = fixAndCheck(blocks, /Find Email needs lead rows/, 'Turn on Find people in Enrich Company (block 2)');
		expect(doc.blocks[1].params).toMatchObject({ find_people: true });
	});

	it('a company block after Find people: Move this block above it, or turn Find people off', () => {
		const blocks = () => [
			read('companies.csv'),
			{ id: 'p', type: 'enrich_company', params: { struct: { industry: 'The industry' }, find_people: true } },
			{ id: 'c', type: 'enrich_company', params: { struct: { employee_count: 'Employees' } } }
		];
		const moved = fixAndCheck(blocks(), /needs company rows/, 'Move this block above Enrich Company (block 2)');
		expect(moved.doc.blocks.map((b) => b.id)).toEqual(['r', 'c', 'p']);
		fixAndCheck(blocks(), /needs company rows/, 'Turn off Find people in Enrich Company (block 2)');
	});

	it('a filter on a column a later block adds: Move this block after that block', () => {
		const blocks = [
			read('leads.csv'),
			{ id: 'f', type: 'filter', params: { expression: 'not is_empty(seniority)' } },
			{ id: 'l', type: 'enrich_lead', params: { struct: { seniority: 'Seniority' } } }
		];
		const { doc } = fixAndCheck(blocks, /does not exist yet/, 'Move this block after block 3');
		expect(doc.blocks.map((b) => b.id)).toEqual(['r', 'l', 'f']);
	});

	it('a column name in the wrong case, in an expression and in a column list: Use the real name', () => {
		const inExpression = fixAndCheck(
			[read('leads.csv'), { id: 'f', type: 'filter', params: { expression: 'not is_empty(Email) and name != ""' } }],
			/did you mean "email"/,
			'Use "email"'
		);
		expect(inExpression.doc.blocks[1].params).toEqual({ expression: 'not is_empty(email) and name != ""' });
		const inList = fixAndCheck(
			[
				read('leads.csv'),
				{ id: 'l', type: 'enrich_lead', params: { struct: { title: 'Job title' }, input_columns: ['Name', 'company'] } }
			],
			/did you mean "name"/,
			'Use "name"'
		);
		expect(inList.doc.blocks[1].params).toMatchObject({ input_columns: ['name', 'company'] });
	});

	it('input columns that identify nobody: Send "name" too', () => {
		const { doc } = fixAndCheck(
			[read('leads.csv'), { id: 'l', type: 'enrich_lead', params: { struct: { title: 'Job title' }, input_columns: ['company'] } }],
			/needs a column that identifies a person/,
			'Send "name" too'
		);
		expect(doc.blocks[1].params).toMatchObject({ input_columns: ['company', 'name'] });
	});

	it('Enrich Company with one column that probably names the company: Map it', () => {
		const { doc } = fixAndCheck(
			[read('odd-companies.csv'), { id: 'c', type: 'enrich_company', params: { struct: { industry: 'The industry' } } }],
			/needs a column that names the company/,
			`Map "Employer Org" as the company's name`
		);
		expect(doc.blocks[1].params).toMatchObject({ company_columns: { company_name: 'Employer Org' } });
	});

	it('Save CSV with a name no file can have: Use the name the server would make of it', () => {
		const { doc } = fixAndCheck(
			[read('leads.csv'), { id: 's', type: 'save_csv', params: { filename: 'basic leads/out?' } }],
			/A file name cannot contain/,
			'Use "basic leads_out_.csv"'
		);
		expect(doc.blocks[1].params).toEqual({ filename: 'basic leads_out_.csv' });
	});
});

describe('problems without one obvious fix offer none', () => {
	it.each<[string, Blocks, RegExp]>([
		[
			'two columns that might name the company',
			[read('two-candidates.csv'), { id: 'c', type: 'enrich_company', params: { struct: { industry: 'The industry' } } }],
			/names the company/
		],
		[
			'a file with nothing that identifies a person',
			[read('plain.csv'), { id: 'e', type: 'enrich_lead', params: { struct: { title: 'Job title' } } }],
			/identifies a person/
		],
		[
			'an empty description',
			[read('leads.csv'), { id: 'e', type: 'enrich_lead', params: { struct: { title: '' } } }],
			/Describe what to find/
		],
		[
			'a column that exists nowhere',
			[read('leads.csv'), { id: 'f', type: 'filter', params: { expression: 'not is_empty(nothing_here)' } }],
			/There is no column "nothing_here"/
		],
		['a second Read CSV', [read('leads.csv'), read('companies.csv', 'r2')], /Read CSV must be the first block/]
	])('%s', (_name, blocks, message) => {
		const problem = problemMatching(docOf(blocks), message);
		expect(problem).toBeDefined();
		expect(problem!.fixes).toBeUndefined();
	});
});

describe('every fix the analysis offers', () => {
	it('is valid per FixSchema, names its block, and there are at most MAX_FIXES', () => {
		const cases: Blocks[] = [
			[],
			[{ id: 'e', type: 'find_email', params: {} }],
			[read('leads.csv'), { id: 'c', type: 'enrich_company', params: { struct: { industry: 'x' } } }],
			[read('companies.csv'), { id: 'e', type: 'find_email', params: {} }]
		];
		let seen = 0;
		for (const blocks of cases) {
			for (const problem of analyze(docOf(blocks)).problems) {
				expect(v.safeParse(ProblemSchema, problem).success).toBe(true);
				expect((problem.fixes ?? []).length).toBeLessThanOrEqual(MAX_FIXES);
				for (const fix of problem.fixes ?? []) {
					seen++;
					if ('block_id' in fix) expect(blocks.map((b) => b.id)).toContain(fix.block_id);
				}
			}
		}
		expect(seen).toBeGreaterThanOrEqual(5);
	});
});

describe('applying a stale fix', () => {
	it('throws WorkflowDocError and changes nothing when its block is gone', () => {
		const doc = docOf([read('leads.csv')]);
		const before = docToWorkflow(doc);
		const stale: Fix[] = [
			{ action: 'set_param', label: 'x', block_id: 'gone', param: 'kind', value: 'lead' },
			{ action: 'move_block', label: 'x', block_id: 'gone', to: 0 },
			{ action: 'replace_block', label: 'x', block_id: 'gone', type: 'enrich_lead' },
			{ action: 'replace_block', label: 'x', block_id: 'r', type: 'no_such_block' },
			{ action: 'add_block', label: 'x', type: 'no_such_block', index: 0 }
		];
		for (const fix of stale) {
			expect(v.safeParse(FixSchema, fix).success).toBe(true);
			expect(() => applyFix(doc, fix)).toThrow(WorkflowDocError);
		}
		expect(docToWorkflow(doc)).toEqual(before);
		expect(orderedBlockIds(doc)).toEqual(['r']);
		expect(getBlock(doc, 'r')?.type).toBe('read_csv');
	});

	it('withValueAt refuses a path that does not lead to a value', () => {
		expect(withValueAt({ a: { b: 1 } }, ['a', 'c'], 2)).toBeNull();
		expect(withValueAt(null, ['a'], 2)).toBeNull();
		expect(withValueAt({ a: ['x', 'y'] }, ['a', '1'], 'z')).toEqual({ param: 'a', value: ['x', 'z'] });
	});
});
