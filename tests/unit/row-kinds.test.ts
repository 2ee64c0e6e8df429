import { describe, expect, it } from 'vitest';
import { describeBlocks } from '../../src/lib/workflow/blocks';
import { analyzeColumns, type WorkflowBlocks } from '../../src/lib/workflow/columns';
import { inferRowKind } from '../../src/lib/workflow/row-kinds';

type B = WorkflowBlocks['blocks'][number];
const sources: Record<string, string[]> = {
	'leads.csv': ['name', 'company', 'email', 'linkedin'],
	'companies.csv': ['company_name', 'website', 'industry'],
	'named-companies.csv': ['name', 'website', 'industry'],
	'plain.csv': ['id', 'notes']
};
let nextId = 0;
const block = (type: string, params: unknown = {}): B => ({ id: `b${nextId++}`, type, params });
const read = (path: string, kind?: string) => block('read_csv', kind ? { path, kind } : { path });
const filter = () => block('filter', { expression: 'not is_empty(website)' });
const save = () => block('save_csv', {});
const company = () => block('enrich_company', { struct: { employee_count: 'Employees' } });
const people = () => block('enrich_company', { struct: { employee_count: 'Employees' }, find_people: true });
const lead = () => block('enrich_lead', { struct: { seniority: 'Seniority' } });
const email = () => block('find_email', {});

function analyze(blocks: B[], sourceColumns: (path: string) => string[] | null = (p) => sources[p] ?? null) {
	return analyzeColumns({ blocks }, { sourceColumns });
}

const KIND_ERROR = /needs (lead|company) rows/;

describe('inferring the kind of a file from its columns', () => {
	it.each<[string[], string]>([
		[['name', 'company', 'email'], 'lead'],
		[['First_Name', 'Last_Name', 'company_domain'], 'lead'],
		[['linkedin_url'], 'lead'],
		[['Company_Name', 'Website'], 'company'],
		[['domain', 'industry', 'employees'], 'company'],
		[['id', 'notes'], 'any'],
		[[], 'any'],
		[['_error', '_confidence'], 'any']
	])('%j → %s', (columns, kind) => {
		expect(inferRowKind(columns).kind).toBe(kind);
	});
});

