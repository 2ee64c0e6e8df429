/**
 * The filter expression compiler against hostile text (fast-check), beyond the token soup of
 * expression-errors.test.ts:
 * - text written to make an `eval`-based implementation run code (`constructor.constructor(…)()`,
 *   `__proto__`, `process.exit()`, template strings…) compiles to nothing that runs: evaluation
 *   reads only the columns the compiled expression declares, never a global or a prototype, and
 *   leaves `Object.prototype` and `globalThis` as they were;
 * - adversarial shapes (deep nesting, long chains, huge lists, near-limit strings) finish: each
 *   case runs in a worker thread under a watchdog, so a hang fails the test with the input that
 *   hung instead of hanging the run. The watchdog and the per-case figures count CPU time, not
 *   wall time: a loaded machine stretches the wall clock at random, while a hang burns CPU.
 */
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { compileExpression, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH } from '../../src/lib/workflow/expression';
import type { Row } from '../../src/lib/workflow/schema';
import { cpuMs } from '../helpers/cpu-time';
import { PROPERTY_TIMEOUT_MS } from '../helpers/timeouts';

const HOSTILE = [
	'constructor',
	'constructor.constructor',
	'__proto__',
	'prototype',
	'toString',
	'valueOf',
	'hasOwnProperty',
	'process',
	'globalThis',
	'this',
	'require',
	'import',
	'eval',
	'Function',
	'.',
	'()',
	'(',
	')',
	'[',
	']',
	'`',
	'${',
	'}',
	';',
	'=>',
	'"globalThis.__pwned = 1"',
	"'process.exit(1)'",
	'`__proto__`',
	'[constructor]',
	'new',
	'delete',
	'+',
	'-',
	'*',
	'/',
	'a',
	'b',
	'==',
	'!=',
	'>=',
	'and',
	'or',
	'not',
	'in',
	',',
	'contains',
	'len',
	'lower',
	'1',
	'"x"',
	'true',
	'null',
	' '
];
const hostileText = fc
	.tuple(fc.array(fc.constantFrom(...HOSTILE), { maxLength: 40 }), fc.constantFrom(' ', ''))
	.map(([parts, glue]) => parts.join(glue));
/** Expressions that call a real function on a hostile column: these compile, so evaluation is exercised. */
const compilable = fc
	.tuple(
		fc.constantFrom('contains', 'len', 'lower', 'is_empty', 'trim'),
		fc.constantFrom('constructor', '__proto__', 'toString', 'prototype', 'a')
	)
	.map(([fn, column]) => (fn === 'contains' ? `${fn}(\`${column}\`, "x")` : `${fn}([${column}]) == ${fn === 'len' ? 0 : 'null'}`));

/** A row that records every key evaluation touches (own-property checks and reads). */
function spyRow(values: Row): { row: Row; touched: Set<string | symbol> } {
	const touched = new Set<string | symbol>();
	const row = new Proxy(values, {
		get(target, key, receiver) {
			touched.add(key);
			return Reflect.get(target, key, receiver);
		},
		has(target, key) {
			touched.add(key);
			return Reflect.has(target, key);
		},
		getOwnPropertyDescriptor(target, key) {
			touched.add(key);
			return Reflect.getOwnPropertyDescriptor(target, key);
		},
		set() {
			throw new Error('evaluation wrote to the row');
		},
		defineProperty() {
			throw new Error('evaluation defined a property on the row');
		},
		deleteProperty() {
			throw new Error('evaluation deleted from the row');
		}
	});
	return { row, touched };
}

