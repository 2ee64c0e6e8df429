/**
 * Formula-injection neutralising for CSV output. A spreadsheet runs a cell that starts with
 * `=`, `+`, `-`, `@`, a tab or a carriage return as a formula; enrichment answers come from the
 * web, so a lead's "title" could be `=HYPERLINK(…)`. Prefixing such a cell with a single quote
 * makes spreadsheets show it as text (the OWASP advice).
 */
import type { Cell } from '../../src/lib/workflow/schema';

const TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Returns the cell made safe to open in a spreadsheet. Numbers, booleans and null are unchanged,
 * and so are numeric strings like `-5` or `+3.2e4` (a number is not a formula).
 *
 * @example neutraliseFormula('=1+1') // "'=1+1"
 * @example neutraliseFormula('-5')   // '-5'
 */
export function neutraliseFormula<T extends Cell>(value: T): T | string {
	if (typeof value !== 'string' || value.length === 0 || !TRIGGERS.has(value[0])) return value;
	if (NUMBER.test(value)) return value;
	return `'${value}`;
}