describe('the kind check for every pair of blocks', () => {
	/** Rows after each producer (built from a source that fits it), and the block that decided their kind. */
	const producers: Record<string, { blocks: () => B[]; madeBy: string }> = {
		'Read CSV (leads)': { blocks: () => [read('leads.csv')], madeBy: 'Read CSV (block 1)' },
		'Read CSV (companies)': { blocks: () => [read('companies.csv')], madeBy: 'Read CSV (block 1)' },
		'Filter (companies)': { blocks: () => [read('companies.csv'), filter()], madeBy: 'Read CSV (block 1)' },
		'Save CSV (leads)': { blocks: () => [read('leads.csv'), save()], madeBy: 'Read CSV (block 1)' },
		'Enrich Company': { blocks: () => [read('companies.csv'), company()], madeBy: 'Enrich Company (block 2)' },
		'Enrich Company + Find people': { blocks: () => [read('companies.csv'), people()], madeBy: 'Enrich Company (block 2)' },
		'Enrich Lead': { blocks: () => [read('leads.csv'), lead()], madeBy: 'Enrich Lead (block 2)' },
		'Find Email': { blocks: () => [read('leads.csv'), email()], madeBy: 'Find Email (block 2)' }
	};
	const consumers: Record<string, () => B> = {
		Filter: filter,
		'Save CSV': save,
		'Enrich Company': company,
		'Enrich Company + Find people': people,
		'Enrich Lead': lead,
		'Find Email': email
	};
	// Columns: Filter, Save CSV, Enrich Company, Enrich Company + Find people, Enrich Lead, Find Email.
	const Y = 'ok';
	const N = 'refused';
	const expected: Record<string, string[]> = {
		'Read CSV (leads)': [Y, Y, N, N, Y, Y],
		'Read CSV (companies)': [Y, Y, Y, Y, N, N],
		'Filter (companies)': [Y, Y, Y, Y, N, N],
		'Save CSV (leads)': [Y, Y, N, N, Y, Y],
		'Enrich Company': [Y, Y, Y, Y, N, N],
		'Enrich Company + Find people': [Y, Y, N, N, Y, Y],
		'Enrich Lead': [Y, Y, N, N, Y, Y],
		'Find Email': [Y, Y, N, N, Y, Y]
	};
	const cases = Object.entries(expected).flatMap(([producer, row]) =>
		Object.keys(consumers).map((consumer, k) => ({ producer, consumer, outcome: row[k] }))
	);

	it.each(cases)('$producer → $consumer: $outcome', ({ producer, consumer, outcome }) => {
		// The filter consumer reads `website`: give lead files one too, so only kinds can fail.
		const blocks = [...producers[producer].blocks(), consumers[consumer]()];
		// The filter consumer reads `website`: give the lead file one too, so only kinds can fail.
		const flow = analyze(blocks, (p) => (p === 'leads.csv' ? [...sources[p], 'website'] : (sources[p] ?? null)));
		const errors = flow.problems.filter((p) => p.severity === 'error');
		if (outcome === 'ok') {
			expect(errors).toEqual([]);
			expect(flow.ok).toBe(true);
			return;
		}
		// One error, on the refusing block, naming it and the block that made the rows.
		expect(flow.ok).toBe(false);
		expect(errors).toHaveLength(1);
		expect(errors[0]).toMatchObject({ block_id: blocks[blocks.length - 1].id, path: `blocks.${blocks.length - 1}` });
		expect(errors[0].message).toMatch(KIND_ERROR);
		expect(errors[0].message.startsWith(`${consumer.replace(' + Find people', '')} needs`)).toBe(true);
		expect(errors[0].message).toContain(`but ${producers[producer].madeBy} `);
	});
});

describe('refusal messages name both blocks and the fix', () => {
	it.each<[string, B[], string]>([
		[
			'company block after a lead block',
			[read('companies.csv'), people(), lead(), company()],
			'Enrich Company needs company rows, but Enrich Lead (block 3) produces lead rows. Put Enrich Company before the lead blocks, or turn on Find people to turn companies into leads.'
		],
		[
			'lead block after Enrich Company without Find people',
			[read('companies.csv'), company(), email()],
			'Find Email needs lead rows, but Enrich Company (block 2) produces company rows. Turn on Find people in Enrich Company to turn companies into leads.'
		],
		[
			'a second Enrich Company after one that found people',
			[read('companies.csv'), people(), company()],
			'Enrich Company needs company rows, but Enrich Company (block 2) produces lead rows (Find people is on). Move this block above Enrich Company (block 2), or turn off Find people there.'
		],
		[
			'lead block on a company file, through a filter',
			[read('companies.csv'), filter(), lead()],
			'Enrich Lead needs lead rows, but Read CSV (block 1) gives company rows (it has company columns and no person column: "company_name", "website", "industry"). Add Enrich Company with Find people before Enrich Lead to turn companies into leads, or set Read CSV\'s row kind to Lead if each row is a person.'
		],
		[
			'company block on a file that reads as leads',
			[read('named-companies.csv'), company()],
			'Enrich Company needs company rows, but Read CSV (block 1) gives lead rows (it has person columns: "name"). Set Read CSV\'s row kind to Company if each row of the file is a company, or use Enrich Lead for people.'
		],
		[
			'a kind the user set',
			[read('companies.csv', 'lead'), company()],
			"Enrich Company needs company rows, but Read CSV (block 1) gives lead rows (its row kind is set to Lead). Set Read CSV's row kind to Company if each row of the file is a company, or use Enrich Lead for people."
		]
	])('%s', (_, blocks, message) => {
		const flow = analyze(blocks);
		expect(flow.problems.filter((p) => p.severity === 'error').map((p) => p.message)).toEqual([message]);
	});
});

