/**
 * Filter: keeps the rows that match an expression (see expression.ts) or a column condition.
 */
import * as v from 'valibot';
import type { CompileResult } from '../expression';
import { ColumnName, FILTER_OPERATORS, MAX_TEXT } from '../params';
import { defineBlock, type Report } from './types';

export const FilterParams = v.pipe(
	v.strictObject({
		expression: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT))),
		column: v.optional(ColumnName),
		operator: v.optional(v.picklist(FILTER_OPERATORS)),
		value: v.optional(v.union([v.pipe(v.string(), v.maxLength(MAX_TEXT)), v.number(), v.boolean()]))
	}),
	v.check((p) => (p.expression?.trim() ? true : Boolean(p.column && p.operator)), 'Give an expression, or a column and an operator')
);
type Params = v.InferOutput<typeof FilterParams>;
type Missing = (column: string, available: string[]) => string;

const OPERATOR_WORDS: Record<string, string> = {
	equals: '=',
	not_equals: '≠',
	contains: 'contains',
	not_contains: 'does not contain',
	starts_with: 'starts with',
	ends_with: 'ends with',
	gt: '>',
	gte: '≥',
	lt: '<',
	lte: '≤',
	is_empty: 'is empty',
	is_not_empty: 'is not empty'
};

function quoted(value: unknown): string {
	return typeof value === 'string' ? `"${value}"` : String(value);
}

export const filter = defineBlock({
	type: 'filter',
	label: 'Filter',
	description: 'Keeps the rows that match an expression or a column condition.',
	category: 'transform',
	usesApi: false,
	icon: 'funnel',
	params: FilterParams,
	defaults: () => ({ expression: '' }),
	rowKinds: () => ({ accepts: 'any', produces: 'input' }),
	rowCount: 'fewer',
	skippedLabel: 'Filtered out',
	check: ({ raw, params, columns, report, missing, compile }) => checkFilter(raw, params, columns, report, missing, compile),
	summary: (p) => {
		const expression = typeof p.expression === 'string' ? p.expression.trim() : '';
		if (expression) return expression.replace(/\s+/g, ' ');
		if (typeof p.column === 'string' && typeof p.operator === 'string') {
			const op = OPERATOR_WORDS[p.operator] ?? p.operator;
			if (p.operator === 'is_empty' || p.operator === 'is_not_empty') return `${p.column} ${op}`;
			return `${p.column} ${op} ${p.value === undefined ? '…' : quoted(p.value)}`;
		}
		return 'No condition yet';
	},
	expressionParam: 'expression'
	// The expression is a whole value (issue 13): never merged character by character, so an undo
	// or two people at once can only leave an expression one of them wrote.
});

function checkFilter(
	raw: unknown,
	params: Params | null,
	columns: string[] | null,
	report: Report,
	missing: Missing,
	compile: (text: string) => CompileResult
) {
	// The expression is checked even when other params are invalid: its errors carry a position.
	const expression = typeof raw === 'object' && raw !== null ? (raw as { expression?: unknown }).expression : undefined;
	if (typeof expression === 'string' && expression.trim() !== '') {
		const compiled = compile(expression);
		if (!compiled.ok) {
			const { message, position, length } = compiled.error;
			report('.params.expression', 'error', message, { position, length });
			return;
		}
		if (params?.column || params?.operator) {
			report('.params.column', 'warning', 'The column and operator are ignored: the expression is used');
		}
		if (!columns) return;
		const reported = new Set<string>();
		for (const ref of compiled.expression.references) {
			if (columns.includes(ref.name) || reported.has(ref.name)) continue;
			reported.add(ref.name);
			report('.params.expression', 'error', missing(ref.name, columns), { position: ref.position, length: ref.length });
		}
		return;
	}
	if (!params?.column || !params.operator) return;
	if (columns && !columns.includes(params.column)) report('.params.column', 'error', missing(params.column, columns));
	if (params.value === undefined && params.operator !== 'is_empty' && params.operator !== 'is_not_empty') {
		report('.params.value', 'error', 'Give a value to compare with');
	}
}
