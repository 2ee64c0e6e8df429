import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExpression, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH } from '../../src/lib/workflow/expression';
import type { Row } from '../../src/lib/workflow/schema';
import { withCpuMs } from '../helpers/cpu-time';
import { PROPERTY_TIMEOUT_MS } from '../helpers/timeouts';

function errorOf(text: string) {
	const compiled = compileExpression(text);
	if (compiled.ok) throw new Error(`expected "${text}" to be refused`);
	return compiled.error;
}

describe('bad expressions: a clear message at the exact position', () => {
	it.each<[string, RegExp, number, number?]>([
		['', /empty/, 0],
		['   ', /empty/, 0],
		['a ==', /ends too early.*after "=="/, 4, 0],
		['a == 1 and', /ends too early/, 10],
		['(a == 1', /Expected \) to close the \( at position 0/, 7],
		['a == 1)', /\) that has no \(/, 6],
		['a == 1 b', /the name b where and, or/, 7, 1],
		['company "Ariglad"', /the string "Ariglad" where and, or/, 8, 9],
		['"abc', /string is not closed/, 0, 4],
		["x == 'abc", /string is not closed/, 5, 4],
		['x == "a\\qb"', /Unknown escape \\q/, 7, 2],
		['x == "\\u12"', /Unknown escape \\u/, 6, 2],
		['`company name == 1', /column name is not closed/, 0, 18],
		['[company == 1', /column name is not closed/, 0, 13],
		['`` == 1', /quoted column name is empty/, 0, 2],
		['a @ b', /Unexpected character "@".*backticks/, 2, 1],
		['company-name == 1', /Found "-" where/, 7],
		['a == -b', /minus sign goes only right before a number/, 5],
		['a & b', /write and/, 2],
		['a | b', /write or/, 2],
		['2abc == 1', /name cannot start with a digit.*`2abc`/, 0, 4],
		['foo(x)', /Unknown function foo: the functions are contains, /, 0, 3],
		['contains(a)', /contains takes 2 arguments, not 1/, 0, 11],
		['is_empty(a, b)', /is_empty takes 1 argument, not 2/, 0, 14],
		['contains(a "x")', /Expected , or \) in the call of contains/, 11],
		['contains(a, "x"', /Expected , or \) in the call of contains.*end/, 15],
		['a < b < c', /cannot be chained/, 6, 1],
		['a == b in ["x"]', /cannot be chained/, 7, 2],
		['a in "x"', /Expected a list after in/, 5],
		['a in', /Expected a list after in/, 2, 2],
		['a in [b]', /List items must be strings, numbers/, 6],
		['a in ["x" "y"]', /Expected , or \] in the list/, 10],
		['a in ["x",', /list is not closed/, 5],
		['== 1', /Expected a value .* found "=="/, 0, 2],
		['and', /Expected a value .* found "and"/, 0, 3],
		['()', /Expected a value .* found "\)"/, 1, 1],
		['not', /ends too early/, 3],
		['a == 1 🙂', /Unexpected character "🙂"/, 7, 2]
	])('%j → %s at %i', (text, message, position, length) => {
		const error = errorOf(text);
		expect(error.message).toMatch(message);
		expect(error.position).toBe(position);
		if (length !== undefined) expect(error.length).toBe(length);
	});
});

