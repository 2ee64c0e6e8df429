import { describe, expect, it } from 'vitest';
import { analyzeColumns, type Problem, type WorkflowBlocks } from '../../src/lib/workflow/columns';

const LEADS = ['name', 'company', 'email', 'company_location', 'linkedin'];
const sources: Record<string, string[]> = {
	'leads.csv': LEADS,
	'bare.csv': ['id', 'notes'],
	'emails.csv': ['email', 'notes'],
	'names-only.csv': ['Full_Name', 'notes'],
	'split-names.csv': ['first_name', 'last_name', 'company'],
	'internal.csv': ['_error', '_confidence'],
	'dupes.csv': ['name', 'name', 'company'],
	'companies.csv': ['company_name', 'website']
};
const sourceColumns = (path: string) => sources[path] ?? null;

type B = WorkflowBlocks['blocks'][number];
let nextId = 0;
const block = (type: string, params: unknown = {}): B => ({ id: `b${nextId++}`, type, params });
const read = (path = 'leads.csv') => block('read_csv', { path });
const filter = (params: unknown) => block('filter', params);
const enrich = (params: unknown = { struct: { title: 'Current job title' } }) => block('enrich_lead', params);
const findEmail = (params: unknown = {}) => block('find_email', params);
const save = () => block('save_csv', {});

function analyze(...blocks: B[]) {
	return analyzeColumns({ blocks }, { sourceColumns });
}

/** The problems, reduced to what a test asserts on. */
function brief(problems: Problem[]) {
	return problems.map(({ path, severity, message, position }) => ({ path, severity, message, position }));
}

describe('columns after each block', () => {
	it('follows the Filtered example: read → filter → enrich → filter → save', () => {
		const flow = analyze(
			read(),
			filter({ expression: 'contains(company, "Ariglad Inc")' }),
			enrich({
				struct: { undergrad_university: 'Undergrad university', is_american_education: { description: 'US?', type: 'bool' } }
			}),
			filter({ expression: 'is_american_education == true' }),
			save()
		);
		expect(flow.problems).toEqual([]);
		expect(flow.ok).toBe(true);
		const enriched = [...LEADS, 'undergrad_university', 'is_american_education', '_confidence', '_error'];
		expect(flow.blocks.map((b) => [b.index, b.input, b.output])).toEqual([
			[0, [], LEADS],
			[1, LEADS, LEADS],
			[2, LEADS, enriched],
			[3, enriched, enriched],
			[4, enriched, enriched]
		]);
	});

	it.each<[string, B[], string[]]>([
		['find_email adds its columns once, even when the file has email', [read(), findEmail()], [...LEADS, 'email_status', '_error']],
		[
			'PERSONAL mode adds personal_email',
			[read(), findEmail({ mode: 'PERSONAL' })],
			[...LEADS, 'email_status', 'personal_email', '_error']
		],
		[
			'_error is not duplicated by a second API block',
			[read(), findEmail(), enrich()],
			[...LEADS, 'email_status', '_error', 'title', '_confidence']
		],
		['duplicate headers collapse', [read('dupes.csv'), save()], ['name', 'company']]
	])('%s', (_, blocks, output) => {
		const flow = analyze(...blocks);
		expect(flow.blocks.at(-1)?.output).toEqual(output);
	});

	it('unknown source columns skip column checks downstream instead of raising false errors', () => {
		const flow = analyze(
			read('not-yet-uploaded.csv'),
			filter({ expression: 'anything == 1' }),
			filter({ column: 'whatever', operator: 'equals', value: 'x' }),
			enrich({ struct: { title: 't' }, input_columns: ['nobody'] }),
			findEmail(),
			save()
		);
		expect(flow.problems).toEqual([]);
		expect(flow.blocks.map((b) => b.input)).toEqual([[], null, null, null, null, null]);
	});

	it('a sourceColumns that throws counts as unknown', () => {
		const flow = analyzeColumns(
			{ blocks: [read(), filter({ expression: 'x == 1' })] },
			{
				sourceColumns: () => {
					throw new Error('disk gone');
				}
			}
		);
		expect(flow.ok).toBe(true);
		expect(flow.blocks[1].input).toBeNull();
	});
});

