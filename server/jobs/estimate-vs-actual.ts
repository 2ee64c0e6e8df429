/**
 * Estimate vs actual, per block, after a run (issue 12): what the estimate said before the run for
 * the rows the run read (calls, requests with their bounds, cost) beside what the run did, with the
 * difference explained in words — rows a filter left out, answers the cache had, rows that failed,
 * polls beyond the expected one, retries.
 *
 * The estimate is recomputed from the job's own workflow snapshot and options and the rows its
 * source actually read, so the comparison holds for any old job, whatever the file became since.
 */
import { definitionOf } from '../../src/lib/workflow/blocks';
import type { RequestModel } from '../../src/lib/workflow/blocks/types';
import type { BlockProgress } from '../engine/types';
import type { JobRecord } from '../store/job-store';
import { estimateRun, requestBoundsPerRow, type RunEstimate } from './estimate';

const DEFAULT_MODEL: RequestModel = { asyncEnrich: true, webhooks: false, findEmailBulk: false };

export interface BlockComparison {
	block_id: string;
	block_type: BlockProgress['block_type'];
	estimate: {
		max_rows: number | null;
		max_calls: number | null;
		max_cost_cents: number | null;
		expected_requests: number | null;
		requests_low: number | null;
		requests_high: number | null;
	};
	actual: { rows: number; calls: number; cached: number; errors: number; requests: number; cost_cents: number };
	/** Requests per paid call: actual, and the bounds the estimate assumed for one row. */
	requests_per_call: { actual: number | null; low: number; expected: number; high: number };
	/** The actual requests lie within the bounds for the calls that were paid (retries aside). */
	within_bounds: boolean;
	/** Why actual differs from the estimate, in words (empty: it matched). */
	explanation: string[];
}

export interface EstimateVsActual {
	job_id: string;
	estimate: RunEstimate;
	blocks: BlockComparison[];
}

/**
 * Compares a finished (or stopped) job's blocks with the estimate for the rows it read.
 * @example compareWithEstimate(job, await store.listBlocks(job.id), requestModel)
 */
export function compareWithEstimate(job: JobRecord, blocks: BlockProgress[], model?: RequestModel): EstimateVsActual {
	const byId = new Map(blocks.map((b) => [b.block_id, b]));
	// The rows each source read are what the estimate would have counted with the file as it was.
	const sourceRows: Record<string, number | null> = {};
	for (const block of job.workflow.blocks) {
		if (definitionOf(block.type)?.source === undefined) continue;
		const progress = byId.get(block.id);
		sourceRows[block.id] = progress ? progress.rows_out : null;
	}
	const { row_limit: _limit, rows: _rows, ...options } = job.options;
	void _limit;
	void _rows;
	const rate = blocks.find((b) => b.rate_limit_per_min !== null && b.rate_limit_per_min !== undefined)?.rate_limit_per_min ?? null;
	const estimate = estimateRun(job.workflow, options, sourceRows, model, rate);
	const comparisons: BlockComparison[] = [];
	for (const est of estimate.blocks) {
		const definition = definitionOf(est.block_type);
		if (!definition?.usesApi) continue;
		const progress = byId.get(est.block_id);
		const actual = {
			rows: progress?.rows_in ?? 0,
			calls: progress?.calls ?? 0,
			cached: progress?.cached ?? 0,
			errors: progress?.errors ?? 0,
			requests: progress?.requests ?? 0,
			cost_cents: progress?.cost_cents ?? 0
		};
		const block = job.workflow.blocks.find((b) => b.id === est.block_id)!;
		const [lowPerRow, highPerRow] = requestBoundsPerRow(block, model ?? DEFAULT_MODEL, options.concurrency ?? 50);
		const bounds = { low: lowPerRow, expected: est.requests_per_row, high: highPerRow };
		const polled = highPerRow > 1;
		// The bounds hold per paid call: a cached answer sends nothing.
		const low = Math.floor(actual.calls * bounds.low);
		const high = Math.ceil(actual.calls * bounds.high);
		const within = actual.requests >= low && actual.requests <= high;
		const explanation: string[] = [];
		if (est.max_rows !== null && actual.rows < est.max_rows) {
			explanation.push(`${est.max_rows - actual.rows} of ${est.max_rows} rows never reached this block (a filter left them out)`);
		}
		if (actual.cached > 0) explanation.push(`${actual.cached} answers came from the cache: no call, no cost`);
		const skipped = progress?.skipped ?? 0;
		if (skipped > 0) explanation.push(`${skipped} rows were skipped (they already had what this block finds)`);
		if (actual.errors > 0) explanation.push(`${actual.errors} rows failed (a failed lookup is not charged)`);
		const perCall = actual.calls > 0 ? actual.requests / actual.calls : null;
		if (perCall !== null && Math.abs(perCall - bounds.expected) >= 0.05) {
			const why =
				perCall > bounds.expected
					? polled
						? 'answers slower than expected took more polls'
						: `bulk requests carried fewer rows than the ${Math.round(1 / Math.max(bounds.expected, 1e-9))} in flight assumed`
					: polled
						? 'answers were ready at the first poll'
						: 'rows shared bulk requests';
			explanation.push(
				`${perCall.toFixed(2)} requests per paid call, not ${bounds.expected}: ${why}${within ? '' : '; retries after a 429 or 5xx came on top'}`
			);
		}
		comparisons.push({
			block_id: est.block_id,
			block_type: est.block_type,
			estimate: {
				max_rows: est.max_rows,
				max_calls: est.max_calls,
				max_cost_cents: est.max_cost_cents,
				expected_requests: est.expected_requests,
				requests_low: est.requests_low,
				requests_high: est.requests_high
			},
			actual,
			requests_per_call: {
				actual: perCall === null ? null : Math.round(perCall * 100) / 100,
				low: Math.round(bounds.low * 1000) / 1000,
				expected: bounds.expected,
				high: Math.round(bounds.high * 1000) / 1000
			},
			within_bounds: within,
			explanation
		});
	}
	return { job_id: job.id, estimate, blocks: comparisons };
}
