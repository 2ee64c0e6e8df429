import { describe, expect, it } from 'vitest';
import { compileExpression } from '../../src/lib/workflow/expression';
import type { Cell, Row } from '../../src/lib/workflow/schema';

function evaluate(text: string, row: Row): boolean {
	const compiled = compileExpression(text);
	if (!compiled.ok) throw new Error(`${text}: ${compiled.error.message} at ${compiled.error.position}`);
	return compiled.expression.evaluate(row);
}

const lead: Row = {
	name: 'Ada Sixty64',
	company: 'Ariglad Inc',
	employees: '50',
	country: 'FR',
	email: '',
	is_american_education: 'true',
	'company name': 'Acme',
	'Job Title': 'VP Sales',
	score: 7.5,
	verified: false
};

describe('expressions the product promises', () => {
	it.each<[string, Row, boolean]>([
		['company == "Ariglad Inc"', lead, true],
		['company == "Ariglad Inc"', { ...lead, company: 'Ariglad' }, false],
		['contains(name, "64")', lead, true],
		['contains(name, "65")', lead, false],
		['employees >= 50 and country != "US"', lead, true],
		['employees >= 50 and country != "US"', { ...lead, country: 'US' }, false],
		['employees >= 50 and country != "US"', { ...lead, employees: '49' }, false],
		['not is_empty(email)', lead, false],
		['not is_empty(email)', { ...lead, email: 'ada@example.com' }, true],
		['is_american_education == true', lead, true],
		['is_american_education == true', { ...lead, is_american_education: true }, true],
		['is_american_education == true', { ...lead, is_american_education: 'False' }, false],
		['is_american_education == true', { ...lead, is_american_education: null }, false]
	])('%s on %o → %s', (text, row, expected) => {
		expect(evaluate(text, row)).toBe(expected);
	});
});

describe('comparison semantics', () => {
	it.each<[string, Row, boolean]>([
		// numeric-looking text compares as numbers, not as text
		['employees >= 7', { employees: '50' }, true],
		['employees > 100', { employees: '50' }, false],
		['employees == 50', { employees: ' 50.0 ' }, true],
		['employees < 1e3', { employees: '999' }, true],
		['a < b', { a: '9', b: '10' }, true],
		['a < b', { a: 'apple', b: 'banana' }, true],
		['employees == -3', { employees: '-3' }, true],
		['employees > 1000', { employees: '1,200' }, false],
		['employees == "1,200"', { employees: '1,200' }, true],
		['signup >= "2024-01-01"', { signup: '2024-03-05' }, true],
		['score > 7', lead, true],
		// booleans equal "true"/"false" in any case; other text is not a boolean
		['verified == false', lead, true],
		['verified == "FALSE"', lead, true],
		['flag == true', { flag: 'TRUE ' }, true],
		['flag == true', { flag: 'yes' }, false],
		['flag == true', { flag: '1' }, false],
		['flag != true', { flag: 'yes' }, true],
		['flag', { flag: 'true' }, true],
		['flag', { flag: 'false' }, false],
		['flag', { flag: '0' }, false],
		['flag', { flag: 'anything' }, true],
		// text equality is exact and case-sensitive
		['company == "ariglad inc"', lead, false],
		['lower(company) == "ariglad inc"', lead, true],
		['upper(country) == "FR"', { country: 'fr' }, true],
		['company == "Ariglad Inc "', lead, false],
		// null: a missing column; equal to null and empty text; every ordering with it is false
		['missing == null', lead, true],
		['email == null', lead, true],
		['email == ""', { email: null }, true],
		['company == null', lead, false],
		['missing != null', lead, false],
		['missing != "US"', lead, true],
		['missing > 3', lead, false],
		['missing < 3', lead, false],
		['missing <= "z"', lead, false],
		['not (missing >= 0)', lead, true],
		['null == null', {}, true],
		// mixed kinds cannot be ordered
		['name > 5', lead, false],
		['verified < true', lead, false]
	])('%s on %o → %s', (text, row, expected) => {
		expect(evaluate(text, row)).toBe(expected);
	});
});