describe('expressions never execute anything (fast-check)', () => {
	it(
		'hostile text: compiles or is refused, and evaluation reads only the declared columns',
		() => {
			const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
			const globalsBefore = new Set(Object.getOwnPropertyNames(globalThis));
			let compiled = 0;
			fc.assert(
				fc.property(fc.oneof(hostileText, compilable), (text) => {
					const result = compileExpression(text);
					if (!result.ok) {
						expect(result.error.message.length).toBeGreaterThan(0);
						return;
					}
					compiled++;
					const { row, touched } = spyRow({ a: 'x', b: '2', constructor: 'c', toString: 't' });
					expect(typeof result.expression.evaluate(row)).toBe('boolean');
					for (const key of touched) expect(result.expression.columns).toContain(key);
					expect((globalThis as Record<string, unknown>).__pwned).toBeUndefined();
				}),
				{ numRuns: 2_000 }
			);
			expect(compiled).toBeGreaterThan(50);
			expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
			expect(({} as Record<string, unknown>).__pwned).toBeUndefined();
			expect(Object.getOwnPropertyNames(globalThis).filter((k) => !globalsBefore.has(k))).toEqual([]);
		},
		PROPERTY_TIMEOUT_MS
	);

	it.each([
		['a column named like an inherited property reads as missing', '`constructor` == null', {}, true],
		['…and as its own value when the row has it', '`constructor` == "c"', { constructor: 'c' }, true],
		['__proto__ as a column is just a column', '[__proto__] == null', {}, true],
		['toString is a column, not a method', 'is_empty(toString)', {}, true],
		['a string holding code stays a string', 'a == "globalThis.__pwned = 1"', { a: 'globalThis.__pwned = 1' }, true],
		['a template string is not interpolated', '`${a}` == null', { a: 'x' }, true]
	] as [string, string, Row, boolean][])('%s: %s', (_label, text, row, expected) => {
		const result = compileExpression(text);
		if (!result.ok) throw new Error(result.error.message);
		expect(result.expression.evaluate(row)).toBe(expected);
	});

	it.each([
		['member access', 'a.constructor'],
		['a call on a value', 'a()'],
		['an unknown function', 'constructor(a)'],
		['an inherited function name', 'toString(a)'],
		['__proto__ as a function', '__proto__(a)'],
		['arithmetic', 'a + 1 == 2'],
		['assignment chain', 'a = b = 1'],
		['statement separator', 'a == 1; process.exit(1)'],
		['arrow function', '(a) => a'],
		['new', 'new Function("x")']
	])('refuses %s with a message and a position: %s', (_label, text) => {
		const result = compileExpression(text);
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.error.position).toBeGreaterThanOrEqual(0);
		expect(result.error.position).toBeLessThanOrEqual(text.length);
	});
});

