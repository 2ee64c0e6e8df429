/**
 * The per-row work budget of the filter language: deterministic costs (characters read + nodes),
 * the line between the longest cell that fits and one more character, and what an over-budget row
 * gives (`ok: false` with the reason; `evaluate` says no, `evaluateValue` null). No timing here:
 * the budget is counted in units, so these are exact.
 */
import { describe, expect, it } from 'vitest';
import { compileExpression, MAX_EVALUATION_WORK, type CompiledExpression } from '../../src/lib/workflow/expression';
import { AT_BUDGET_CHARS, HEAVY_EXPRESSION, heavyWork } from '../helpers/worst-filter-job';

function compiled(text: string): CompiledExpression {
	const result = compileExpression(text);
	if (!result.ok) throw new Error(result.error.message);
	return result.expression;
}

describe('the work budget of one evaluation', () => {
	it.each<[string, Record<string, string>, number]>([
		// literal + column + compare reading "x" (2) and "y" (2) = 1 + 1 + 1 + 4, then the condition (true: 1)
		['c == "y"', { c: 'x' }, 8],
		// the cell is read by lower (11) and by the comparison (11 + 2), plus 4 nodes and the condition
		['lower(c) != "b"', { c: 'a'.repeat(10) }, 4 + 11 + 13 + 1],
		// `in` reads the operand once per item until one matches
		['c in ["a", "b", "c"]', { c: 'c' }, 2 + 3 * (2 + 2) + 1]
	])('%s on %o costs %i units, every time', (text, row, work) => {
		const expression = compiled(text);
		expect(expression.test(row)).toMatchObject({ ok: true, work });
		expect(expression.test(row)).toMatchObject({ ok: true, work });
	});

	it('the 9,975-character chain fits on the longest cell it should, and not on one character more', () => {
		const expression = compiled(HEAVY_EXPRESSION);
		const fits = expression.test({ c: 'A'.repeat(AT_BUDGET_CHARS) });
		expect(fits).toEqual({ ok: true, value: true, work: heavyWork(AT_BUDGET_CHARS) });
		expect(fits.work).toBeLessThanOrEqual(MAX_EVALUATION_WORK);
		const over = expression.test({ c: 'A'.repeat(AT_BUDGET_CHARS + 1) });
		expect(over.ok).toBe(false);
		expect(over.work).toBeLessThanOrEqual(MAX_EVALUATION_WORK);
		if (!over.ok) expect(over.message).toMatch(/needs more than 1,000,000 units of work/);
	});

	it('stops before a step that would go over: a 2 MB cell costs nothing past the first call', () => {
		const expression = compiled(HEAVY_EXPRESSION);
		const result = expression.test({ c: 'x'.repeat(2 * 1024 * 1024) });
		expect(result).toMatchObject({ ok: false });
		expect(result.work).toBeLessThan(10); // the nodes reached before lower() was refused
	});

	it('takes a smaller budget when asked, and says no (or null) for a row over it', () => {
		const expression = compiled('contains(notes, "ceo")');
		const row = { notes: `${'x'.repeat(5_000)} ceo` };
		expect(expression.test(row)).toMatchObject({ ok: true, value: true });
		expect(expression.test(row, { maxWork: 1_000 })).toMatchObject({ ok: false });
		expect(expression.evaluate(row)).toBe(true);
		expect(expression.evaluate({ notes: 'ceo'.repeat(400_000) })).toBe(false);
		expect(expression.evaluateValue({ notes: 'ceo'.repeat(400_000) })).toBe(null);
	});
});