describe('operators, precedence and syntax', () => {
	const row: Row = { a: '1', b: '2', c: '', country: 'CA', 'company name': 'Acme', 'odd`name': 'x', 'br]k': 'y' };
	it.each<[string, boolean]>([
		['a == 1 or b == 1 and c == "x"', true], // and binds tighter than or
		['(a == 1 or b == 1) and c == "x"', false],
		['not a == 1 or b == 2', true], // not binds tighter than or
		['not (a == 1 or b == 2)', false],
		['not not a == 1', true],
		['a == 1 && b == 2', true],
		['a == 2 || !(b == 3)', true],
		['!is_empty(c)', false],
		['a = 1', true],
		['a <= 1 AND b >= 2 Or False', true],
		['TRUE', true],
		['a != b', true],
		['country in ["US", "CA"]', true],
		['country in ["US", "MX",]', false],
		['country not in ["US", "MX"]', true],
		['a in [0, 1.0, -1]', true],
		['c in [null]', true],
		['country in []', false],
		['`company name` == "Acme"', true],
		['[company name] == "Acme"', true],
		['`odd``name` == "x"', true],
		['[br]]k] == "y"', true],
		["'it\\'s' == \"it's\"", true],
		['"a\\tb" == "a\tb"', true],
		['"\\u0041" == "A"', true],
		['contains("line\\nbreak", "\\n")', true],
		['  a   ==\n1  ', true]
	])('%s → %s', (text, expected) => {
		expect(evaluate(text, row)).toBe(expected);
	});
});

describe('functions', () => {
	const row: Row = { name: 'Ada Lovelace', email: '  ', title: 'VP Sales', n: 1234, none: null, emoji: '😀x' };
	it.each<[string, Cell]>([
		['contains(name, "Love")', true],
		['contains(name, "love")', false],
		['contains(lower(name), "love")', true],
		['contains(none, "x")', false],
		['contains(name, none)', false],
		['contains(n, "23")', true],
		['starts_with(name, "Ada")', true],
		['ends_with(name, "lace")', true],
		['ends_with(name, "Ada")', false],
		['is_empty(email)', true],
		['is_empty(none)', true],
		['is_empty(missing)', true],
		['is_empty(n)', false],
		['is_not_empty(title)', true],
		['IS_NOT_EMPTY(email)', false],
		['len(name)', 12],
		['length(none)', 0],
		['len(emoji)', 2],
		['len(n) == 4', true],
		['lower(title)', 'vp sales'],
		['upper(none)', null],
		['trim(email) == ""', true],
		['starts_with(lower(trim(title)), "vp")', true]
	])('%s → %o', (text, expected) => {
		const compiled = compileExpression(text);
		expect(compiled.ok && compiled.expression.evaluateValue(row)).toBe(expected);
	});
});

describe('columns a compiled expression reads', () => {
	it.each<[string, string[]]>([
		['company == "x"', ['company']],
		['employees >= 50 and country != "US" or employees < 3', ['employees', 'country']],
		['contains(`company name`, name) and not is_empty([e-mail])', ['company name', 'name', 'e-mail']],
		['true', []],
		['"literal" == "literal"', []]
	])('%s reads %o', (text, columns) => {
		const compiled = compileExpression(text);
		expect(compiled.ok && compiled.expression.columns).toEqual(columns);
	});

	it('gives where each column is named', () => {
		const compiled = compileExpression('a == 1 or `b c` == a');
		expect(compiled.ok && compiled.expression.references).toEqual([
			{ name: 'a', position: 0, length: 1 },
			{ name: 'b c', position: 10, length: 5 },
			{ name: 'a', position: 19, length: 1 }
		]);
	});

	it('does not read inherited properties as columns', () => {
		const compiled = compileExpression('is_empty(constructor) and is_empty(__proto__) and is_empty(toString)');
		expect(compiled.ok && compiled.expression.evaluate({})).toBe(true);
	});
});
