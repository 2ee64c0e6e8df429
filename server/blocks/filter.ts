/**
 * filter: keeps the rows that match an expression or a column/operator/value condition, in order.
 *
 * The expression is compiled once per run. A bad expression is normally caught before the run by the
 * column-flow analysis; if one still reaches the runner it fails the job with the same message.
 * Evaluation never throws by design; should it ever, the row is dropped (a filter that cannot say
 * yes must not let a row through to paid blocks) and reported as a row error, so it is counted.
 *
 * Counting: the engine counts rows in and out around every block; this block adds `skipped` (rows
 * filtered out) and reports row errors through `ctx.rowError` (which counts them).
 */
import { compileExpression, matchesCondition } from '../../src/lib/workflow/expression';
import type { ParamsOf, Row } from '../../src/lib/workflow/schema';
import { JobFailure, type BlockRunContext, type BlockRunner, type RowStream } from '../engine/types';

/** The row test a filter's params describe; throws `JobFailure` for a bad expression. */
export function compileFilter(params: ParamsOf<'filter'>): (row: Row) => boolean {
	const text = params.expression;
	if (text !== undefined && text.trim() !== '') {
		const compiled = compileExpression(text);
		if (!compiled.ok) {
			const { message, position } = compiled.error;
			throw new JobFailure(`Filter expression: ${message} (at character ${position + 1})`, 'invalid_expression');
		}
		return compiled.expression.evaluate;
	}
	const { column, operator, value } = params;
	if (!column || !operator) throw new JobFailure('Filter: give an expression, or a column and an operator', 'invalid_params');
	return (row) => matchesCondition(row, column, operator, value);
}

async function* keepMatching(rows: RowStream, test: (row: Row) => boolean, ctx: BlockRunContext): RowStream {
	let index = 0;
	for await (const batch of rows) {
		ctx.signal.throwIfAborted();
		const kept: Row[] = [];
		for (const row of batch) {
			try {
				if (test(row)) kept.push(row);
				else ctx.counters.skipped++;
			} catch (err) {
				ctx.rowError(index, `Filter could not evaluate this row: ${err instanceof Error ? err.message : String(err)}`);
			}
			index++;
		}
		if (kept.length > 0) yield kept;
	}
}

export const runFilter: BlockRunner<'filter'> = async ({ params, columns, rows, ctx }) => {
	const test = compileFilter(params);
	return { columns, rows: keepMatching(rows, test, ctx) };
};
