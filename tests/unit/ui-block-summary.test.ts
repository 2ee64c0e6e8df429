import { describe, expect, it } from 'vitest';
import { summarizeBlock } from '../../src/lib/block-summary';
import type { BlockInput } from '../../src/lib/workflow/doc';

const block = (type: string, params: Record<string, unknown>) => ({ id: 'b', type, params }) as BlockInput;

describe('summarizeBlock', () => {
	it.each([
		{ b: block('read_csv', { path: '' }), expected: 'No file chosen' },
		{ b: block('read_csv', { path: 'samples/leads.csv' }), expected: 'leads.csv' },
		{ b: block('filter', { expression: '  company ==\n "Ariglad Inc" ' }), expected: 'company == "Ariglad Inc"' },
		{ b: block('filter', { column: 'country', operator: 'equals', value: 'US' }), expected: 'country = "US"' },
		{ b: block('filter', { column: 'employees', operator: 'gte', value: 50 }), expected: 'employees ≥ 50' },
		{ b: block('filter', { column: 'email', operator: 'is_empty' }), expected: 'email is empty' },
		{ b: block('filter', { expression: '' }), expected: 'No condition yet' },
		{ b: block('enrich_lead', { struct: {} }), expected: 'No fields to find yet' },
		{ b: block('enrich_lead', { struct: { a: 'x', b: 'y', c: 'z', d: 'w' } }), expected: 'Finds a, b, c +1' },
		{ b: block('find_email', { mode: 'PERSONAL', only_missing: false }), expected: 'Personal email for every row' },
		{ b: block('find_email', {}), expected: 'Work email for rows without one' },
		{ b: block('save_csv', {}), expected: 'Saves results.csv' },
		{ b: block('save_csv', { filename: 'out.csv' }), expected: 'Saves out.csv' },
		{ b: block('save_csv', { filename: 'out.csv', format: 'xlsx' }), expected: 'Saves out.xlsx' },
		{ b: block('save_csv', { filename: 'basic-enriched' }), expected: 'Saves basic-enriched.csv' },
		{ b: block('save_csv', { filename: 'My leads (final)' }), expected: 'Saves My leads (final).csv' },
		// The final name, as written and downloaded (was "report.CSV.csv", which was never the file's name).
		{ b: block('save_csv', { filename: 'report.CSV' }), expected: 'Saves report.csv' },
		// half-edited or foreign params never throw
		{ b: block('enrich_lead', { struct: null }), expected: 'No fields to find yet' },
		{ b: block('nonsense', {}), expected: '' }
	])('$expected', ({ b, expected }) => {
		expect(summarizeBlock(b)).toBe(expected);
	});

	it('shows the uploaded file name instead of the stored id', () => {
		const names = new Map([['uploads/9f1c.csv', 'leads-march.csv']]);
		expect(summarizeBlock(block('read_csv', { path: 'uploads/9f1c.csv' }), names)).toBe('leads-march.csv');
	});
});

describe('summarizeBlock: enrich_company', () => {
	it.each([
		{ params: { struct: { industry: 'x' } }, expected: 'Finds industry' },
		{ params: { struct: { industry: 'x' }, find_people: true }, expected: 'Finds industry and people' },
		{ params: { struct: {}, find_people: true }, expected: 'Finds people' },
		{ params: { struct: {} }, expected: 'No fields to find yet' }
	])('$expected', ({ params, expected }) => {
		expect(summarizeBlock(block('enrich_company', params))).toBe(expected);
	});
});
