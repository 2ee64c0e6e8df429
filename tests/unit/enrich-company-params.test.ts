import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { addedColumnsOf } from '../../src/lib/workflow/blocks';
import { EnrichCompanyParams } from '../../src/lib/workflow/blocks/enrich-company';
import { analyzeColumns, type WorkflowBlocks } from '../../src/lib/workflow/columns';
import { findCompanyColumns } from '../../src/lib/workflow/company-columns';
import { BlockSchema } from '../../src/lib/workflow/schema';

type B = WorkflowBlocks['blocks'][number];
const COMPANIES = ['company_name', 'website', 'industry'];
const sources: Record<string, string[]> = {
	'companies.csv': COMPANIES,
	'industries.csv': ['industry', 'country'],
	'titled.csv': ['Company', 'employee_count', 'title_of_ceo']
};
const read = (path = 'companies.csv'): B => ({ id: 'read', type: 'read_csv', params: { path, kind: 'company' } });
const company = (params: unknown): B => ({ id: 'company', type: 'enrich_company', params });
const analyze = (...blocks: B[]) => analyzeColumns({ blocks }, { sourceColumns: (p) => sources[p] ?? null });
const STRUCT = { employee_count: 'Number of employees' };

describe('enrich_company params: bad input gets a clear error', () => {
	it.each<[string, unknown, string, RegExp]>([
		['struct missing', {}, 'struct', /Expected "struct"/],
		['struct not an object', { struct: 'employees' }, 'struct', /Invalid type/],
		['a struct field that cannot be a column', { struct: { 'employee count': 'x' } }, 'struct', /Field names start with a letter/],
		['find_people not a boolean', { struct: STRUCT, find_people: 'yes' }, 'find_people', /Invalid type/],
		['an empty company_columns mapping', { struct: STRUCT, company_columns: {} }, 'company_columns', /Map at least one company column/],
		['an unknown company_columns key', { struct: STRUCT, company_columns: { ceo: 'x' } }, 'company_columns.ceo', /Invalid key/],
		[
			'a blank mapped column',
			{ struct: STRUCT, company_columns: { website: '  ' } },
			'company_columns.website',
			/Column name is empty/
		],
		[
			'a bad lead_struct field',
			{ struct: STRUCT, find_people: true, lead_struct: { '1st': 'x' } },
			'lead_struct',
			/Field names start with a letter/
		],
		['an unknown tier', { struct: STRUCT, tier: 'ultra' }, 'tier', /Invalid type/],
		['concurrency 0', { struct: STRUCT, concurrency: 0 }, 'concurrency', /Invalid value/],
		['an unknown param', { struct: STRUCT, find_persons: true }, 'find_persons', /Invalid key/]
	])('%s', (_, params, path, message) => {
		const parsed = v.safeParse(EnrichCompanyParams, params);
		expect(parsed.success).toBe(false);
		const issue = parsed.issues!.find((i) => (v.getDotPath(i) ?? '').startsWith(path));
		expect(issue, `an issue at ${path}`).toBeDefined();
		expect(issue!.message).toMatch(message);
		// The analysis reports the same issue at the param's path, and nothing crashes.
		const flow = analyze(read(), company(params));
		expect(flow.ok).toBe(false);
		expect(flow.problems.some((p) => p.path.startsWith(`blocks.1.params.${path.split('.')[0]}`))).toBe(true);
	});

	it('applies the documented defaults', () => {
		expect(v.parse(BlockSchema, { id: 'c', type: 'enrich_company', params: { struct: STRUCT } }).params).toEqual({
			struct: STRUCT,
			find_people: false
		});
	});
});

