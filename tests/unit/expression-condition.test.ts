import { describe, expect, it } from 'vitest';
import { matchesCondition } from '../../src/lib/workflow/expression';
import { FILTER_OPERATORS, type FilterOperator, type Row } from '../../src/lib/workflow/schema';

const row: Row = {
	company: 'Ariglad Inc',
	employees: '50',
	score: 7.5,
	email: '',
	blank: '   ',
	none: null,
	educated_in_us: 'TRUE',
	verified: false,
	signup: '2024-03-05'
};

type Case = [column: string, operator: FilterOperator, value: string | number | boolean | undefined, expected: boolean];

const cases: Case[] = [
	['company', 'equals', 'Ariglad Inc', true],
	['company', 'equals', 'ariglad inc', false],
	['company', 'not_equals', 'Ariglad Inc', false],
	['company', 'not_equals', 'Other', true],
	['employees', 'equals', 50, true],
	['employees', 'equals', '50.0', true],
	['score', 'equals', '7.5', true],
	['educated_in_us', 'equals', true, true],
	['educated_in_us', 'equals', 'true', false], // two texts compare exactly
	['verified', 'equals', 'false', true],
	['verified', 'not_equals', false, false],
	['email', 'equals', '', true],
	['email', 'equals', undefined, true],
	['missing', 'equals', '', true],
	['missing', 'not_equals', 'US', true],
	['company', 'contains', 'glad', true],
	['company', 'contains', 'GLAD', false],
	['company', 'not_contains', 'glad', false],
	['none', 'contains', 'x', false],
	['none', 'not_contains', 'x', true],
	['employees', 'contains', '5', true],
	['company', 'starts_with', 'Ari', true],
	['company', 'starts_with', 'Inc', false],
	['company', 'ends_with', 'Inc', true],
	['company', 'ends_with', 'Ari', false],
	['employees', 'gt', '7', true], // numerically, although "50" < "7" as text
	['employees', 'gt', 50, false],
	['employees', 'gte', 50, true],
	['employees', 'lt', '100', true],
	['employees', 'lte', 49.5, false],
	['score', 'gt', '7', true],
	['signup', 'gte', '2024-01-01', true],
	['signup', 'lt', '2024-01-01', false],
	['email', 'gt', 0, false],
	['missing', 'lt', 10, false],
	['missing', 'gte', '', false],
	['employees', 'gt', undefined, false],
	['company', 'gt', 3, false],
	['email', 'is_empty', undefined, true],
	['blank', 'is_empty', undefined, true],
	['none', 'is_empty', undefined, true],
	['missing', 'is_empty', undefined, true],
	['score', 'is_empty', undefined, false],
	['verified', 'is_empty', undefined, false],
	['company', 'is_not_empty', undefined, true],
	['blank', 'is_not_empty', undefined, false]
];

describe('matchesCondition: the column/operator/value form', () => {
	it.each(cases)('%s %s %o → %s', (column, operator, value, expected) => {
		expect(matchesCondition(row, column, operator, value)).toBe(expected);
	});

	it('every operator of the schema is covered by the table above', () => {
		expect(new Set(cases.map(([, operator]) => operator))).toEqual(new Set(FILTER_OPERATORS));
	});

	it('refuses an operator it does not know, rather than silently keeping or dropping rows', () => {
		expect(() => matchesCondition(row, 'company', 'like' as FilterOperator, 'x')).toThrow(/Unknown filter operator like/);
	});
});