describe('Read CSV row kind', () => {
	it('setting the kind fixes a file whose columns read as the other kind', () => {
		expect(analyze([read('named-companies.csv'), company()]).ok).toBe(false);
		const flow = analyze([read('named-companies.csv', 'company'), company()]);
		expect(flow.problems).toEqual([]);
		expect(flow.blocks[0].output_kind).toBe('company');
	});

	it('auto is the same as unset', () => {
		const messages = (blocks: B[]) => analyze(blocks).problems.map((p) => p.message);
		expect(messages([read('companies.csv', 'auto'), lead()])).toEqual(messages([read('companies.csv'), lead()]));
		expect(messages([read('companies.csv', 'auto'), lead()])).toHaveLength(1);
	});

	it('refuses a kind that is not one of auto, lead, company', () => {
		const flow = analyze([read('companies.csv', 'person'), save()]);
		expect(flow.problems.map((p) => p.path)).toEqual(['blocks.0.params.kind']);
	});

	it('never refuses when the columns are unknown (file not read yet), unless the kind was set', () => {
		const unknown = () => null;
		for (const next of [company, people, lead, email]) {
			const flow = analyze([read('x.csv'), next()], unknown);
			expect(flow.problems).toEqual([]);
			expect(flow.blocks.map((b) => b.input_kind)).toEqual([null, null]);
		}
		// Past a block that decides the kind, the kind is known again, whatever the file holds.
		const decided = analyze([read('x.csv'), company(), lead()], unknown);
		expect(decided.blocks.map((b) => b.output_kind)).toEqual([null, 'company', 'lead']);
		expect(decided.problems.map((p) => p.message)).toEqual([
			expect.stringMatching(/^Enrich Lead needs lead rows, but Enrich Company \(block 2\)/)
		]);
		const set = analyze([read('x.csv', 'lead'), company()], unknown);
		expect(set.problems.map((p) => p.message)).toEqual([
			expect.stringMatching(/^Enrich Company needs company rows, but Read CSV \(block 1\)/)
		]);
	});

	it('a table of any kind fits every block (its columns are still checked)', () => {
		const flow = analyze([read('plain.csv'), company()]);
		expect(flow.problems.map((p) => p.message)).toEqual([
			expect.stringMatching(/^Enrich Company needs a column that names the company/)
		]);
		expect(flow.blocks.map((b) => [b.input_kind, b.output_kind])).toEqual([
			[null, 'any'],
			['any', 'company']
		]);
	});
});

describe('kinds in the analysis, for the UI', () => {
	it('gives what each block accepts, receives and produces', () => {
		const flow = analyze([read('companies.csv'), filter(), people(), email(), save()]);
		expect(flow.problems).toEqual([]);
		expect(flow.blocks.map((b) => [b.accepts, b.input_kind, b.output_kind])).toEqual([
			['any', null, 'company'],
			['any', 'company', 'company'],
			['company', 'company', 'lead'],
			['lead', 'lead', 'lead'],
			['any', 'lead', 'lead']
		]);
	});

	it('reads kinds from invalid params as written (a bad struct does not hide Find people)', () => {
		const flow = analyze([read('companies.csv'), block('enrich_company', { struct: 'oops', find_people: true }), lead()]);
		expect(flow.blocks.map((b) => b.output_kind)).toEqual(['company', 'lead', 'lead']);
		expect(flow.problems.some((p) => KIND_ERROR.test(p.message))).toBe(false);
	});

	it('the catalogue says what each block accepts and produces with its default params', () => {
		const kinds = Object.fromEntries(describeBlocks().map((b) => [b.type, b.row_kinds]));
		expect(kinds).toEqual({
			read_csv: { accepts: 'any', produces: 'columns' },
			filter: { accepts: 'any', produces: 'input' },
			enrich_company: { accepts: 'company', produces: 'company' },
			enrich_lead: { accepts: 'lead', produces: 'lead' },
			find_email: { accepts: 'lead', produces: 'lead' },
			find_phone: { accepts: 'lead', produces: 'lead' },
			save_csv: { accepts: 'any', produces: 'input' }
		});
	});
});
