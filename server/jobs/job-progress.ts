/**
 * The JobProgress view (the seed's `GET /jobs/{id}` shape, field names kept) built from what the
 * store holds, so a running job, a finished one and one read after a restart look the same.
 */
import { isAbsolute, relative, sep } from 'node:path';
import { pendingBlock } from '../../src/lib/workflow/live-jobs';
import { BLOCKS } from '../../src/lib/workflow/blocks';
import type { BlockType, Row } from '../../src/lib/workflow/schema';
import { clipPreviewRow } from '../engine/progress';
import type { BlockProgress } from '../engine/types';
import type { JobRecord } from '../store/job-store';
import type { JobProgress, JobSummary } from '../routes/responses';

/** Rows of the final output shown inline; the rest is paged through `/rows`. */
export const SAMPLE_ROWS = 10;

export interface BlockResult extends Omit<BlockProgress, 'block_type'> {
	block_type: BlockType;
}

/** The answers' types come from their schemas (server/routes/responses.ts), which the API documents. */
export type { JobProgress, JobSummary };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A server path shown to clients relative to the data dir: never leak the server's layout. */
export function publicPath(dataDir: string, path: string | null): string | null {
	if (!path) return null;
	if (!isAbsolute(path)) return path.split(sep).join('/');
	const rel = relative(dataDir, path);
	return rel.startsWith('..') || isAbsolute(rel) ? (path.split(sep).pop() ?? null) : rel.split(sep).join('/');
}

/** Builds the history-list summary of a job. */
export function toJobSummary(job: JobRecord, blocks: BlockProgress[], dataDir: string): JobSummary {
	const current = job.currentBlock ? blocks.find((b) => b.block_id === job.currentBlock) : undefined;
	const totals = { calls: 0, cached: 0, cost_cents: 0, errors: 0 };
	for (const b of blocks) {
		totals.calls += b.calls;
		totals.cached += b.cached;
		totals.cost_cents += b.cost_cents;
		totals.errors += b.errors;
	}
	totals.cost_cents = Math.round(totals.cost_cents * 100) / 100;
	return {
		job_id: job.id,
		status: job.status,
		current_block: job.currentBlock,
		// Rows the current block has finished, out of the rows it will get (a filter drops rows: count its input).
		current_block_progress: current
			? {
					done: BLOCKS[current.block_type].rowCount === 'fewer' ? current.rows_in : current.rows_out,
					total: current.total,
					errors: current.errors,
					// Snapshots stored by an older server lack these: null, not absent.
					answered: current.answered ?? null,
					in_flight: current.in_flight ?? null,
					requests: current.requests ?? null,
					rows_per_s: current.rows_per_s ?? null,
					eta_s: current.eta_s ?? null
				}
			: null,
		output_path: publicPath(dataDir, job.outputPath),
		error: job.error,
		created_at: iso(job.createdAt)!,
		started_at: iso(job.startedAt),
		finished_at: iso(job.finishedAt),
		workflow_id: job.workflowId,
		workflow_name: job.workflow.name,
		retry_of: job.retryOf,
		started_by: job.startedBy,
		row_count: job.rowCount,
		columns: job.columns,
		totals
	};
}

/** Builds the full progress view: every block of the workflow, started or not, in order. */
export function toJobProgress(job: JobRecord, blocks: BlockProgress[], sample: Row[], dataDir: string): JobProgress {
	const byId = new Map(blocks.map((b) => [b.block_id, b]));
	const results = job.workflow.blocks.map(
		(b) => (byId.get(b.id) as BlockResult | undefined) ?? (pendingBlock({ block_id: b.id, block_type: b.type }) as BlockResult)
	);
	return {
		...toJobSummary(job, blocks, dataDir),
		results,
		sample_data: sample.slice(0, SAMPLE_ROWS).map(clipPreviewRow),
		workflow: job.workflow
	};
}
