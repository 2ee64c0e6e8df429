/**
 * The cost bound shown before a run, from each paid block's definition (`cost`): calls and cents
 * per block, row limits, unknown sizes, and the rows Find people makes unbounded.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { estimateRun } from '../../server/jobs/estimate';
import { WorkflowSchema, type WorkflowInput } from '../../src/lib/workflow/schema';

const read = { id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } } as const;
const save = { id: 'save', type: 'save_csv', params: {} } as const;
const workflow = (...blocks: WorkflowInput['blocks']) => v.parse(WorkflowSchema, { name: 'w', blocks: [read, ...blocks, save] });

describe('estimateRun', () => {
	it.each([
		['find_phone', {}, 30],
		['find_email', {}, 5],
		['find_email', { mode: 'PERSONAL' }, 20],
		['enrich_lead', { struct: { title: 'Title' } }, 5],
		['enrich_lead', { struct: { title: 'Title' }, tier: 'high' }, 20],
		['enrich_company', { struct: { industry: 'Industry' } }, 10],
		['enrich_company', { struct: { industry: 'Industry' }, tier: 'xhigh' }, 80]
	] as const)('%s with %j costs %i cents a row, one call per row', (type, params, cents) => {
		const estimate = estimateRun(workflow({ id: 'paid', type, params } as WorkflowInput['blocks'][number]), {}, { read: 200 });
		expect(estimate.blocks.map((b) => [b.block_type, b.max_calls, b.cents_per_call, b.max_cost_cents])).toEqual([
			['read_csv', 0, 0, 0],
			[type, 200, cents, 200 * cents],
			['save_csv', 0, 0, 0]
		]);
		expect(estimate).toMatchObject({ input_rows: 200, rows: 200, max_calls: 200, max_cost_cents: 200 * cents });
	});

	it('adds up the paid blocks, each on the rows that reach it, with the row limit applied', () => {
		const estimate = estimateRun(
			workflow(
				{ id: 'keep', type: 'filter', params: { expression: 'company == "Ariglad Inc"' } },
				{ id: 'mail', type: 'find_email', params: {} },
				{ id: 'phone', type: 'find_phone', params: { only_missing: false } }
			),
			{ row_limit: 50 },
			{ read: 1_000 }
		);
		expect(estimate).toMatchObject({ input_rows: 1_000, rows: 50, max_calls: 100, max_cost_cents: 50 * 5 + 50 * 30 });
		expect(estimate.blocks.find((b) => b.block_id === 'phone')).toMatchObject({ max_rows: 50, max_calls: 50, max_cost_cents: 1_500 });
	});

	it('has no bound below an Enrich Company that finds people, nor when the file size is unknown', () => {
		const people = estimateRun(
			workflow(
				{ id: 'co', type: 'enrich_company', params: { struct: {}, find_people: true } },
				{ id: 'phone', type: 'find_phone', params: {} }
			),
			{},
			{ read: 10 }
		);
		expect(people.blocks.map((b) => b.max_rows)).toEqual([10, 10, null, null]);
		expect(people).toMatchObject({ max_calls: null, max_cost_cents: null });

		const unknown = estimateRun(workflow({ id: 'phone', type: 'find_phone', params: {} }), {}, { read: null });
		expect(unknown).toMatchObject({ input_rows: null, max_calls: null, max_cost_cents: null });
	});

	it("states every paid block's price assumption", () => {
		const { assumptions } = estimateRun(workflow(), {}, { read: 1 });
		expect(assumptions[0]).toMatch(/^Upper bound/);
		expect(assumptions).toEqual(
			expect.arrayContaining([
				'find_phone is assumed to cost 30 cents per row sent: Sixtyfour publishes no price',
				'find_email costs 5 cents (PROFESSIONAL) or 20 cents (PERSONAL) per row sent'
			])
		);
	});
});
