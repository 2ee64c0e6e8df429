import { describe, expect, it } from 'vitest';
import { describeRowKinds } from '../../src/lib/row-kind-badge';
import { analyzeColumns } from '../../src/lib/workflow/columns';
import type { BlockInput } from '../../src/lib/workflow/doc';

const FILES: Record<string, string[]> = {
	'leads.csv': ['name', 'company', 'linkedin'],
	'companies.csv': ['company_name', 'website'],
	'table.csv': ['id', 'score']
};

const read = (path: string, kind?: string): BlockInput =>
	({ id: 'r', type: 'read_csv', params: kind ? { path, kind } : { path } }) as BlockInput;
const filter: BlockInput = { id: 'f', type: 'filter', params: { expression: 'true' } };
const lead: BlockInput = { id: 'l', type: 'enrich_lead', params: { struct: { title: 'Job title' } } };
const email: BlockInput = { id: 'e', type: 'find_email', params: {} };
const company: BlockInput = { id: 'c', type: 'enrich_company', params: { struct: { industry: 'Industry' } } };
const people: BlockInput = { id: 'p', type: 'enrich_company', params: { struct: {}, find_people: true } };
const save: BlockInput = { id: 's', type: 'save_csv', params: {} };

/** The badges of every card of a workflow, from the same analysis the editor computes. */
function badges(blocks: BlockInput[]) {
	const analysis = analyzeColumns({ blocks }, { sourceColumns: (path) => FILES[path] ?? null });
	return blocks.map((block) => describeRowKinds({ block, flow: analysis.blocks.find((b) => b.block_id === block.id) }));
}

describe('describeRowKinds: the text on each card', () => {
	it.each([
		{
			name: 'a lead pipeline',
			blocks: [read('leads.csv'), filter, lead, email, save],
			expected: ['lead rows', 'lead rows', 'lead rows → lead rows', 'lead rows → lead rows', 'lead rows']
		},
		{
			name: 'companies to people',
			blocks: [read('companies.csv'), people, lead, save],
			expected: ['company rows', 'company rows → lead rows', 'lead rows → lead rows', 'lead rows']
		},
		{
			name: 'companies stay companies',
			blocks: [read('companies.csv'), filter, company, save],
			expected: ['company rows', 'company rows', 'company rows → company rows', 'company rows']
		},
		{ name: 'a table of neither kind', blocks: [read('table.csv'), filter, save], expected: ['any table', 'any table', 'any table'] },
		{
			name: 'a file not known yet',
			blocks: [read('missing.csv'), filter, lead],
			expected: ['kind from file', 'any table', 'lead rows → lead rows']
		},
		{
			name: 'a kind set by the user wins over the columns',
			blocks: [read('leads.csv', 'company'), filter, company],
			expected: ['company rows', 'company rows', 'company rows → company rows']
		},
		{
			name: 'no source: declarations only',
			blocks: [filter, people, save],
			expected: ['any table', 'company rows → lead rows', 'any table']
		}
	])('$name', ({ blocks, expected }) => {
		expect(badges(blocks).map((b) => b?.text)).toEqual(expected);
	});
});

describe('describeRowKinds: the sentence for title and aria-label', () => {
	it.each([
		{ blocks: [read('companies.csv'), people], at: 1, expected: 'This block needs company rows and gives lead rows' },
		{ blocks: [read('leads.csv'), filter], at: 1, expected: 'This block takes any table; here it passes lead rows on unchanged' },
		{ blocks: [read('leads.csv')], at: 0, expected: "This block gives lead rows (inferred from the file's columns)" },
		{ blocks: [read('leads.csv', 'company')], at: 0, expected: 'This block gives company rows (its row kind is set)' },
		{
			blocks: [read('companies.csv'), lead],
			at: 1,
			expected: 'This block needs lead rows and gives lead rows — but the rows arriving here are company rows'
		}
	])('$expected', ({ blocks, at, expected }) => {
		expect(badges(blocks)[at]?.label).toBe(expected);
	});
});

describe('describeRowKinds: red exactly where the analysis refuses the rows', () => {
	const sources = [read('leads.csv'), read('companies.csv'), read('table.csv'), read('missing.csv')];
	const consumers = [filter, lead, email, company, people, save];
	const pairs = sources.flatMap((source) => consumers.map((consumer) => ({ source, consumer })));

	it.each(pairs)('$source.params.path then $consumer.type $consumer.params', ({ source, consumer }) => {
		const blocks = [source, consumer];
		const analysis = analyzeColumns({ blocks }, { sourceColumns: (path) => FILES[path] ?? null });
		const refused = analysis.blocks[1].problems.some((p) => / needs (lead|company) rows, but /.test(p.message));
		const badge = badges(blocks)[1]!;
		expect(badge.mismatch).toBe(refused);
		// Red never marks the source, and the pairs that must be refused are.
		expect(badges(blocks)[0]!.mismatch).toBe(false);
		const expectRefused =
			(source.params as { path: string }).path === 'leads.csv'
				? consumer.type === 'enrich_company'
				: (source.params as { path: string }).path === 'companies.csv'
					? consumer.type === 'enrich_lead' || consumer.type === 'find_email'
					: false;
		expect(refused).toBe(expectRefused);
	});
});

describe('describeRowKinds: bad input', () => {
	it.each([
		{ block: { id: 'x', type: 'nonsense', params: {} }, expected: null },
		{ block: { id: 'x', type: 'enrich_company', params: null }, expected: 'company rows → company rows' },
		{ block: { id: 'x', type: 'read_csv', params: 'oops' }, expected: 'kind from file' },
		{ block: { id: 'x', type: 'read_csv', params: { path: 'a.csv', kind: 'planet' } }, expected: 'kind from file' }
	])('$block.type with $block.params', ({ block, expected }) => {
		const badge = describeRowKinds({ block: block as unknown as BlockInput, flow: undefined });
		expect(badge?.text ?? null).toBe(expected);
	});
});