const EXPRESSION_MODULE = fileURLToPath(new URL('../../src/lib/workflow/expression.ts', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

/** What the worker does with one text (the real one compiles and evaluates it). */
const COMPILE_AND_EVALUATE = `
	const tsx = require('node:module').createRequire(${JSON.stringify(PACKAGE_JSON)})('tsx/cjs/api');
	const { compileExpression } = tsx.require(${JSON.stringify(EXPRESSION_MODULE)}, ${JSON.stringify(PACKAGE_JSON)});
	const rows = [{}, { a: 'x', b: '10', c: 'true' }, { a: 'y'.repeat(100000), b: null, c: 3.5 }];
	const handle = (text) => {
		const result = compileExpression(text);
		if (result.ok) for (const row of rows) result.expression.evaluate(row);
		return result.ok;
	};
`;

/**
 * Runs `handle(text)` (defined by `source`) for each text in a worker thread, one at a time, with a
 * watchdog: a case that uses more than `caseMs` of CPU time terminates the worker and rejects
 * naming it. (The process is otherwise idle meanwhile: the main thread only waits for the answer.)
 * `slowestMs` is the most CPU time one case used.
 */
function runTimeBoxed(
	texts: string[],
	caseMs: number,
	source = COMPILE_AND_EVALUATE
): Promise<{ slowestMs: number; slowest: string; compiled: number }> {
	const worker = new Worker(
		`
		const { parentPort } = require('node:worker_threads');
		${source}
		parentPort.on('message', (text) => {
			const started = process.cpuUsage();
			const ok = handle(text);
			const used = process.cpuUsage(started);
			parentPort.postMessage({ ms: (used.user + used.system) / 1000, ok });
		});
		parentPort.postMessage('ready');
		`,
		{ eval: true }
	);
	return new Promise((resolve, reject) => {
		let i = 0;
		let slowestMs = 0;
		let slowest = '';
		let compiled = 0;
		let caseStartedAt: number | null = null; // cpuMs() when the current case was handed to the worker
		let settled = false;
		const watchdog = setInterval(() => {
			if (caseStartedAt !== null && i < texts.length && cpuMs() - caseStartedAt > caseMs) {
				finish(new Error(`did not finish in ${caseMs} ms: ${JSON.stringify(texts[i].slice(0, 200))}`));
			}
		}, 10);
		const finish = (error?: Error) => {
			if (settled) return;
			settled = true;
			clearInterval(watchdog);
			void worker.terminate();
			if (error) reject(error);
			else resolve({ slowestMs, slowest, compiled });
		};
		const next = () => {
			if (i === texts.length) return finish();
			caseStartedAt = cpuMs();
			worker.postMessage(texts[i]);
		};
		worker.on('message', (message: 'ready' | { ms: number; ok: boolean }) => {
			if (message === 'ready') return next(); // the module is loaded: loading is not part of any case
			const { ms, ok } = message;
			if (ms > slowestMs) {
				slowestMs = ms;
				slowest = texts[i];
			}
			if (ok) compiled++;
			i++;
			next();
		});
		worker.on('error', (error) => finish(error));
	});
}

describe('expressions never hang (each case time-boxed in a worker)', () => {
	const repeat = (unit: string, n: number) => unit.repeat(Math.max(0, n));
	const adversarial = fc.oneof(
		fc.integer({ min: 1, max: 6_000 }).map((n) => `${repeat('(', n)}a${repeat(')', n)}`),
		fc.integer({ min: 1, max: 6_000 }).map((n) => `${repeat('(', n)}a`),
		fc.integer({ min: 1, max: 3_000 }).map((n) => `${repeat('not ', n)}a`),
		fc.integer({ min: 1, max: 4_000 }).map((n) => `${repeat('!', n)}a`),
		fc.integer({ min: 1, max: 2_000 }).map((n) => `${repeat('lower(', n)}a${repeat(')', n)}`),
		fc.integer({ min: 1, max: 1_600 }).map((n) => Array.from({ length: n }, (_, i) => `c${i} == ${i}`).join(' and ')),
		fc.integer({ min: 1, max: 2_400 }).map((n) => `a in [${Array.from({ length: n }, () => '"x"').join(',')}]`),
		fc.integer({ min: 1, max: 3_000 }).map((n) => `a == "${repeat('\\"', n)}"`),
		fc.integer({ min: 1, max: 3_000 }).map((n) => `contains(a, "${repeat('y', n)}") or ${repeat('a == 1 or ', n / 10)}b`),
		fc.integer({ min: 1, max: 5_000 }).map((n) => repeat('a == ', n)),
		fc.integer({ min: 1, max: 5_000 }).map((n) => `"${repeat('x', n)}`),
		fc.integer({ min: 1, max: 5_000 }).map((n) => `\`${repeat('x', n)}`),
		fc.integer({ min: 0, max: 200 }).map((n) => `a${repeat(' ', MAX_EXPRESSION_LENGTH - 1 - n)}`),
		fc.string({ unit: 'binary', minLength: MAX_EXPRESSION_LENGTH - 5, maxLength: MAX_EXPRESSION_LENGTH + 5 })
	);

	it(
		'hundreds of adversarial shapes each compile and evaluate well within their time box',
		async () => {
			const texts = fc.sample(adversarial, { numRuns: 300, seed: 64 });
			const { slowestMs, slowest, compiled } = await runTimeBoxed(texts, 2_000);
			expect(compiled).toBeGreaterThan(20);
			// The box is a safety net; no case comes near it. The slowest case takes ~15 ms of CPU: this
			// bound (~30× that) catches a super-linear blow-up, not a slow machine — speed is for tests/bench.
			expect(slowestMs, `slowest: ${JSON.stringify(slowest.slice(0, 80))}`).toBeLessThan(500);
		},
		PROPERTY_TIMEOUT_MS
	);

	it(`nesting deeper than ${MAX_EXPRESSION_DEPTH} levels is refused with a message, not a stack overflow`, () => {
		for (const text of [`${'('.repeat(50_000)}a${')'.repeat(50_000)}`.slice(0, MAX_EXPRESSION_LENGTH), `${'not '.repeat(2_400)}a`]) {
			const result = compileExpression(text);
			expect(result.ok).toBe(false);
			if (!result.ok) expect(result.error.message).toMatch(/nests too deeply/);
		}
	});

	it(
		'the time box does fail a case that never ends (so the test above can fail)',
		async () => {
			const spinOnHang = `const handle = (text) => { if (text === 'hang') for (;;) {} return true; };`;
			await expect(runTimeBoxed(['a', 'hang', 'b'], 300, spinOnHang)).rejects.toThrow('did not finish in 300 ms: "hang"');
		},
		PROPERTY_TIMEOUT_MS
	); // 300 ms of CPU can take seconds of wall time on a loaded machine
});

// Keep the import used by the worker resolvable at test time (and fail fast if tsx moves).
createRequire(PACKAGE_JSON).resolve('tsx/cjs/api');
