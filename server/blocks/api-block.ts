/**
 * What the API blocks (enrich_lead, find_email, enrich_company) share: concurrency, turning call
 * failures into `_error` cells or job failures, and merging added columns.
 */
import { ERROR_COLUMN, type Cell, type Row } from '../../src/lib/workflow/schema';
import { EnrichmentError } from '../enrichment/types';
import { flatMapRows } from '../engine/map-rows';
import { RowMeter } from '../engine/row-cells';
import { JobFailure, type BlockRunContext, type RowStream } from '../engine/types';
import type { CallMeter } from '../enrichment/types';

/** Rows in flight per API block unless the block or the run says otherwise. */
export const DEFAULT_BLOCK_CONCURRENCY = 64;

/** Appends `added` to `columns`, without duplicates. */
export function withColumns(columns: string[], added: string[]): string[] {
	const seen = new Set(columns);
	return [...columns, ...added.filter((c) => !seen.has(c))];
}

/** A copy of `row` with every one of `columns` present (missing ones empty): one shape per block. */
export function shapeRow(row: Row, columns: string[]): Row {
	const out: Row = { ...row };
	for (const column of columns) if (!(column in out)) out[column] = null;
	return out;
}

/** Adds a failure reason to a row's `_error`, keeping reasons left by earlier blocks. */
export function withError(row: Row, label: string, message: string): Row {
	const previous = row[ERROR_COLUMN];
	const reason = `${label}: ${message}`;
	return { ...row, [ERROR_COLUMN]: previous ? `${previous} | ${reason}` : reason };
}

/**
 * Lists and objects from the API become JSON text; scalars stay as they are. An answer nested
 * deeper than JSON.stringify can follow (JSON.parse reads 10,000 levels, stringify overflows the
 * stack) fails its row with a message that says so, not "Maximum call stack size exceeded".
 */
export function toCell(value: unknown): Cell {
	if (value === undefined || value === null) return null;
	if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
	try {
		return JSON.stringify(value);
	} catch {
		throw new Error('unexpected answer shape (a value nested too deeply to keep)');
	}
}

/** Finds a value by trying column names case-insensitively (`Name`, `full_name`…). */
export function pickValue(row: Row, candidates: string[]): string | null {
	const keys = Object.keys(row);
	for (const candidate of candidates) {
		const key = keys.find((k) => k.toLowerCase() === candidate);
		if (key === undefined) continue;
		const value = row[key];
		if (value !== null && value !== undefined && String(value).trim() !== '') return String(value).trim();
	}
	return null;
}

interface ApiRowsOptions<R> {
	label: string;
	/** The block's output columns: a failed row gets them too (empty), so every row has one shape. */
	columns: string[];
	concurrency?: number;
	/** `meter`: the row's own view of the block's counters (pass it to the enrichment call), so its cell can say "from the cache". */
	call: (row: Row, signal: AbortSignal, index: number, meter: CallMeter) => Promise<R>;
}

/**
 * Runs `call` for every row with bounded concurrency, in order; a row may become several rows.
 * A row failure becomes one row with an `_error` cell; an `EnrichmentError` marked fatal
 * (401/402/403) fails the job; cancellation propagates.
 */
export function flatMapApiRows(rows: RowStream, ctx: BlockRunContext, options: ApiRowsOptions<Row[]>): RowStream {
	const concurrency = options.concurrency ?? ctx.options.concurrency ?? DEFAULT_BLOCK_CONCURRENCY;
	return flatMapRows(
		rows,
		async (row, index, signal) => {
			const meter = new RowMeter(ctx.counters, ctx.timings && ((at) => ctx.timings?.stillRunning(index, at)));
			ctx.cells?.started(row);
			let outputs: Row[];
			try {
				outputs = await options.call(row, signal, index, meter);
			} catch (err) {
				if (signal.aborted) throw signal.reason ?? err;
				if (err instanceof EnrichmentError && err.fatal) throw new JobFailure(err.message, 'api_refused');
				if (err instanceof JobFailure) throw err;
				const message = err instanceof Error ? err.message : String(err);
				ctx.rowError(index, message);
				outputs = [withError(shapeRow(row, options.columns), options.label, message)];
			}
			ctx.cells?.settled(row, outputs, meter);
			return outputs;
		},
		{ concurrency, signal: ctx.signal, counters: ctx.counters, ...(ctx.timings ? { timings: ctx.timings } : {}) }
	);
}

/** `flatMapApiRows` for blocks that answer one row per row. */
export function mapApiRows(rows: RowStream, ctx: BlockRunContext, options: ApiRowsOptions<Row>): RowStream {
	const { call } = options;
	return flatMapApiRows(rows, ctx, { ...options, call: async (row, signal, index, meter) => [await call(row, signal, index, meter)] });
}
