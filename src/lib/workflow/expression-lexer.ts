/**
 * The filter language's lexer: source text → tokens with exact positions, so every error can point
 * at the character that caused it. Hand-written and linear in the length of the text.
 */

/** A problem in the text of an expression, at a 0-based UTF-16 offset. */
export class ExpressionSyntaxError extends Error {
	constructor(
		message: string,
		readonly position: number,
		readonly length = 1
	) {
		super(message);
		this.name = 'ExpressionSyntaxError';
	}
}

export type Keyword = 'and' | 'or' | 'not' | 'in' | 'true' | 'false' | 'null';
export type ComparisonOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Token =
	| { kind: 'name'; value: string; quoted: boolean; position: number; length: number }
	| { kind: 'string'; value: string; position: number; length: number }
	| { kind: 'number'; value: number; position: number; length: number }
	| { kind: 'keyword'; value: Keyword; position: number; length: number }
	| { kind: 'compare'; value: ComparisonOperator; position: number; length: number }
	| { kind: 'punct'; value: '(' | ')' | '[' | ']' | ',' | '-'; position: number; length: number }
	| { kind: 'end'; position: number; length: number };

const KEYWORDS = new Set<string>(['and', 'or', 'not', 'in', 'true', 'false', 'null']);

const WHITESPACE = /\s+/y;
const NAME = /[\p{L}_][\p{L}\p{N}_]*/uy;
const NUMBER = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NAME_START = /^[\p{L}_]$/u;
const NAME_CHAR = /^[\p{L}\p{N}_]$/u;

const SIMPLE_ESCAPES: Record<string, string> = {
	'\\': '\\',
	'"': '"',
	"'": "'",
	n: '\n',
	r: '\r',
	t: '\t',
	'0': '\0'
};

function matchAt(pattern: RegExp, text: string, at: number): string | null {
	pattern.lastIndex = at;
	const m = pattern.exec(text);
	return m ? m[0] : null;
}

/** Reads a "…" or '…' literal starting at `start` (the quote). Returns the value and the end offset. */
function readString(text: string, start: number): { value: string; end: number } {
	const quote = text[start];
	let value = '';
	let i = start + 1;
	while (i < text.length) {
		const ch = text[i];
		if (ch === quote) return { value, end: i + 1 };
		if (ch !== '\\') {
			value += ch;
			i++;
			continue;
		}
		const next = text[i + 1];
		if (next === undefined) break;
		if (next in SIMPLE_ESCAPES) {
			value += SIMPLE_ESCAPES[next];
			i += 2;
		} else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
			value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
			i += 6;
		} else {
			throw new ExpressionSyntaxError(`Unknown escape \\${next} in a string: use \\\\, \\${quote}, \\n, \\t or \\uXXXX`, i, 2);
		}
	}
	throw new ExpressionSyntaxError(`This string is not closed: add ${quote} at its end`, start, text.length - start);
}

/**
 * Reads a quoted column name: `` `company name` `` or `[company name]`. The closing character is
 * written twice to put it inside the name (`` `a``b` ``, `[a]]b]`).
 */
function readQuotedName(text: string, start: number, close: string): { value: string; end: number } {
	let value = '';
	let i = start + 1;
	while (i < text.length) {
		const ch = text[i];
		if (ch === close) {
			if (text[i + 1] === close) {
				value += close;
				i += 2;
				continue;
			}
			if (value === '') throw new ExpressionSyntaxError('A quoted column name is empty', start, i + 1 - start);
			return { value, end: i + 1 };
		}
		value += ch;
		i++;
	}
	throw new ExpressionSyntaxError(`This column name is not closed: add ${close} at its end`, start, text.length - start);
}

/**
 * Splits an expression into tokens. `[` opens a list right after `in`, and a quoted column name
 * anywhere else; keywords are case-insensitive; `&&`, `||`, `!` are read as `and`, `or`, `not`,
 * and a single `=` as `==`.
 */
export function tokenize(text: string): Token[] {
	const tokens: Token[] = [];
	let i = 0;
	const push = (token: Token) => {
		tokens.push(token);
		i = token.position + token.length;
	};
	while (i < text.length) {
		const space = matchAt(WHITESPACE, text, i);
		if (space) {
			i += space.length;
			continue;
		}
		const ch = text.charAt(i);
		const two = text.slice(i, i + 2);
		const previous = tokens[tokens.length - 1];

		if (ch === '"' || ch === "'") {
			const { value, end } = readString(text, i);
			push({ kind: 'string', value, position: i, length: end - i });
		} else if (ch === '`' || (ch === '[' && !(previous?.kind === 'keyword' && previous.value === 'in'))) {
			const { value, end } = readQuotedName(text, i, ch === '`' ? '`' : ']');
			push({ kind: 'name', value, quoted: true, position: i, length: end - i });
		} else if (ch >= '0' && ch <= '9') {
			const digits = matchAt(NUMBER, text, i) as string;
			const after = text.codePointAt(i + digits.length);
			if (after !== undefined && NAME_CHAR.test(String.fromCodePoint(after))) {
				const word = matchAt(/[\p{L}\p{N}_]+/uy, text, i) as string;
				throw new ExpressionSyntaxError(
					`"${word}" is not a number, and a name cannot start with a digit: quote the column name with backticks, e.g. \`${word}\``,
					i,
					word.length
				);
			}
			push({ kind: 'number', value: Number(digits), position: i, length: digits.length });
		} else if (NAME_START.test(String.fromCodePoint(text.codePointAt(i) as number))) {
			const word = matchAt(NAME, text, i) as string;
			const lower = word.toLowerCase();
			if (KEYWORDS.has(lower)) push({ kind: 'keyword', value: lower as Keyword, position: i, length: word.length });
			else push({ kind: 'name', value: word, quoted: false, position: i, length: word.length });
		} else if (two === '==' || two === '!=' || two === '<=' || two === '>=') {
			push({ kind: 'compare', value: two, position: i, length: 2 });
		} else if (ch === '<' || ch === '>') {
			push({ kind: 'compare', value: ch, position: i, length: 1 });
		} else if (ch === '=') {
			push({ kind: 'compare', value: '==', position: i, length: 1 });
		} else if (two === '&&' || two === '||') {
			push({ kind: 'keyword', value: two === '&&' ? 'and' : 'or', position: i, length: 2 });
		} else if (ch === '!') {
			push({ kind: 'keyword', value: 'not', position: i, length: 1 });
		} else if (ch === '(' || ch === ')' || ch === '[' || ch === ']' || ch === ',' || ch === '-') {
			push({ kind: 'punct', value: ch, position: i, length: 1 });
		} else if (ch === '&' || ch === '|') {
			throw new ExpressionSyntaxError(`Unexpected ${ch}: write ${ch === '&' ? 'and (or &&)' : 'or (or ||)'}`, i);
		} else {
			const code = text.codePointAt(i) as number;
			const shown = String.fromCodePoint(code);
			throw new ExpressionSyntaxError(
				`Unexpected character ${JSON.stringify(shown)}: column names with spaces or symbols go in backticks, e.g. \`company name\``,
				i,
				shown.length
			);
		}
	}
	tokens.push({ kind: 'end', position: text.length, length: 0 });
	return tokens;
}
