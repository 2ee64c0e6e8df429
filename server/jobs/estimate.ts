/**
 * The cost bound shown before a run: the most paid calls each API block could make and what they
 * could cost. An upper bound by construction — filters are assumed to keep every row, find_email's
 * `only_missing` to skip none, the cache to hold nothing — so the real bill can only be lower.
 */
import { BLOCKS } from '../../src/lib/workflow/blocks';
import type { Block, RunOptions, Workflow } from '../../src/lib/workflow/schema';

/**
 * Cents per find-email call, from Sixtyfour's price list ($0.05 professional, $0.20 personal).
 */
export const FIND_EMAIL_CENTS = { PROFESSIONAL: 5, PERSONAL: 20 } as const;

/**
 * Cents per enrich-lead call: an ASSUMPTION. Sixtyfour publishes no per-call price for
 * enrich-lead; its job-status example shows `charge_amount: 5` for a lead enrichment, taken here
 * as 5 cents at the default/low tier, doubling per tier step as a deliberately generous bound.
 */
export const ENRICH_LEAD_ASSUMED_CENTS = { low: 5, medium: 10, high: 20, xhigh: 40 } as const;

/** Cents per enrich-company call: an ASSUMPTION as well (no published price): twice enrich-lead. */
export const ENRICH_COMPANY_ASSUMED_CENTS = { low: 10, medium: 20, high: 40, xhigh: 80 } as const;

/**
 * How the server calls the API, which sets the requests each row costs (DESIGN.md "Requests per
 * row"): under a per-key limit, rows/s = limit ÷ requests per row.
 */
export interface RequestModel {
	/** enrich_lead / enrich_company via `*-async`: the submit plus polls. */
	asyncEnrich: boolean;
	/** Async answers arrive by webhook (PUBLIC_URL set): polls only for the few that get lost. */
	webhooks: boolean;
	/** find-email rows share `/find-email-bulk` requests. */
	findEmailBulk: boolean;
}

/** What the benchmarks measure (tests/bench/throughput.ts): submit + ≈1 adaptive poll; ≈5% of webhooks polled. */
const ASYNC_POLLED_REQUESTS_PER_ROW = 2.02;
const ASYNC_WEBHOOK_REQUESTS_PER_ROW = 1.05;

/** Requests one row of `block` is expected to cost in `model` (0 for blocks that call no API). */
export function requestsPerRow(block: Block, model: RequestModel, concurrency: number): number {
	if (!BLOCKS[block.type].usesApi) return 0;
	if (block.type === 'find_email') {
		// A batch holds the rows in flight at once, at most 100.
		return model.findEmailBulk ? 1 / Math.max(1, Math.min(100, block.params.concurrency ?? concurrency)) : 1;
	}
	if (!model.asyncEnrich) return 1;
	return model.webhooks ? ASYNC_WEBHOOK_REQUESTS_PER_ROW : ASYNC_POLLED_REQUESTS_PER_ROW;
}

export interface BlockEstimate {
	block_id: string;
	block_type: Block['type'];
	/** Most rows that can reach the block. */
	max_rows: number | null;
	/** Most paid API calls (one per row; polls of async calls are free but count against the rate limit). */
	max_calls: number | null;
	cents_per_call: number;
	max_cost_cents: number | null;
	/** API requests (submits, polls, bulk requests) one row is expected to cost in the server's mode. */
	requests_per_row: number;
	/** `max_rows × requests_per_row`: what the rate limit has to carry. */
	expected_requests: number | null;
}

export interface RunEstimate {
	/** Rows in the input file (null when unknown). */
	input_rows: number | null;
	/** Rows the run will read (`row_limit` applied). */
	rows: number | null;
	blocks: BlockEstimate[];
	max_calls: number | null;
	max_cost_cents: number | null;
	/** API requests the run is expected to send (polls and bulk requests included). */
	expected_requests: number | null;
	assumptions: string[];
}

const ASSUMPTIONS = [
	'Upper bound: every filter keeps every row and nothing is in the cache yet',
	'find_email costs 5 cents (PROFESSIONAL) or 20 cents (PERSONAL) per row sent',
	'enrich_lead is assumed to cost 5 cents per row at the default or low tier (10 medium, 20 high, 40 xhigh): Sixtyfour publishes no price',
	'enrich_company is assumed to cost 10 cents per row at the default or low tier (20, 40, 80 above)',
	'After an enrich_company that finds people, the number of rows is not known in advance: later blocks have no bound'
];

function centsPerCall(block: Block): number {
	if (block.type === 'find_email') return FIND_EMAIL_CENTS[block.params.mode];
	if (block.type === 'enrich_lead') return ENRICH_LEAD_ASSUMED_CENTS[block.params.tier ?? 'low'];
	if (block.type === 'enrich_company') return ENRICH_COMPANY_ASSUMED_CENTS[block.params.tier ?? 'low'];
	return 0;
}

/**
 * Estimates a validated workflow run. `sourceRows` gives the row count of each `read_csv` block's
 * file (null when unknown); blocks see the rows of the nearest `read_csv` above them.
 * @example estimateRun(workflow, { row_limit: 100 }, { read: 10_000 }).max_cost_cents
 */
export function estimateRun(
	workflow: Workflow,
	options: RunOptions,
	sourceRows: Record<string, number | null>,
	model: RequestModel = { asyncEnrich: true, webhooks: false, findEmailBulk: false }
): RunEstimate {
	let expected: number | null = 0;
	const limit = (n: number | null) => (n === null ? null : Math.min(n, options.row_limit ?? Infinity));
	const firstSource = workflow.blocks.find((b) => b.type === 'read_csv');
	const inputRows = firstSource ? (sourceRows[firstSource.id] ?? null) : 0;
	let rows: number | null = 0;
	let maxCalls: number | null = 0;
	let maxCost: number | null = 0;
	const blocks: BlockEstimate[] = [];
	for (const block of workflow.blocks) {
		if (block.type === 'read_csv') rows = limit(sourceRows[block.id] ?? null);
		const cents = centsPerCall(block);
		const usesApi = BLOCKS[block.type].usesApi;
		const calls = usesApi ? rows : 0;
		const cost = calls === null ? null : calls * cents;
		if (usesApi) {
			maxCalls = maxCalls === null || calls === null ? null : maxCalls + calls;
			maxCost = maxCost === null || cost === null ? null : maxCost + cost;
		}
		const perRow = requestsPerRow(block, model, options.concurrency ?? 50);
		const requests = rows === null ? null : Math.ceil(rows * perRow);
		if (usesApi) expected = expected === null || requests === null ? null : expected + requests;
		blocks.push({
			block_id: block.id,
			block_type: block.type,
			max_rows: rows,
			max_calls: calls,
			cents_per_call: cents,
			max_cost_cents: cost,
			requests_per_row: Math.round(perRow * 1000) / 1000,
			expected_requests: requests
		});
		// Each company may become any number of people: no bound below this block.
		if (block.type === 'enrich_company' && block.params.find_people) rows = null;
	}
	return { input_rows: inputRows, rows: limit(inputRows), blocks, max_calls: maxCalls, max_cost_cents: maxCost, expected_requests: expected, assumptions: ASSUMPTIONS };
}
