/**
 * filter: keeps the rows that match an expression or a column/operator/value condition, in order.
 *
 * The expression is compiled once per run. A bad expression is normally caught before the run by the
 * column-flow analysis; if one still reaches the runner it fails the job with the same message.
 *
 * Cost: an expression's work on one row is capped (`MAX_EVALUATION_WORK` units, about one per
 * character its functions and comparisons read; see `expression-evaluator.ts`). A row over the cap
 * is not decided: it stays in the output with the reason in `_error` and is counted as a row error,
 * so a person sees which rows to shorten instead of the server stalling on them. The work done is
 * reported to `work-slices.ts`, which gives the event loop a turn between slices of rows, so
 * HTTP and WebSockets keep answering during a heavy filter.
 *
 * Evaluation never throws by design; should it ever, the row is dropped (a filter that cannot say
 * yes must not let a row through to paid blocks) and reported as a row error, so it is counted.
 *
 * Counting: the engine counts rows in and out around every block; this block adds `skipped` (rows
 * filtered out) and reports row errors through `ctx.rowError` (which counts them).
 */
import { compileExpression, matchesCondition, type Evaluation } from '../../src/lib/workflow/expression';
import type { ParamsOf, Row } from '../../src/lib/workflow/schema';
import { JobFailure, type BlockRunContext, type BlockRunner, type RowStream } from '../engine/types';
import { compileWork, spendWork, turnIsDue, yieldIfDue } from '../engine/work-slices';
import { withError } from './api-block';

/** Work counted per row on top of the expression's own: reading and passing the row on. */
const ROW_WORK = 16;

/** A row's outcome: `value` true keeps it; `ok: false` means it was over the work budget. */
export type FilterTest = (row: Row) => Evaluation;

/** The row test a filter's params describe; throws `JobFailure` for a bad expression. */
export function compileFilter(params: ParamsOf<'filter'>): FilterTest {
	const text = params.expression;
	if (text !== undefined && text.trim() !== '') {
		const compiled = compileExpression(text);
		if (!compiled.ok) {
			const { message, position } = compiled.error;
			throw new JobFailure(`Filter expression: ${message} (at character ${position + 1})`, 'invalid_expression');
		}
		return compiled.expression.test;
	}
	const { column, operator, value } = params;
	if (!column || !operator) throw new JobFailure('Filter: give an expression, or a column and an operator', 'invalid_params');
	// One text operation per row, as long as the cell: counted, never refused.
	const valueWork = typeof value === 'string' ? value.length : 1;
	return (row) => {
		const cell = row[column];
		const work = (typeof cell === 'string' ? cell.length : 1) + valueWork;
		return { ok: true, value: matchesCondition(row, column, operator, value), work };
	};
}

async function* keepMatching(rows: RowStream, test: FilterTest, ctx: BlockRunContext): RowStream {
	const label = `Filter ${ctx.blockId}`;
	let index = 0;
	for await (const batch of rows) {
		ctx.signal.throwIfAborted();
		const kept: Row[] = [];
		for (const row of batch) {
			if (turnIsDue()) {
				await yieldIfDue();
				ctx.signal.throwIfAborted();
			}
			let result: Evaluation;
			try {
				result = test(row);
			} catch (err) {
				ctx.rowError(index++, `Filter could not evaluate this row: ${err instanceof Error ? err.message : String(err)}`);
				continue;
			}
			spendWork(result.work + ROW_WORK);
			if (!result.ok) {
				ctx.rowError(index, `${label}: ${result.message}`);
				kept.push(withError(row, label, result.message));
			} else if (result.value === true) kept.push(row);
			else {
				ctx.counters.skipped++;
				ctx.cells?.dropped(row);
			}
			index++;
		}
		if (kept.length > 0) yield kept;
	}
}

export const runFilter: BlockRunner<'filter'> = async ({ params, columns, rows, ctx }) => {
	// Compiling 100 filters of 10,000 characters is ~100 ms: let the loop in between them.
	await yieldIfDue();
	const test = compileFilter(params);
	spendWork(compileWork(params.expression ?? ''));
	return { columns, rows: keepMatching(rows, test, ctx) };
};
