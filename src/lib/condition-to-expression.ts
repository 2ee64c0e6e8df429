/**
 * Turns a filter's column/operator/value form into the equivalent expression text, so switching
 * a filter from the simple form to the expression form keeps what the person already chose.
 */
import type { FilterOperator } from '$lib/workflow/schema';

const BARE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false', 'null']);

/** A column as the expression language reads it: bare when it can be, else in backticks. */
export function columnRef(column: string): string {
	if (BARE.test(column) && !KEYWORDS.has(column.toLowerCase())) return column;
	return `\`${column.replace(/`/g, '')}\``;
}

/** A literal: booleans and numbers as themselves, text quoted with escapes. */
function literal(value: string | number | boolean | undefined): string {
	if (typeof value === 'boolean' || typeof value === 'number') return String(value);
	return JSON.stringify(value ?? '');
}

/**
 * @example conditionToExpression('country', 'equals', 'US') // 'country == "US"'
 */
export function conditionToExpression(column: string, operator: FilterOperator, value?: string | number | boolean): string {
	const c = columnRef(column);
	const v = literal(value);
	switch (operator) {
		case 'equals':
			return `${c} == ${v}`;
		case 'not_equals':
			return `${c} != ${v}`;
		case 'gt':
			return `${c} > ${v}`;
		case 'gte':
			return `${c} >= ${v}`;
		case 'lt':
			return `${c} < ${v}`;
		case 'lte':
			return `${c} <= ${v}`;
		case 'contains':
			return `contains(${c}, ${v})`;
		case 'not_contains':
			return `not contains(${c}, ${v})`;
		case 'starts_with':
			return `starts_with(${c}, ${v})`;
		case 'ends_with':
			return `ends_with(${c}, ${v})`;
		case 'is_empty':
			return `is_empty(${c})`;
		case 'is_not_empty':
			return `not is_empty(${c})`;
	}
}
