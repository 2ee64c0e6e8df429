/**
 * `read_csv`: the first block of a workflow. Streams a CSV file (or an `.xlsx` workbook's sheet)
 * from the data directory as row batches (never the whole file in memory), so block N+1 starts on
 * the first rows while the rest of the file is still on disk. How odd files read (delimiters,
 * encodings, BOM, ragged rows, duplicate headers…) is documented once, in server/files
 * (`csv-source.ts`, `csv-dialect.ts`; `xlsx-source.ts` for workbooks). Their `FileError`s fail the
 * job as a `JobFailure` with the same message and code.
 */
import { statSync } from 'node:fs';
import type { ParamsOf } from '../../src/lib/workflow/schema';
import type { BlockRunContext, BlockRunner, BlockRunOutput } from '../engine/types';
import { resolveDataPath } from '../files/csv-path';
import { countSourceRows, openSource } from '../files/source-file';
import { tagRow } from '../engine/row-cells';
import type { RowStream } from '../engine/types';
import { failingAsJob, rowsFailingAsJob } from './file-failure';

/** Files up to this size are counted before the run, so progress has a total and an ETA. */
const COUNT_UP_TO_BYTES = 4 * 1024 * 1024;

type ReadParams = ParamsOf<'read_csv'>;

/**
 * Reads `params.path` (relative to the data directory; see `resolveDataPath`) with the block's
 * `delimiter`, `encoding` and `sheet` (each detected when unset or `auto`). Resolves once the
 * header is read: `columns` are the file's (made unique), `rows` stream in batches of ≤ 256.
 * `ctx.options.row_limit` stops reading after N rows. A row with extra non-empty cells carries
 * `_error` and is reported through `ctx.rowError`; the run goes on.
 */
export const runReadCsv: BlockRunner<'read_csv'> = ({ params, ctx }) => failingAsJob(() => readSource(params, ctx));

async function readSource(params: ReadParams, ctx: BlockRunContext): Promise<BlockRunOutput> {
	const file = resolveDataPath(ctx.dataDir, params.path);
	const rowLimit = ctx.options.row_limit;
	const how = { delimiter: params.delimiter, encoding: params.encoding, sheet: params.sheet };
	if (statSync(file).size <= COUNT_UP_TO_BYTES) {
		const count = await countSourceRows(file, { ...how, signal: ctx.signal, label: params.path });
		ctx.counters.total = rowLimit !== undefined ? Math.min(rowLimit, count) : count;
		if (ctx.options.rows) ctx.counters.total = ctx.options.rows.filter((r) => r < count).length;
	}
	const source = await openSource(file, {
		...how,
		signal: ctx.signal,
		rowLimit,
		label: params.path,
		onRowError: ctx.rowError
	});
	const rows = rowsFailingAsJob(source.batches);
	return { columns: source.columns, rows: ctx.options.rows ? onlyRows(rows, ctx.options.rows) : rows };
}

/**
 * `ctx.options.rows`: only the rows at these input indexes, tagged with them (so the grid and the
 * retried job's cells name the rows of the file); reading stops after the last one.
 */
async function* onlyRows(source: RowStream, wanted: number[]): RowStream {
	const set = new Set(wanted);
	const last = Math.max(...wanted);
	let index = 0;
	for await (const batch of source) {
		const kept = [];
		for (const row of batch) {
			if (set.has(index)) {
				tagRow(row, index);
				kept.push(row);
			}
			index++;
		}
		if (kept.length > 0) yield kept;
		if (index > last) return;
	}
}
