/**
 * Evaluates a filter expression's tree on one row, within a budget of work.
 *
 * An expression is at most 10,000 characters, but its cost on a row also grows with the row: a
 * chain of 499 `lower(c) != "b"` reads a 2 MB cell 499 times, seconds of CPU for one row. Every
 * evaluation therefore carries a meter, and stops as soon as the next step would go over it:
 *
 * - each node evaluated costs 1 unit;
 * - each string an operation reads costs its length more: the text arguments of a function, both
 *   sides of a comparison, the operand of `in` once per list item, a value tested as a condition
 *   (`and`, `or`, `not`, the whole filter). Numbers, booleans and null cost 1.
 *
 * Work is charged before the step runs, so an evaluation never does more than its budget, and the
 * budget is counted in units, not in time: the same row and expression give the same answer, and
 * the same cost, on any machine and under any load. One unit is a few nanoseconds (case mapping,
 * the slowest step, is ~4 ns per ASCII and ~13 ns per Greek character on a 2-core VM).
 */
import type { Cell, Row } from './schema';
import { FUNCTIONS } from './expression-functions';
import type { ExpressionNode } from './expression-parser';
import { cellsEqual, compareCells, isTruthy } from './expression-values';

/**
 * Default work one evaluation may do on one row: ~1 MB of text read, i.e. a few milliseconds. A
 * lead row is far below it; a row that is over it gets an error instead of the answer.
 */
export const MAX_EVALUATION_WORK = 1_000_000;

/** What evaluating an expression on one row gave, and how much work it took (in units). */
export type Evaluation = { ok: true; value: Cell; work: number } | { ok: false; work: number; message: string };

/** Thrown inside the evaluator when the next step would go over the budget; never escapes it. */
class OverBudget {
	constructor(readonly needed: number) {}
}

/** 1000000 → "1,000,000" (no Intl: the same text in every runtime). */
function groupDigits(n: number): string {
	return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The units of reading a cell once. */
function sizeOf(cell: Cell): number {
	return typeof cell === 'string' ? cell.length + 1 : 1;
}

class Meter {
	spent = 0;
	constructor(readonly limit: number) {}

	charge(units: number): void {
		const next = this.spent + units;
		if (next > this.limit) throw new OverBudget(next);
		this.spent = next;
	}
}

/** A column's cell; a missing column reads as null. */
export function readColumn(row: Row, name: string): Cell {
	if (!Object.hasOwn(row, name)) return null;
	const value = row[name];
	return value === undefined ? null : value;
}

function truthy(cell: Cell, meter: Meter): boolean {
	meter.charge(sizeOf(cell));
	return isTruthy(cell);
}

function evaluateNode(node: ExpressionNode, row: Row, meter: Meter): Cell {
	meter.charge(1);
	switch (node.kind) {
		case 'literal':
			return node.value;
		case 'column':
			return readColumn(row, node.name);
		case 'not':
			return !truthy(evaluateNode(node.operand, row, meter), meter);
		case 'and':
			return node.operands.every((operand) => truthy(evaluateNode(operand, row, meter), meter));
		case 'or':
			return node.operands.some((operand) => truthy(evaluateNode(operand, row, meter), meter));
		case 'in': {
			const value = evaluateNode(node.operand, row, meter);
			const size = sizeOf(value);
			return (
				node.items.some((item) => {
					meter.charge(size + sizeOf(item));
					return cellsEqual(value, item);
				}) !== node.negated
			);
		}
		case 'call': {
			const args = node.args.map((arg) => evaluateNode(arg, row, meter));
			let size = 0;
			for (const arg of args) size += sizeOf(arg);
			meter.charge(size);
			return FUNCTIONS[node.name].run(args);
		}
		case 'compare': {
			const left = evaluateNode(node.left, row, meter);
			const right = evaluateNode(node.right, row, meter);
			meter.charge(sizeOf(left) + sizeOf(right));
			switch (node.operator) {
				case '==':
					return cellsEqual(left, right);
				case '!=':
					return !cellsEqual(left, right);
				default: {
					const order = compareCells(left, right);
					if (order === null) return false;
					if (node.operator === '<') return order < 0;
					if (node.operator === '<=') return order <= 0;
					if (node.operator === '>') return order > 0;
					return order >= 0;
				}
			}
		}
	}
}

export interface EvaluateOptions {
	/** Most units of work to spend (default `MAX_EVALUATION_WORK`). */
	maxWork?: number;
	/** Also charge testing the value as a condition (what a filter does with it). */
	asCondition?: boolean;
}

/**
 * The tree's value on `row`, or, when that needs more than `maxWork` units, an error saying so.
 * Never throws for an over-budget row; the work spent is reported either way.
 * @example evaluateWithin(tree, { name: 'Ada' }, { maxWork: 1_000 })
 */
export function evaluateWithin(tree: ExpressionNode, row: Row, options: EvaluateOptions = {}): Evaluation {
	const meter = new Meter(options.maxWork ?? MAX_EVALUATION_WORK);
	try {
		const value = evaluateNode(tree, row, meter);
		if (options.asCondition) return { ok: true, value: truthy(value, meter), work: meter.spent };
		return { ok: true, value, work: meter.spent };
	} catch (err) {
		if (!(err instanceof OverBudget)) throw err;
		return {
			ok: false,
			work: meter.spent,
			message:
				`this row needs more than ${groupDigits(meter.limit)} units of work to evaluate ` +
				`(one per character read by each function, comparison and condition): its cells are too long for this expression`
		};
	}
}
