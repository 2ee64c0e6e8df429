import { describe, expect, it } from 'vitest';
import { conditionToExpression } from '../../src/lib/condition-to-expression';
import { compileExpression, matchesCondition } from '../../src/lib/workflow/expression';
import { FILTER_OPERATORS, type FilterOperator, type Row } from '../../src/lib/workflow/schema';

const rows: Row[] = [
	{ name: 'Ada', 'company name': 'Ariglad Inc', employees: '120', email: '', note: 'say "hi"\\ok' },
	{ name: 'Tomás', 'company name': 'Globex', employees: 8, email: 'x@y.z', note: null },
	{ name: '', 'company name': '', employees: '50', email: null, note: 'and' }
];

describe('conditionToExpression', () => {
	it.each<{ column: string; operator: FilterOperator; value?: string | number; text: string }>([
		{ column: 'country', operator: 'equals', value: 'US', text: 'country == "US"' },
		{ column: 'company name', operator: 'contains', value: 'Inc', text: 'contains(`company name`, "Inc")' },
		{ column: 'and', operator: 'is_empty', text: 'is_empty(`and`)' },
		{ column: 'employees', operator: 'gte', value: 50, text: 'employees >= 50' },
		{ column: 'email', operator: 'is_not_empty', text: 'not is_empty(email)' }
	])('$text', ({ column, operator, value, text }) => {
		expect(conditionToExpression(column, operator, value)).toBe(text);
	});

	// The expression it writes keeps exactly the rows the condition form keeps.
	const values: (string | number | boolean)[] = ['Ariglad Inc', 'Ari', '50', 50, 'say "hi"\\ok', true];
	const columns = ['name', 'company name', 'employees', 'email', 'note'];
	for (const operator of FILTER_OPERATORS) {
		it(`${operator} filters like the condition form`, () => {
			for (const column of columns) {
				for (const value of values) {
					const compiled = compileExpression(conditionToExpression(column, operator, value));
					expect(compiled.ok).toBe(true);
					if (!compiled.ok) return;
					for (const row of rows) {
						expect(
							compiled.expression.evaluate(row),
							`${column} ${operator} ${JSON.stringify(value)} on ${JSON.stringify(row)}`
						).toBe(matchesCondition(row, column, operator, value));
					}
				}
			}
		});
	}
});