describe('problems a person must see before running', () => {
	it.each<[string, B[], Partial<Problem>[]]>([
		['no blocks', [], [{ block_id: null, path: 'blocks', severity: 'error', message: expect.stringMatching(/no blocks/) }]],
		[
			'a block after nothing',
			[filter({ expression: 'a == 1' })],
			[{ path: 'blocks.0.type', severity: 'error', message: expect.stringMatching(/^Filter comes after nothing.*Add a Read CSV/) }]
		],
		[
			'save before any read',
			[save()],
			[{ path: 'blocks.0.type', severity: 'error', message: expect.stringMatching(/^Save CSV is before any Read CSV/) }]
		],
		[
			'read_csv not first',
			[save(), read()],
			[
				{ path: 'blocks.0.type', message: expect.stringMatching(/Move Read CSV \(block 2\) to the top/) },
				{ path: 'blocks.1.type', message: expect.stringMatching(/Read CSV must be the first block/) }
			]
		],
		[
			'a second read_csv',
			[read(), filter({ expression: 'name == "x"' }), read('bare.csv')],
			[{ path: 'blocks.2.type', severity: 'error', message: expect.stringMatching(/second Read CSV would drop the rows/) }]
		],
		['unknown block type', [read(), block('scrape_web', {})], [{ path: 'blocks.1.type', message: 'Unknown block type "scrape_web"' }]],
		[
			'params that fail the schema, with their path',
			[read(''), findEmail({ mode: 'LOUD' }), enrich({ struct: { '1bad': 'x' } }), filter({ expression: 'a', extra: 1 })],
			[
				{ path: 'blocks.0.params.path', message: 'Choose a CSV file' },
				{ path: 'blocks.1.params.mode', message: expect.stringMatching(/Invalid type/) },
				{ path: 'blocks.2.params.struct.1bad', message: expect.stringMatching(/Field names start with a letter/) },
				{ path: 'blocks.3.params.extra', message: expect.stringMatching(/Invalid key/) }
			]
		],
		[
			'params that are not an object',
			[read(), filter(null)],
			[{ path: 'blocks.1.params', message: expect.stringMatching(/Invalid type/) }]
		],
		[
			'a filter with neither expression nor column',
			[read(), filter({ expression: '  ' })],
			[{ path: 'blocks.1.params', message: 'Give an expression, or a column and an operator' }]
		],
		[
			'a bad expression, with its position',
			[read(), filter({ expression: 'company == "Ariglad' })],
			[{ path: 'blocks.1.params.expression', message: expect.stringMatching(/not closed/), position: 11 }]
		],
		[
			'an expression on a column that does not exist, pointing at the column',
			[read(), filter({ expression: 'name != "" and employees >= 50' })],
			[
				{
					path: 'blocks.1.params.expression',
					message: expect.stringMatching(/There is no column "employees" here; the columns are "name", "company"/),
					position: 15
				}
			]
		],
		[
			'a missing column reported once however often it is named',
			[read(), filter({ expression: 'x == 1 or x == 2' })],
			[{ path: 'blocks.1.params.expression', position: 0 }]
		],
		[
			'a filter on email before find_email adds it names the block that adds it',
			[read('names-only.csv'), filter({ expression: 'email_status == "OK"' }), findEmail(), save()],
			[
				{
					path: 'blocks.1.params.expression',
					message: expect.stringMatching(
						/"email_status" does not exist yet: Find Email \(block 3\) adds it later; move this block after it/
					)
				},
				{ path: 'blocks.2', severity: 'warning', message: expect.stringMatching(/no company, domain or LinkedIn/) }
			]
		],
		[
			'the column form on a column that does not exist, with a case hint',
			[read(), filter({ column: 'Company', operator: 'equals', value: 'x' })],
			[{ path: 'blocks.1.params.column', message: expect.stringMatching(/no column "Company": did you mean "company"\?/) }]
		],
		[
			'the column form without a value',
			[read(), filter({ column: 'company', operator: 'contains' })],
			[{ path: 'blocks.1.params.value', message: 'Give a value to compare with' }]
		],
		[
			'an expression and a column at once: the column is ignored',
			[read(), filter({ expression: 'name == "x"', column: 'company', operator: 'equals', value: 'y' })],
			[{ path: 'blocks.1.params.column', severity: 'warning', message: expect.stringMatching(/ignored/) }]
		],
		[
			'enrich_lead with an empty struct',
			[read(), enrich({ struct: {} })],
			[{ path: 'blocks.1.params.struct', severity: 'error', message: expect.stringMatching(/at least one field/) }]
		],
		[
			'enrich_lead input_columns naming a missing column',
			[read(), enrich({ struct: { title: 't' }, input_columns: ['name', 'linkedin_url'] })],
			[{ path: 'blocks.1.params.input_columns.1', message: expect.stringMatching(/no column "linkedin_url"/) }]
		],
		[
			'enrich_lead with an empty input_columns list',
			[read(), enrich({ struct: { title: 't' }, input_columns: [] })],
			[{ path: 'blocks.1.params.input_columns', message: expect.stringMatching(/at least one input column/) }]
		],
		[
			'enrich_lead with nothing but bookkeeping columns to send',
			[read('internal.csv'), enrich()],
			[{ path: 'blocks.1.params.input_columns', message: expect.stringMatching(/no columns to describe the lead/) }]
		],
		[
			'enrich_lead overwriting an existing column',
			[read(), enrich({ struct: { company: 'Official company name' } })],
			[{ path: 'blocks.1.params.struct.company', severity: 'warning', message: expect.stringMatching(/will overwrite it/) }]
		],
		[
			'enrich_lead with nothing to identify a person',
			[read('bare.csv'), enrich()],
			[
				{
					path: 'blocks.1',
					severity: 'error',
					message: expect.stringMatching(/^Enrich Lead needs a column that identifies a person.*"id", "notes"/)
				}
			]
		],
		[
			'enrich_lead sending only columns that identify nobody',
			[read(), enrich({ struct: { title: 'Current job title' }, input_columns: ['company_location'] })],
			[
				{
					path: 'blocks.1.params.input_columns',
					severity: 'error',
					message: expect.stringMatching(/identifies a person.*"company_location"$/)
				}
			]
		],
		['enrich_lead from an email alone', [read('emails.csv'), enrich()], []],
		['enrich_lead from a name alone (no warning: it researches)', [read('names-only.csv'), enrich()], []],
		[
			'enrich_lead with an empty description',
			[read(), enrich({ struct: { title: 'Current job title', school: '', degree: { description: '  ', type: 'str' } } })],
			[
				{
					path: 'blocks.1.params.struct.school',
					severity: 'error',
					message: expect.stringMatching(/Describe what to find for "school"/)
				},
				{
					path: 'blocks.1.params.struct.degree',
					severity: 'error',
					message: expect.stringMatching(/Describe what to find for "degree"/)
				}
			]
		],
		[
			'enrich_company with nothing that names the company',
			[read('bare.csv'), block('enrich_company', { struct: { industry: 'Industry' } })],
			[
				{
					path: 'blocks.1.params.company_columns',
					severity: 'error',
					message: expect.stringMatching(/needs a column that names the company.*"id", "notes"/)
				}
			]
		],
		[
			'enrich_company with empty descriptions in struct and lead_struct',
			[
				read('companies.csv'),
				block('enrich_company', { struct: { industry: ' ' }, find_people: true, lead_struct: { name: 'Full name', title: '' } })
			],
			[
				{ path: 'blocks.1.params.struct.industry', severity: 'error', message: expect.stringMatching(/Describe what to find/) },
				{ path: 'blocks.1.params.lead_struct.title', severity: 'error', message: expect.stringMatching(/Describe what to find/) }
			]
		],
		[
			'find_email with nothing to identify a person',
			[read('bare.csv'), findEmail()],
			[{ path: 'blocks.1', severity: 'error', message: expect.stringMatching(/identifies a person.*columns here are "id", "notes"/) }]
		],
		[
			'find_email with a company but no person',
			[read('emails.csv'), enrich({ struct: { company: 'Company' } }), findEmail()],
			[{ path: 'blocks.2', severity: 'error' }]
		],
		['find_email with first and last names and a company', [read('split-names.csv'), findEmail()], []],
		[
			'find_email after an enrich that finds the name',
			[read('emails.csv'), enrich({ struct: { full_name: 'Name', linkedin_url: 'Profile' } }), findEmail()],
			[]
		],
		[
			'duplicate block ids',
			[read(), { id: 'same', type: 'save_csv', params: {} }, { id: 'same', type: 'save_csv', params: {} }],
			[{ path: 'blocks.2.id', message: 'Another block already has the id "same"' }]
		]
	])('%s', (_, blocks, expected) => {
		const flow = analyze(...blocks);
		expect(flow.problems).toEqual(expected.map((p) => expect.objectContaining(p)));
		expect(flow.ok).toBe(!expected.some((p) => (p.severity ?? 'error') === 'error'));
	});

	it("each block lists its own problems, with the block's id", () => {
		const blocks = [read(), filter({ expression: 'nope == 1' }), enrich({ struct: {} })];
		const flow = analyze(...blocks);
		expect(flow.blocks.map((b) => b.problems.map((p) => p.block_id))).toEqual([[], [blocks[1].id], [blocks[2].id]]);
		expect(brief(flow.problems)).toEqual(brief(flow.blocks.flatMap((b) => b.problems)));
	});

	it('after an unknown block, downstream columns are unknown (no cascade of false errors)', () => {
		const flow = analyze(read(), block('mystery'), filter({ expression: 'made_up == 1' }));
		expect(brief(flow.problems)).toEqual([
			{ path: 'blocks.1.type', severity: 'error', message: 'Unknown block type "mystery"', position: undefined }
		]);
		expect(flow.blocks[2].input).toBeNull();
	});

	it('a block after nothing is reported once, not again for every following block', () => {
		const flow = analyze(filter({ expression: 'a == 1' }), enrich(), findEmail(), save());
		expect(flow.problems.map((p) => p.path)).toEqual(['blocks.0.type']);
	});

	it('lists at most a dozen columns in a message', () => {
		const wide = Array.from({ length: 30 }, (_, i) => `c${i}`);
		const flow = analyzeColumns({ blocks: [read('wide.csv'), filter({ expression: 'zzz == 1' })] }, { sourceColumns: () => wide });
		expect(flow.problems[0].message).toMatch(/"c11" and 18 more$/);
	});

	it('survives a workflow that is not one', () => {
		const flow = analyzeColumns({ blocks: 'nope' } as unknown as WorkflowBlocks, { sourceColumns });
		expect(flow.ok).toBe(false);
		expect(flow.problems[0].path).toBe('blocks');
	});
});