describe('enrich_company in the column flow', () => {
	it.each<[string, unknown, string[]]>([
		['struct fields, confidence, error', { struct: STRUCT }, [...COMPANIES, 'employee_count', '_confidence', '_error']],
		[
			'Find people adds the default person fields and _people_found',
			{ struct: STRUCT, find_people: true },
			[...COMPANIES, 'employee_count', 'name', 'title', 'linkedin', '_people_found', '_confidence', '_error']
		],
		[
			'a person field named like a company field is one column',
			{ struct: { ...STRUCT, linkedin: 'Company page' }, find_people: true, lead_struct: { name: 'Name', linkedin: 'Profile' } },
			[...COMPANIES, 'employee_count', 'linkedin', 'name', '_people_found', '_confidence', '_error']
		],
		[
			'lead_struct is ignored without Find people',
			{ struct: STRUCT, lead_struct: { name: 'Name' } },
			[...COMPANIES, 'employee_count', '_confidence', '_error']
		]
	])('%s', (_, params, output) => {
		const flow = analyze(read(), company(params));
		expect(flow.blocks[1].output).toEqual(output);
		expect(addedColumnsOf('enrich_company', v.parse(EnrichCompanyParams, params))).toEqual(output.slice(COMPANIES.length));
	});

	it.each<[string, string, unknown, { path: string; severity: string; message: RegExp }[]]>([
		['a valid block', 'companies.csv', { struct: STRUCT }, []],
		[
			'no field to find and no Find people',
			'companies.csv',
			{ struct: {} },
			[{ path: 'blocks.1.params.struct', severity: 'error', message: /needs at least one field to find .* or Find people turned on/ }]
		],
		['only people wanted: an empty struct is fine', 'companies.csv', { struct: {}, find_people: true }, []],
		[
			'no column names the company',
			'industries.csv',
			{ struct: STRUCT },
			[
				{
					path: 'blocks.1.params.company_columns',
					severity: 'error',
					message: /needs a column that names the company .* the columns here are "industry", "country"/
				}
			]
		],
		[
			'a mapped column that is not there',
			'companies.csv',
			{ struct: STRUCT, company_columns: { company_name: 'Company_Name' } },
			[
				{
					path: 'blocks.1.params.company_columns.company_name',
					severity: 'error',
					message: /There is no column "Company_Name": did you mean "company_name"\?/
				}
			]
		],
		[
			'people options while Find people is off',
			'companies.csv',
			{ struct: STRUCT, people_focus_prompt: 'CTOs', lead_struct: { name: 'Name' } },
			[
				{ path: 'blocks.1.params.people_focus_prompt', severity: 'warning', message: /Ignored: Find people is off/ },
				{ path: 'blocks.1.params.lead_struct', severity: 'warning', message: /Ignored: Find people is off/ }
			]
		],
		[
			'people nobody can tell apart',
			'companies.csv',
			{ struct: STRUCT, find_people: true, lead_struct: { seniority: 'Seniority' } },
			[{ path: 'blocks.1.params.lead_struct', severity: 'warning', message: /No person field names the person/ }]
		],
		[
			'an empty lead_struct',
			'companies.csv',
			{ struct: STRUCT, find_people: true, lead_struct: {} },
			[{ path: 'blocks.1.params.lead_struct', severity: 'error', message: /at least one person field/ }]
		],
		[
			'fields that overwrite columns',
			'titled.csv',
			{ struct: STRUCT, find_people: true, lead_struct: { name: 'Name', employee_count: 'x', Company: 'Employer' } },
			[
				{ path: 'blocks.1.params.lead_struct.employee_count', severity: 'warning', message: /also a company field/ },
				{
					path: 'blocks.1.params.struct.employee_count',
					severity: 'warning',
					message: /already exists: Enrich Company will overwrite it/
				},
				{
					path: 'blocks.1.params.lead_struct.Company',
					severity: 'warning',
					message: /already exists: on person rows it will hold the person's value/
				}
			]
		]
	])('%s', (_, path, params, expected) => {
		const flow = analyze(read(path), company(params));
		expect(flow.problems.map((p) => ({ path: p.path, severity: p.severity, message: p.message }))).toEqual(
			expected.map((e) => ({ ...e, message: expect.stringMatching(e.message) }))
		);
	});
});

describe('detecting company columns by name', () => {
	it.each<[string[], Record<string, string>]>([
		[
			['company_name', 'website', 'domain', 'company_linkedin'],
			{ company_name: 'company_name', website: 'website', domain: 'domain', linkedin_url: 'company_linkedin' }
		],
		[['Company', 'Homepage'], { company_name: 'Company', website: 'Homepage' }],
		[['name', 'linkedin'], { company_name: 'name', linkedin_url: 'linkedin' }],
		[['company', 'company_name'], { company_name: 'company_name' }],
		[['_company', 'notes'], {}]
	])('%j', (columns, expected) => {
		expect(findCompanyColumns(columns)).toEqual(expected);
	});

	it('uses an explicit mapping as given', () => {
		expect(findCompanyColumns(['company_name', 'website'], { domain: 'website' })).toEqual({ domain: 'website' });
	});
});
