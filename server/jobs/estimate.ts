/**
 * The cost bound shown before a run: the most paid calls each API block could make and what they
 * could cost. An upper bound by construction — filters are assumed to keep every row, find_email's
 * `only_missing` to skip none, the cache to hold nothing — so the real bill can only be lower.
 * Prices and what they assume are each paid block's definition (`cost`).
 */
import { BLOCK_DEFINITIONS, definitionOf } from '../../src/lib/workflow/blocks';
import type { RequestModel } from '../../src/lib/workflow/blocks/types';
import type { Block, RunOptions, Workflow } from '../../src/lib/workflow/schema';

export type { RequestModel };

/** Requests one row of `block` is expected to cost in `model` (0 for blocks that call no API). */
export function requestsPerRow(block: Block, model: RequestModel, concurrency: number): number {
	const definition = definitionOf(block.type);
	if (!definition?.usesApi) return 0;
	return definition.cost?.requestsPerRow?.(block.params as never, model, concurrency) ?? 1;
}

/** Least and most requests one row of `block` can cost in `model` ([0, 0] for blocks that call no API). */
export function requestBoundsPerRow(block: Block, model: RequestModel, concurrency: number): [number, number] {
	const definition = definitionOf(block.type);
	if (!definition?.usesApi) return [0, 0];
	const bounds = definition.cost?.requestsPerRowBounds?.(block.params as never, model, concurrency);
	if (bounds) return bounds;
	const one = requestsPerRow(block, model, concurrency);
	return [one, one];
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
	/** Least and most requests for `max_rows` rows none of which is cached (polls included; retries after 429/5xx not). */
	requests_low: number | null;
	requests_high: number | null;
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
	requests_low: number | null;
	requests_high: number | null;
	/** The key's rate limit now (requests/min), when known. */
	rate_limit_per_min: number | null;
	/** Seconds the rate limit alone implies for the expected requests (and for the bounds): the run cannot be faster. */
	seconds_at_rate_limit: { low: number; expected: number; high: number } | null;
	assumptions: string[];
}

/** What every estimate assumes, then each paid block's own prices and assumptions (its definition's `cost`). */
const ASSUMPTIONS = [
	'Upper bound: every filter keeps every row and nothing is in the cache yet',
	'Requests: polls included (an async answer is polled at its expected time, then at growing intervals, up to 8 polls for one 16× slower than expected); retries after a 429 or 5xx come on top',
	...BLOCK_DEFINITIONS.flatMap((d) => d.cost?.assumptions ?? [])
];

function centsPerCall(block: Block): number {
	return definitionOf(block.type)?.cost?.centsPerCall(block.params) ?? 0;
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
	model: RequestModel = { asyncEnrich: true, webhooks: false, findEmailBulk: false },
	rateLimitPerMin: number | null = null
): RunEstimate {
	let expected: number | null = 0;
	let low: number | null = 0;
	let high: number | null = 0;
	const add = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b);
	const limit = (n: number | null) => (n === null ? null : Math.min(n, options.row_limit ?? Infinity));
	const isSource = (b: Block) => definitionOf(b.type)?.source !== undefined;
	const firstSource = workflow.blocks.find(isSource);
	const inputRows = firstSource ? (sourceRows[firstSource.id] ?? null) : 0;
	let rows: number | null = 0;
	let maxCalls: number | null = 0;
	let maxCost: number | null = 0;
	const blocks: BlockEstimate[] = [];
	for (const block of workflow.blocks) {
		const definition = definitionOf(block.type)!;
		if (isSource(block)) rows = limit(sourceRows[block.id] ?? null);
		const cents = centsPerCall(block);
		const usesApi = definition.usesApi;
		const calls = usesApi ? rows : 0;
		const cost = calls === null ? null : calls * cents;
		if (usesApi) {
			maxCalls = maxCalls === null || calls === null ? null : maxCalls + calls;
			maxCost = maxCost === null || cost === null ? null : maxCost + cost;
		}
		const perRow = requestsPerRow(block, model, options.concurrency ?? 50);
		const requests = rows === null ? null : Math.ceil(rows * perRow);
		const [lowPerRow, highPerRow] = requestBoundsPerRow(block, model, options.concurrency ?? 50);
		const blockLow = rows === null ? null : Math.ceil(rows * lowPerRow);
		const blockHigh = rows === null ? null : Math.ceil(rows * highPerRow);
		if (usesApi) {
			expected = add(expected, requests);
			low = add(low, blockLow);
			high = add(high, blockHigh);
		}
		blocks.push({
			block_id: block.id,
			block_type: block.type,
			max_rows: rows,
			max_calls: calls,
			cents_per_call: cents,
			max_cost_cents: cost,
			requests_per_row: Math.round(perRow * 1000) / 1000,
			expected_requests: requests,
			requests_low: blockLow,
			requests_high: blockHigh
		});
		// A block whose rows may each become any number of rows: no bound below it.
		if (definition.cost?.unboundedRows?.(block.params)) rows = null;
	}
	return {
		input_rows: inputRows,
		rows: limit(inputRows),
		blocks,
		max_calls: maxCalls,
		max_cost_cents: maxCost,
		expected_requests: expected,
		requests_low: low,
		requests_high: high,
		rate_limit_per_min: rateLimitPerMin,
		seconds_at_rate_limit:
			rateLimitPerMin && rateLimitPerMin > 0 && expected !== null && low !== null && high !== null
				? {
						low: Math.round((low / rateLimitPerMin) * 60 * 10) / 10,
						expected: Math.round((expected / rateLimitPerMin) * 60 * 10) / 10,
						high: Math.round((high / rateLimitPerMin) * 60 * 10) / 10
					}
				: null,
		assumptions: ASSUMPTIONS
	};
}
