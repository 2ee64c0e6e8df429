/**
 * runJob: composes the workflow's blocks into one streaming pipeline and drains it.
 *
 * Every block is a transform of an async stream of row batches, so block N+1 starts on the first
 * batch while block N still works and memory stays bounded. The runner counts rows in/out between
 * blocks, emits typed events (coalesced progress), and turns failures into a job status.
 */
import { join } from 'node:path';
import { BLOCKS } from '../../src/lib/workflow/blocks';
import { BlockTracker } from './progress';
import { RowCellBuffer, rowIndexOf, tagRow, untagRow } from './row-cells';
import {
	JobFailure,
	type BlockRunContext,
	type BlockRunOutput,
	type FinalJobStatus,
	type RowStream,
	type RunEvent,
	type RunJobOptions,
	type RunJobResult
} from './types';

/** Row-error events sent per block; past this the errors are only counted. */
const MAX_ROW_ERROR_EVENTS = 200;

export async function runJob(options: RunJobOptions): Promise<RunJobResult> {
	const { jobId, workflow, dataDir, enrichment, runners, onEvent = () => {}, onRows } = options;
	const runOptions = options.options ?? {};
	const controller = new AbortController();
	const outer = options.signal;
	const onOuterAbort = () => controller.abort(outer?.reason ?? new Error('cancelled'));
	if (outer?.aborted) onOuterAbort();
	else outer?.addEventListener('abort', onOuterAbort, { once: true });

	const rateLimit = () => enrichment.rateLimitPerMinute?.() ?? null;
	const stages = workflow.blocks.map((block) => ({
		block,
		tracker: new BlockTracker(block.id, block.type, BLOCKS[block.type].usesApi ? rateLimit : undefined)
	}));
	const trackers = stages.map((stage) => stage.tracker);
	let outputPath: string | null = null;
	let finalColumns: string[] = [];
	let rowsOut = 0;
	const emit = (event: RunEvent) => {
		try {
			onEvent(event);
		} catch {
			// A listener's failure must never break the run.
		}
	};

	emit({
		type: 'job_started',
		job_id: jobId,
		at: Date.now(),
		blocks: workflow.blocks.map((b) => ({ block_id: b.id, block_type: b.type }))
	});

	const cells = new RowCellBuffer();
	const ticker = setInterval(() => emitProgress(false), options.progressIntervalMs ?? 100);
	ticker.unref?.();
	function emitCells() {
		while (cells.size > 0) emit({ type: 'row_cells', job_id: jobId, at: Date.now(), cells: cells.take() });
	}
	function emitProgress(force: boolean) {
		emitCells();
		const now = Date.now();
		for (const t of trackers) {
			if (t.status !== 'running') continue;
			if (t.changed() || force) emit({ type: 'block_progress', job_id: jobId, at: now, block: t.snapshot(now) });
		}
	}

	let status: RunJobResult['status'] = 'completed';
	let error: string | null = null;
	try {
		if (workflow.blocks.length === 0) throw new JobFailure('The workflow has no blocks');
		let stream: RowStream = emptyStream();
		let columns: string[] = [];
		let upstream: BlockTracker | null = null;
		for (const { block, tracker } of stages) {
			let rowErrorEvents = 0;
			const ctx: BlockRunContext = {
				jobId,
				blockId: block.id,
				signal: controller.signal,
				dataDir,
				outputDir: options.outputDir ?? join(dataDir, 'outputs'),
				options: runOptions,
				enrichment,
				counters: tracker.counters,
				timings: tracker.timings,
				rowError: (row, message) => {
					tracker.counters.errors++;
					if (rowErrorEvents++ < MAX_ROW_ERROR_EVENTS) {
						emit({ type: 'row_error', job_id: jobId, at: Date.now(), block_id: block.id, row, message });
					}
				},
				setOutputPath: (path) => {
					outputPath = path;
				},
				...(upstream === null ? {} : { cells: cells.sinkFor(block.id) })
			};
			const input = countInput(stream, tracker, upstream, emit, jobId);
			const runner = runners[block.type] as (i: {
				params: unknown;
				columns: string[];
				rows: RowStream;
				ctx: BlockRunContext;
			}) => Promise<BlockRunOutput>;
			tracker.start();
			emit({ type: 'block_started', job_id: jobId, at: Date.now(), block: tracker.snapshot() });
			const output = await runner({ params: block.params, columns, rows: input, ctx });
			columns = output.columns;
			tracker.columns = columns;
			stream = countOutput(output.rows, tracker, upstream === null ? { onSourceRows: options.onSourceRows } : null);
			upstream = tracker;
		}
		finalColumns = columns;
		for await (const batch of stream) {
			rowsOut += batch.length;
			for (const row of batch) untagRow(row);
			if (onRows) await onRows(batch);
		}
		const last = trackers.at(-1);
		if (last && last.finishedAt === null) finishBlock(last, 'completed', emit, jobId);
	} catch (err) {
		if (controller.signal.aborted && !(err instanceof JobFailure)) {
			status = 'cancelled';
			error = 'Cancelled';
		} else {
			status = 'failed';
			error = err instanceof Error ? err.message : String(err);
		}
		controller.abort(err);
	} finally {
		clearInterval(ticker);
		outer?.removeEventListener('abort', onOuterAbort);
	}
	emitCells();

	for (const t of trackers) {
		if (t.finishedAt === null) finishBlock(t, status === 'completed' ? 'completed' : status, emit, jobId);
	}
	const blocks = trackers.map((t) => t.snapshot());
	emit({ type: 'job_finished', job_id: jobId, at: Date.now(), status, error, output_path: outputPath, blocks });
	return { status, error, outputPath, blocks, columns: finalColumns, rowsOut };
}

