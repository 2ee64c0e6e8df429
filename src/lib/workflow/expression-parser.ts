/**
 * The filter language's parser: tokens → a small syntax tree, by recursive descent. Nesting is
 * capped so that hostile input gets a clear error instead of a stack overflow, and `and`/`or`
 * chains are flat lists so that a long chain does not make a deep tree.
 *
 * Precedence, loosest first: `or`, `and`, `not`, comparisons (`==` … `>=`, `in [..]`), operands.
 */
import type { Cell } from './schema';
import { ExpressionSyntaxError, tokenize, type ComparisonOperator, type Token } from './expression-lexer';
import { FUNCTIONS, type FunctionName } from './expression-functions';

/** Deepest nesting of parentheses, `not`s and function calls an expression may have. */
export const MAX_EXPRESSION_DEPTH = 100;

export type ExpressionNode =
	| { kind: 'literal'; value: Cell }
	| { kind: 'column'; name: string; position: number; length: number }
	| { kind: 'not'; operand: ExpressionNode }
	| { kind: 'and' | 'or'; operands: ExpressionNode[] }
	| { kind: 'compare'; operator: ComparisonOperator; left: ExpressionNode; right: ExpressionNode }
	| { kind: 'in'; negated: boolean; operand: ExpressionNode; items: Cell[] }
	| { kind: 'call'; name: FunctionName; args: ExpressionNode[] };

function describe(token: Token): string {
	switch (token.kind) {
		case 'end':
			return 'the end of the expression';
		case 'string':
			return `the string ${JSON.stringify(token.value.length > 20 ? `${token.value.slice(0, 20)}…` : token.value)}`;
		case 'number':
			return `the number ${token.value}`;
		case 'name':
			return `the name ${token.value}`;
		default:
			return `"${token.value}"`;
	}
}

class Parser {
	#tokens: Token[];
	/** The closing `end` token: peeking past the list sees it again. */
	#end: Token;
	#index = 0;
	#depth = 0;

	constructor(tokens: Token[]) {
		const end = tokens.at(-1);
		if (end?.kind !== 'end') throw new Error('The parser needs the tokens closed by an end token (tokenize adds it)');
		this.#tokens = tokens;
		this.#end = end;
	}

	parse(): ExpressionNode {
		const node = this.#or();
		const next = this.#peek();
		if (next.kind !== 'end') {
			const hint =
				next.kind === 'punct' && next.value === ')'
					? 'Found a ) that has no ( to close'
					: `Found ${describe(next)} where and, or, or the end was expected (is an operator such as == missing?)`;
			throw new ExpressionSyntaxError(hint, next.position, next.length || 1);
		}
		return node;
	}

