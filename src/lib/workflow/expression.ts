/**
 * The filter expression language: safe (no eval, no regular expressions on user text), with exact
 * error positions, and evaluation within a budget of work per row (`expression-evaluator.ts`).
 *
 * ```
 * company == "Ariglad Inc"
 * contains(name, "64")
 * employees >= 50 and country != "US"
 * not is_empty(email)
 * is_american_education == true
 * `company name` in ["Acme", "Globex"]
 * starts_with(lower([Job Title]), "vp") or len(linkedin) > 0
 * ```
 * Columns are bare names (letters, digits, `_`) or quoted with backticks / brackets. Strings use "…"
 * or '…' with `\` escapes. Keywords (`and or not in true false null`) and function names are
 * case-insensitive; column names are not. `&&`, `||`, `!` and a single `=` are accepted too.
 * A missing column reads as null. How values compare is described in `expression-values.ts`.
 */
import type { Cell, FilterOperator, Row } from './schema';
import { ExpressionSyntaxError } from './expression-lexer';
import { FUNCTIONS } from './expression-functions';
import { evaluateWithin, readColumn, type Evaluation } from './expression-evaluator';
import { parseExpression, type ExpressionNode } from './expression-parser';
import { cellsEqual, compareCells, isEmptyCell } from './expression-values';

export { MAX_EXPRESSION_DEPTH } from './expression-parser';
export { FUNCTIONS as EXPRESSION_FUNCTIONS } from './expression-functions';
export { MAX_EVALUATION_WORK, type Evaluation } from './expression-evaluator';

/** Longest expression text accepted, in characters. */
export const MAX_EXPRESSION_LENGTH = 10_000;

/** Where a column is named in the expression's text (0-based offsets). */
export interface ColumnReference {
	name: string;
	position: number;
	length: number;
}

/** A problem in an expression's text: `position` is a 0-based offset, `length` how far it spans. */
export interface ExpressionError {
	message: string;
	position: number;
	length?: number;
}

export interface CompiledExpression {
	source: string;
	/** The columns the expression reads, each once, in order of first use. */
	columns: string[];
	/** Every place a column is named, for pointing at a column that does not exist. */
	references: ColumnReference[];
	/**
	 * Whether the row passes, within a budget of work (`MAX_EVALUATION_WORK` units unless
	 * `maxWork` says otherwise; see `expression-evaluator.ts`): `value` is the boolean, and a row
	 * that needs more work is `ok: false` with the reason. Never throws.
	 */
	test(row: Row, options?: { maxWork?: number }): Evaluation;
	/** Whether the row passes the filter; false for a row over the budget. Never throws. */
	evaluate(row: Row): boolean;
	/** The expression's value for the row (for previews and tests); null over the budget. Never throws. */
	evaluateValue(row: Row): Cell;
}

export type CompileResult = { ok: true; expression: CompiledExpression } | { ok: false; error: ExpressionError };

function collectReferences(node: ExpressionNode, into: ColumnReference[]) {
	switch (node.kind) {
		case 'column':
			into.push({ name: node.name, position: node.position, length: node.length });
			return;
		case 'not':
			collectReferences(node.operand, into);
			return;
		case 'in':
			collectReferences(node.operand, into);
			return;
		case 'and':
		case 'or':
			for (const operand of node.operands) collectReferences(operand, into);
			return;
		case 'call':
			for (const arg of node.args) collectReferences(arg, into);
			return;
		case 'compare':
			collectReferences(node.left, into);
			collectReferences(node.right, into);
			return;
	}
}

/**
 * Compiles an expression once so that it can be evaluated on many rows. Never throws: bad text
 * comes back as `{ ok: false, error: { message, position, length } }`.
 *
 * @example
 * const r = compileExpression('employees >= 50 and country != "US"');
 * if (r.ok) rows.filter((row) => r.expression.evaluate(row));
 */
export function compileExpression(text: string): CompileResult {
	if (typeof text !== 'string') return { ok: false, error: { message: 'The expression must be text', position: 0 } };
	if (text.length > MAX_EXPRESSION_LENGTH) {
		return {
			ok: false,
			error: {
				message: `The expression is too long (${text.length} characters; at most ${MAX_EXPRESSION_LENGTH})`,
				position: MAX_EXPRESSION_LENGTH,
				length: text.length - MAX_EXPRESSION_LENGTH
			}
		};
	}
	if (text.trim() === '') return { ok: false, error: { message: 'The expression is empty', position: 0, length: 0 } };
	let tree: ExpressionNode;
	try {
		tree = parseExpression(text);
	} catch (err) {
		if (!(err instanceof ExpressionSyntaxError)) throw err;
		return { ok: false, error: { message: err.message, position: err.position, length: err.length } };
	}
	const references: ColumnReference[] = [];
	collectReferences(tree, references);
	const test = (row: Row, options: { maxWork?: number } = {}) =>
		evaluateWithin(tree, row, { maxWork: options.maxWork, asCondition: true });
	return {
		ok: true,
		expression: {
			source: text,
			columns: [...new Set(references.map((r) => r.name))],
			references,
			test,
			evaluate: (row) => {
				const result = test(row);
				return result.ok && result.value === true;
			},
			evaluateValue: (row) => {
				const result = evaluateWithin(tree, row);
				return result.ok ? result.value : null;
			}
		}
	};
}

/**
 * The column/operator/value form of a filter, with the same comparisons as the expression
 * language (numeric-looking text compares as numbers, `"true"` equals `true`). Text operators are
 * case-sensitive; an absent value compares as empty.
 */
export function matchesCondition(row: Row, column: string, operator: FilterOperator, value?: string | number | boolean | null): boolean {
	const cell = readColumn(row, column);
	const other: Cell = value === undefined ? null : value;
	switch (operator) {
		case 'equals':
			return cellsEqual(cell, other);
		case 'not_equals':
			return !cellsEqual(cell, other);
		case 'contains':
			return FUNCTIONS.contains.run([cell, other]);
		case 'not_contains':
			return !FUNCTIONS.contains.run([cell, other]);
		case 'starts_with':
			return FUNCTIONS.starts_with.run([cell, other]);
		case 'ends_with':
			return FUNCTIONS.ends_with.run([cell, other]);
		case 'is_empty':
			return isEmptyCell(cell);
		case 'is_not_empty':
			return !isEmptyCell(cell);
		case 'gt':
		case 'gte':
		case 'lt':
		case 'lte': {
			const order = compareCells(cell, other);
			if (order === null) return false;
			if (operator === 'gt') return order > 0;
			if (operator === 'gte') return order >= 0;
			if (operator === 'lt') return order < 0;
			return order <= 0;
		}
		default:
			throw new Error(`Unknown filter operator ${String(operator satisfies never)}`);
	}
}