describe('limits', () => {
	it(`refuses more than ${MAX_EXPRESSION_LENGTH} characters, pointing at the first character too many`, () => {
		const text = `a == "${'x'.repeat(MAX_EXPRESSION_LENGTH)}"`;
		const error = errorOf(text);
		expect(error).toMatchObject({ position: MAX_EXPRESSION_LENGTH, message: expect.stringMatching(/too long/) });
		expect(compileExpression(`a == "${'x'.repeat(MAX_EXPRESSION_LENGTH - 7)}"`).ok).toBe(true);
	});

	it.each<[string, (n: number) => string]>([
		['parentheses', (n) => `${'('.repeat(n)}a${')'.repeat(n)}`],
		['not', (n) => `${'not '.repeat(n)}a`],
		['!', (n) => `${'!'.repeat(n)}a`],
		['function calls', (n) => `${'lower('.repeat(n)}a${')'.repeat(n)}`]
	])(`nesting of %s: ${MAX_EXPRESSION_DEPTH} levels are fine, one more is a clear error (never a stack overflow)`, (_, build) => {
		expect(compileExpression(build(MAX_EXPRESSION_DEPTH)).ok).toBe(true);
		expect(errorOf(build(MAX_EXPRESSION_DEPTH + 1)).message).toMatch(/nests too deeply/);
		const deep = build(MAX_EXPRESSION_DEPTH * 10);
		expect(deep.length).toBeLessThanOrEqual(MAX_EXPRESSION_LENGTH);
		expect(errorOf(deep).message).toMatch(/nests too deeply/);
	});

	it('a long flat chain of or is not nesting, and evaluates', () => {
		const text = Array.from({ length: 600 }, (_, i) => `c${i} == ${i}`).join(' or ');
		expect(text.length).toBeLessThanOrEqual(MAX_EXPRESSION_LENGTH);
		const compiled = compileExpression(text);
		expect(compiled.ok && compiled.expression.evaluate({ c599: '599' })).toBe(true);
		expect(compiled.ok && compiled.expression.evaluate({ c599: '598' })).toBe(false);
	});
});

describe('properties', () => {
	const tokens = [
		'a',
		'b',
		'`x y`',
		'[z]',
		'"s"',
		"'t'",
		'1',
		'-2',
		'3.5e2',
		'true',
		'null',
		'==',
		'!=',
		'<',
		'>=',
		'=',
		'and',
		'or',
		'not',
		'!',
		'&&',
		'||',
		'in',
		'[',
		']',
		'(',
		')',
		',',
		'contains',
		'is_empty',
		'len',
		' ',
		'"',
		'`',
		'\\'
	];
	const soup = fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((parts) => parts.join(' '));
	const row = fc.dictionary(
		fc.constantFrom('a', 'b', 'x y', 'z'),
		fc.oneof(fc.string(), fc.integer().map(String), fc.double(), fc.boolean(), fc.constant(null))
	) as fc.Arbitrary<Row>;

	it(
		'compileExpression never throws, answers fast, and a compiled expression always evaluates to a boolean',
		() => {
			fc.assert(
				fc.property(
					fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), soup),
					row,
					(text, r) => {
						// A box against blow-ups (a hang, exponential backtracking), not a speed test: a compile of
						// ≤ 200 characters takes ~0.03 ms of CPU, ~15 ms when it is the first one. CPU time, not
						// the wall clock, which a loaded machine stretches at random.
						const { value: compiled, ms } = withCpuMs(() => compileExpression(text));
						expect(ms).toBeLessThan(300);
						if (compiled.ok) expect(typeof compiled.expression.evaluate(r)).toBe('boolean');
						else {
							expect(compiled.error.message.length).toBeGreaterThan(0);
							expect(compiled.error.position).toBeGreaterThanOrEqual(0);
							expect(compiled.error.position).toBeLessThanOrEqual(text.length);
						}
					}
				),
				{ numRuns: 1_000 }
			);
		},
		PROPERTY_TIMEOUT_MS
	);

	it('numeric-looking text compares like the numbers it stands for', () => {
		fc.assert(
			fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -1e6, max: 1e6 }), (a, b) => {
				const compiled = compileExpression(`x >= ${Math.abs(b)} and x != ${Math.abs(b) + 0.5}`);
				if (!compiled.ok) throw new Error(compiled.error.message);
				const expected = a >= Math.abs(b) && a !== Math.abs(b) + 0.5;
				expect(compiled.expression.evaluate({ x: String(a) })).toBe(expected);
				expect(compiled.expression.evaluate({ x: a })).toBe(expected);
			})
		);
	});

	it('a worst case of 10,000 characters compiles and evaluates quickly', () => {
		const text = `contains(a, "${'a'.repeat(MAX_EXPRESSION_LENGTH - 20)}")`;
		const row = { a: 'a'.repeat(100_000) };
		const { value, ms } = withCpuMs(() => {
			const compiled = compileExpression(text);
			return compiled.ok && compiled.expression.evaluate(row);
		});
		expect(value).toBe(true);
		// Linear work takes ~1 ms of CPU here; the box (CPU time, generous) catches a quadratic or worse blow-up.
		expect(ms).toBeLessThan(200);
	});
});