	#peek(offset = 0): Token {
		return this.#tokens[this.#index + offset] ?? this.#end;
	}

	#take(): Token {
		const token = this.#peek();
		if (token.kind !== 'end') this.#index++;
		return token;
	}

	#isKeyword(token: Token, value: string): boolean {
		return token.kind === 'keyword' && token.value === value;
	}

	#isPunct(token: Token, value: string): boolean {
		return token.kind === 'punct' && token.value === value;
	}

	#enter(at: Token) {
		if (++this.#depth > MAX_EXPRESSION_DEPTH) {
			throw new ExpressionSyntaxError(
				`The expression nests too deeply (more than ${MAX_EXPRESSION_DEPTH} levels of parentheses, not or function calls)`,
				at.position,
				at.length || 1
			);
		}
	}

	#or(): ExpressionNode {
		const first = this.#and();
		if (!this.#isKeyword(this.#peek(), 'or')) return first;
		const operands = [first];
		while (this.#isKeyword(this.#peek(), 'or')) {
			this.#take();
			operands.push(this.#and());
		}
		return { kind: 'or', operands };
	}

	#and(): ExpressionNode {
		const first = this.#not();
		if (!this.#isKeyword(this.#peek(), 'and')) return first;
		const operands = [first];
		while (this.#isKeyword(this.#peek(), 'and')) {
			this.#take();
			operands.push(this.#not());
		}
		return { kind: 'and', operands };
	}

	#not(): ExpressionNode {
		const token = this.#peek();
		if (!this.#isKeyword(token, 'not')) return this.#comparison();
		this.#take();
		this.#enter(token);
		const operand = this.#not();
		this.#depth--;
		return { kind: 'not', operand };
	}

	#comparison(): ExpressionNode {
		const left = this.#operand();
		let node: ExpressionNode = left;
		const next = this.#peek();
		if (next.kind === 'compare') {
			this.#take();
			node = { kind: 'compare', operator: next.value, left, right: this.#operand(next) };
		} else if (this.#isKeyword(next, 'in')) {
			this.#take();
			node = { kind: 'in', negated: false, operand: left, items: this.#list(next) };
		} else if (this.#isKeyword(next, 'not') && this.#isKeyword(this.#peek(1), 'in')) {
			this.#take();
			const inToken = this.#take();
			node = { kind: 'in', negated: true, operand: left, items: this.#list(inToken) };
		} else {
			return node;
		}
		const after = this.#peek();
		if (after.kind === 'compare' || this.#isKeyword(after, 'in')) {
			throw new ExpressionSyntaxError(`Comparisons cannot be chained: write a < b and b < c`, after.position, after.length);
		}
		return node;
	}

	#list(inToken: Token): Cell[] {
		const open = this.#take();
		if (!this.#isPunct(open, '[')) {
			throw new ExpressionSyntaxError(
				`Expected a list after in, e.g. in ["US", "CA"], but found ${describe(open)}`,
				open.kind === 'end' ? inToken.position : open.position,
				open.kind === 'end' ? inToken.length : open.length || 1
			);
		}
		const items: Cell[] = [];
		while (!this.#isPunct(this.#peek(), ']')) {
			const item = this.#take();
			if (item.kind === 'end') {
				throw new ExpressionSyntaxError('This list is not closed: add ] at its end', open.position, 1);
			}
			items.push(this.#literal(item));
			const separator = this.#peek();
			if (this.#isPunct(separator, ',')) this.#take();
			else if (!this.#isPunct(separator, ']')) {
				throw new ExpressionSyntaxError(
					`Expected , or ] in the list, but found ${describe(separator)}`,
					separator.position,
					separator.length || 1
				);
			}
		}
		this.#take();
		return items;
	}

	#literal(token: Token): Cell {
		if (token.kind === 'string' || token.kind === 'number') return token.value;
		if (token.kind === 'keyword' && (token.value === 'true' || token.value === 'false')) return token.value === 'true';
		if (token.kind === 'keyword' && token.value === 'null') return null;
		if (this.#isPunct(token, '-') && this.#peek().kind === 'number') return -(this.#take() as { value: number }).value;
		throw new ExpressionSyntaxError(
			`List items must be strings, numbers, true, false or null, not ${describe(token)}`,
			token.position,
			token.length || 1
		);
	}

	#operand(after?: Token): ExpressionNode {
		const token = this.#take();
		switch (token.kind) {
			case 'string':
			case 'number':
				return { kind: 'literal', value: token.value };
			case 'keyword':
				if (token.value === 'true' || token.value === 'false') return { kind: 'literal', value: token.value === 'true' };
				if (token.value === 'null') return { kind: 'literal', value: null };
				break;
			case 'punct':
				if (token.value === '-') {
					const number = this.#peek();
					if (number.kind !== 'number') {
						throw new ExpressionSyntaxError('A minus sign goes only right before a number', token.position, 1);
					}
					this.#take();
					return { kind: 'literal', value: -number.value };
				}
				if (token.value === '(') return this.#parenthesised(token);
				break;
			case 'name':
				if (!token.quoted && this.#isPunct(this.#peek(), '(')) return this.#call(token);
				return { kind: 'column', name: token.value, position: token.position, length: token.length };
			case 'end': {
				const message = after
					? `The expression ends too early: expected a value after ${describe(after)}`
					: 'The expression ends too early: expected a value';
				throw new ExpressionSyntaxError(message, token.position, 0);
			}
		}
		throw new ExpressionSyntaxError(
			`Expected a value (a column, a string, a number, true, false, null or a function call) but found ${describe(token)}`,
			token.position,
			token.length || 1
		);
	}

	#parenthesised(open: Token): ExpressionNode {
		this.#enter(open);
		const inner = this.#or();
		const close = this.#take();
		if (!this.#isPunct(close, ')')) {
			throw new ExpressionSyntaxError(
				`Expected ) to close the ( at position ${open.position}, but found ${describe(close)}`,
				close.position,
				close.length || 0
			);
		}
		this.#depth--;
		return inner;
	}

	#call(nameToken: Extract<Token, { kind: 'name' }>): ExpressionNode {
		const lower = nameToken.value.toLowerCase();
		if (!Object.hasOwn(FUNCTIONS, lower)) {
			throw new ExpressionSyntaxError(
				`Unknown function ${nameToken.value}: the functions are ${Object.keys(FUNCTIONS).join(', ')}`,
				nameToken.position,
				nameToken.length
			);
		}
		const name = lower as FunctionName;
		const open = this.#take();
		this.#enter(open);
		const args: ExpressionNode[] = [];
		if (!this.#isPunct(this.#peek(), ')')) {
			for (;;) {
				args.push(this.#or());
				const next = this.#peek();
				if (this.#isPunct(next, ',')) {
					this.#take();
					continue;
				}
				if (this.#isPunct(next, ')')) break;
				throw new ExpressionSyntaxError(
					`Expected , or ) in the call of ${name}, but found ${describe(next)}`,
					next.position,
					next.length
				);
			}
		}
		const close = this.#take();
		this.#depth--;
		const arity = FUNCTIONS[name].arity;
		if (args.length !== arity) {
			throw new ExpressionSyntaxError(
				`${name} takes ${arity} argument${arity === 1 ? '' : 's'}, not ${args.length}`,
				nameToken.position,
				close.position + close.length - nameToken.position
			);
		}
		return { kind: 'call', name, args };
	}
}

/** Parses an expression's text into a tree; throws `ExpressionSyntaxError` with the position. */
export function parseExpression(text: string): ExpressionNode {
	return new Parser(tokenize(text)).parse();
}