function finishBlock(tracker: BlockTracker, status: FinalJobStatus, emit: (e: RunEvent) => void, jobId: string) {
	tracker.finish(status);
	emit({ type: 'block_finished', job_id: jobId, at: Date.now(), block: tracker.snapshot() });
}

async function* emptyStream(): RowStream {}

/** Counts rows entering a block; when the upstream is exhausted its total is known exactly. */
async function* countInput(
	source: RowStream,
	tracker: BlockTracker,
	upstream: BlockTracker | null,
	emit: (e: RunEvent) => void,
	jobId: string
): RowStream {
	if (upstream && upstream.counters.total !== null && keepsRowCount(upstream)) tracker.counters.total = upstream.counters.total;
	for await (const batch of source) {
		tracker.counters.rowsIn += batch.length;
		if (upstream && upstream.counters.total !== null && keepsRowCount(upstream) && tracker.counters.total === null) {
			tracker.counters.total = upstream.counters.total;
		}
		yield batch;
	}
	if (upstream) {
		tracker.counters.total = upstream.counters.rowsOut;
		if (upstream.finishedAt === null) finishBlock(upstream, 'completed', emit, jobId);
	}
}

/** Blocks whose output row count is their input's (so totals flow through them). */
function keepsRowCount(tracker: BlockTracker): boolean {
	return BLOCKS[tracker.blockType].rowCount === 'same';
}

/**
 * Counts rows leaving a block and keeps its preview. The source block's rows are tagged with their
 * input index (unless the source did it, reading only some rows) and handed to `onSourceRows`.
 */
async function* countOutput(
	source: RowStream,
	tracker: BlockTracker,
	isSource: { onSourceRows?: RunJobOptions['onSourceRows'] } | null
): RowStream {
	let index = 0;
	for await (const batch of source) {
		if (batch.length === 0) continue;
		tracker.counters.rowsOut += batch.length;
		if (isSource) {
			tracker.counters.rowsIn += batch.length;
			for (const row of batch) tagRow(row, index++);
			if (isSource.onSourceRows) await isSource.onSourceRows(batch.map((row) => ({ row: rowIndexOf(row) ?? 0, values: row })));
		}
		tracker.addPreview(batch);
		yield batch;
	}
}
