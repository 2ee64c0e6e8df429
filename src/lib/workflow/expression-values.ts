/**
 * How filter values compare. CSV cells arrive as text, so the rules make text that looks like a
 * number or a boolean behave like one; one module holds them for the expression language and the
 * column/operator/value form alike.
 *
 * - Numbers: when both sides are numbers or numeric-looking text (`"50"`, `" -1.5e3 "`), they compare
 *   numerically. `"1,200"` is text, not a number.
 * - Booleans: `true`/`false` equal the text `"true"`/`"false"` in any case (a CSV round trip turns
 *   `true` into `"true"`).
 * - Text: equality is exact and case-sensitive (`lower()` helps); ordering is by UTF-16 code unit,
 *   which sorts ISO dates correctly.
 * - Empty: `null` (a missing column) equals null, `""` and blank text; every ordering against null is
 *   false, and `!=` is always the negation of `==`.
 */
import type { Cell } from './schema';

const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number a cell stands for, or null when it is not numeric. */
export function toNumber(cell: Cell): number | null {
	if (typeof cell === 'number') return Number.isNaN(cell) ? null : cell;
	if (typeof cell !== 'string') return null;
	const text = cell.trim();
	return NUMERIC.test(text) ? Number(text) : null;
}

/** The boolean a cell stands for (`true`, `"TRUE"`, `" false "`), or null. */
export function toBoolean(cell: Cell): boolean | null {
	if (typeof cell === 'boolean') return cell;
	if (typeof cell !== 'string') return null;
	const text = cell.trim().toLowerCase();
	return text === 'true' ? true : text === 'false' ? false : null;
}

/** A cell as text for the text functions; null stays null. */
export function toText(cell: Cell): string | null {
	return cell === null ? null : String(cell);
}

/** Null, `""` or only whitespace. */
export function isEmptyCell(cell: Cell): boolean {
	return cell === null || (typeof cell === 'string' && cell.trim() === '');
}

/** Whether a value counts as "yes" where a condition is expected (`and`, `or`, `not`, a whole filter). */
export function isTruthy(cell: Cell): boolean {
	if (cell === null) return false;
	if (typeof cell === 'boolean') return cell;
	if (typeof cell === 'number') return cell !== 0 && !Number.isNaN(cell);
	const text = cell.trim().toLowerCase();
	return text !== '' && text !== 'false' && text !== '0';
}

/** `==` of the language. */
export function cellsEqual(a: Cell, b: Cell): boolean {
	if (a === null || b === null) return isEmptyCell(a) && isEmptyCell(b);
	const na = toNumber(a);
	const nb = toNumber(b);
	if (na !== null && nb !== null) return na === nb;
	if (typeof a === 'boolean' || typeof b === 'boolean') {
		const ba = toBoolean(a);
		return ba !== null && ba === toBoolean(b);
	}
	return typeof a === 'string' && typeof b === 'string' && a === b;
}

/** The order of two cells (-1, 0, 1), or null when they cannot be ordered (null, booleans, number vs text). */
export function compareCells(a: Cell, b: Cell): number | null {
	if (a === null || b === null) return null;
	const na = toNumber(a);
	const nb = toNumber(b);
	if (na !== null && nb !== null) return na < nb ? -1 : na > nb ? 1 : 0;
	if (typeof a === 'string' && typeof b === 'string' && na === null && nb === null) {
		return a < b ? -1 : a > b ? 1 : 0;
	}
	return null;
}
