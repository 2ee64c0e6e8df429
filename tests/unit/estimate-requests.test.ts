/**
 * The estimate's requests per row follow the mode the server calls the API in: sync 1, async with
 * polls ≈2, async with webhooks ≈1.05, bulk find-email 1/batch — so a run's request bill (what the
 * rate limit carries) is known before it starts.
 */
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { estimateRun, type RequestModel } from '../../server/jobs/estimate';
import { WorkflowSchema } from '../../src/lib/workflow/schema';

const workflow = v.parse(WorkflowSchema, {
	name: 'e',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
		{
			id: 'lead',
			type: 'enrich_lead',
			params: { struct: { title: 'Job title' } }
		},
		{ id: 'email', type: 'find_email', params: { only_missing: false } }
	]
});

describe('estimate: requests per row by mode', () => {
	it.each([
		{
			mode: 'sync, single lookups',
			model: { asyncEnrich: false, webhooks: false, findEmailBulk: false },
			lead: 1,
			email: 1,
			total: 2000
		},
		{
			mode: 'async + polls',
			model: { asyncEnrich: true, webhooks: false, findEmailBulk: false },
			lead: 2.02,
			email: 1,
			total: 3020
		},
		{
			mode: 'async + webhooks',
			model: { asyncEnrich: true, webhooks: true, findEmailBulk: false },
			lead: 1.05,
			email: 1,
			total: 2050
		},
		{
			mode: 'async + webhooks + bulk (50 in flight)',
			model: { asyncEnrich: true, webhooks: true, findEmailBulk: true },
			lead: 1.05,
			email: 0.02,
			total: 1070
		}
	] satisfies {
		mode: string;
		model: RequestModel;
		lead: number;
		email: number;
		total: number;
	}[])('$mode', ({ model, lead, email, total }) => {
		const estimate = estimateRun(workflow, { concurrency: 50 }, { read: 1000 }, model);
		const [, l, e] = estimate.blocks;
		expect(l).toMatchObject({
			requests_per_row: lead,
			expected_requests: Math.ceil(1000 * lead)
		});
		expect(e).toMatchObject({
			requests_per_row: email,
			expected_requests: Math.ceil(1000 * email)
		});
		expect(estimate.expected_requests).toBe(total);
		expect(estimate.max_calls).toBe(2000); // paid calls do not depend on the mode
	});

	it('a bulk batch holds at most 100 rows, however many are in flight', () => {
		const estimate = estimateRun(
			workflow,
			{ concurrency: 500 },
			{ read: 1000 },
			{ asyncEnrich: false, webhooks: false, findEmailBulk: true }
		);
		expect(estimate.blocks[2]).toMatchObject({
			requests_per_row: 0.01,
			expected_requests: 10
		});
	});
});
