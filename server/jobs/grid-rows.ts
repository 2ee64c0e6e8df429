/**
 * The live grid's rows, by range (issue 12): every row the source read, with each block's cell —
 * running, answered (its values; `cached` when no call was paid), failed (the reason) or dropped by
 * a filter — read from the job store, so a late joiner, a reload and a second person see what the
 * live deltas built.
 *
 * A job that re-ran only some rows of another (`retry` of one cell, one row or the failed rows:
 * `options.rows` + `retryOf`) is shown over the job it retried: that job's rows, with the rows the
 * retry ran taken from the retry. Chains of such retries are followed (up to `MAX_CHAIN`).
 */
import { ERROR_COLUMN, type BlockType, type Row } from '../../src/lib/workflow/schema';
import { addedColumnsOf } from '../../src/lib/workflow/blocks';
import type { RowCell } from '../../src/lib/workflow/protocol';
import type { JobRecord, JobStore } from '../store/job-store';

/** Retries of retries followed when overlaying a partial re-run on the job it retried. */
export const MAX_CHAIN = 20;

export interface GridQuery {
	offset: number;
	limit: number;
	errorsOnly: boolean;
	search: string;
}

export interface GridBlock {
	block_id: string;
	block_type: BlockType;
	/** The columns this block adds (the grid's column group); the source block: the file's columns. */
	columns: string[];
}

export type GridCell = Omit<RowCell, 'row' | 'block_id'> & { job_id: string };

export interface GridRow {
	row: number;
	/** Cells by block id; the source block's `values` is the row as read. A block without a cell is waiting. */
	cells: Record<string, GridCell>;
}

export interface GridPage {
	job_id: string;
	/** The jobs the page is made of, newest first (the job itself, then the ones it re-ran rows of). */
	jobs: string[];
	offset: number;
	limit: number;
	/** Rows matching the query (all rows read when there is none). */
	total: number;
	/** Rows read so far. */
	rows_read: number;
	blocks: GridBlock[];
	rows: GridRow[];
}

/** The jobs a job's grid is made of, newest first. */
export async function gridChain(store: Pick<JobStore, 'get'>, job: JobRecord): Promise<JobRecord[]> {
	const chain = [job];
	let current = job;
	while (current.options.rows && current.retryOf && chain.length < MAX_CHAIN) {
		const base = await store.get(current.retryOf);
		if (!base) break;
		chain.push(base);
		current = base;
	}
	return chain;
}

/** The blocks' column groups, from the workflow (stored columns of the source once it has read its header). */
export async function gridBlocks(store: Pick<JobStore, 'listBlocks'>, job: JobRecord): Promise<GridBlock[]> {
	const stored = new Map((await store.listBlocks(job.id)).map((b) => [b.block_id, b]));
	return job.workflow.blocks.map((block, i) => ({
		block_id: block.id,
		block_type: block.type,
		// `_error` is not a column of the grid: a failed cell shows its reason.
		columns: (i === 0 ? (stored.get(block.id)?.columns ?? []) : addedColumnsOf(block.type, block.params as never)).filter(
			(c) => c !== ERROR_COLUMN
		)
	}));
}

async function rowsOf(store: JobStore, job: JobRecord, sourceId: string): Promise<{ rows: number[] | null; count: number }> {
	const { count, max } = await store.countCellRows(job.id, sourceId);
	// Dense (0…n-1, the usual case): no list needed.
	if (count === max + 1) return { rows: null, count };
	return { rows: await store.listCellRows(job.id, { blockId: sourceId }), count };
}

/**
 * One page of the grid.
 * @example const page = await readGridPage(store, job, { offset: 0, limit: 100, errorsOnly: false, search: '' })
 */
export async function readGridPage(store: JobStore, job: JobRecord, query: GridQuery): Promise<GridPage> {
	const chain = await gridChain(store, job);
	const base = chain[chain.length - 1]!;
	const sourceId = job.workflow.blocks[0]?.id ?? '';
	const blocks = await gridBlocks(store, base.status === 'pending' ? job : base);
	const { rows: baseRows, count } = await rowsOf(store, base, sourceId);

	/** Which rows each newer job ran (they replace the base's cells of those rows). */
	const ranBy: { job: JobRecord; rows: Set<number> }[] = [];
	for (const newer of chain.slice(0, -1).reverse()) {
		ranBy.push({ job: newer, rows: new Set(await store.listCellRows(newer.id, { blockId: sourceId })) });
	}
	const ownerOf = (row: number): JobRecord => {
		for (let i = ranBy.length - 1; i >= 0; i--) if (ranBy[i]!.rows.has(row)) return ranBy[i]!.job;
		return base;
	};

	let selected: number[] | null = null;
	if (query.errorsOnly || query.search !== '') {
		const matches = new Set<number>();
		for (const member of chain) {
			const found = await store.listCellRows(member.id, {
				...(query.errorsOnly ? { state: 'error' as const } : {}),
				...(query.search !== '' ? { search: query.search } : {})
			});
			// An error counts for the job that ran the row last (a retried row that now answers is no error).
			for (const row of found) if (!query.errorsOnly || ownerOf(row).id === member.id) matches.add(row);
		}
		selected = [...matches].sort((a, b) => a - b);
	}

	const total = selected ? selected.length : count;
	const page = selected
		? selected.slice(query.offset, query.offset + query.limit)
		: baseRows
			? baseRows.slice(query.offset, query.offset + query.limit)
			: range(query.offset, Math.min(count, query.offset + query.limit));

	const byRow = new Map<number, GridRow>(page.map((row) => [row, { row, cells: {} }]));
	for (const member of [...chain].reverse()) {
		const cells = await store.readCells(member.id, page);
		for (const { row, block_id: blockId, ...cell } of cells) {
			const target = byRow.get(row);
			if (!target) continue;
			const owner = ownerOf(row);
			// The source's cell (the row as read) is the same in every job; the others come from the job that ran the row last.
			if (blockId !== sourceId && owner.id !== member.id) continue;
			target.cells[blockId] = { ...cell, job_id: member.id };
		}
	}
	return {
		job_id: job.id,
		jobs: chain.map((j) => j.id),
		offset: query.offset,
		limit: query.limit,
		total,
		rows_read: count,
		blocks,
		rows: page.map((row) => byRow.get(row)!)
	};
}

/** Rows of the grid whose latest cell is an error (what "retry failed rows" re-runs). */
export async function failedGridRows(store: JobStore, job: JobRecord): Promise<number[]> {
	const page = await readGridPage(store, job, { offset: 0, limit: Number.MAX_SAFE_INTEGER, errorsOnly: true, search: '' });
	return page.rows.filter((r) => Object.values(r.cells).some((c) => c.state === 'error')).map((r) => r.row);
}

function range(from: number, to: number): number[] {
	const out: number[] = [];
	for (let i = from; i < to; i++) out.push(i);
	return out;
}

/** A grid row's values as one flat row (source values, then each block's), for downloads of the grid. */
export function flatGridRow(row: GridRow, blocks: GridBlock[]): Row {
	const out: Row = {};
	for (const block of blocks) {
		const cell = row.cells[block.block_id];
		if (cell?.values) Object.assign(out, cell.values);
	}
	return out;
}
