/**
 * The functions of the filter language. Each is total (never throws) and linear in the length of
 * its arguments; there is deliberately no regular-expression function, so no user text can cause
 * catastrophic backtracking. Text functions are case-sensitive, like `==`: wrap with `lower()`.
 */
import type { Cell } from './schema';
import { isEmptyCell, toText } from './expression-values';

interface FunctionDefinition {
	arity: number;
	/** One line for error messages and the editor's help. */
	summary: string;
	/** Gets exactly `arity` arguments (the parser checks); a missing one would read as null, like a missing column. */
	run: (args: Cell[]) => Cell;
}

function textTest(test: (text: string, part: string) => boolean) {
	return ([value = null, part = null]: Cell[]): boolean => {
		const text = toText(value);
		const needle = toText(part);
		return text !== null && needle !== null && test(text, needle);
	};
}

/** Function name (lower case) → definition. Names are matched case-insensitively. */
export const FUNCTIONS = {
	contains: {
		arity: 2,
		summary: 'contains(text, part): true when text includes part (case-sensitive)',
		run: textTest((text, part) => text.includes(part))
	},
	starts_with: {
		arity: 2,
		summary: 'starts_with(text, prefix)',
		run: textTest((text, part) => text.startsWith(part))
	},
	ends_with: {
		arity: 2,
		summary: 'ends_with(text, suffix)',
		run: textTest((text, part) => text.endsWith(part))
	},
	is_empty: {
		arity: 1,
		summary: 'is_empty(value): missing, empty or only spaces',
		run: ([value = null]) => isEmptyCell(value)
	},
	is_not_empty: {
		arity: 1,
		summary: 'is_not_empty(value)',
		run: ([value = null]) => !isEmptyCell(value)
	},
	lower: {
		arity: 1,
		summary: 'lower(text): text in lower case',
		run: ([value = null]) => toText(value)?.toLowerCase() ?? null
	},
	upper: {
		arity: 1,
		summary: 'upper(text): text in upper case',
		run: ([value = null]) => toText(value)?.toUpperCase() ?? null
	},
	len: {
		arity: 1,
		summary: 'len(text): number of characters (0 when missing)',
		run: ([value = null]) => length(value)
	},
	length: {
		arity: 1,
		summary: 'length(text): same as len',
		run: ([value = null]) => length(value)
	},
	trim: {
		arity: 1,
		summary: 'trim(text): text without leading and trailing spaces',
		run: ([value = null]) => toText(value)?.trim() ?? null
	}
} satisfies Record<string, FunctionDefinition>;

export type FunctionName = keyof typeof FUNCTIONS;

function length(value: Cell): number {
	const text = toText(value);
	if (text === null) return 0;
	let count = 0;
	for (const _ of text) count++;
	return count;
}
