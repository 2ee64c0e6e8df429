/**
 * Filling a `struct` the way the real agent does: one value per requested field, found by the
 * field's name (and failing that its description), then shaped to its declared type
 * (`bool` → boolean, `int`/`float` → number, `list*` → array, `dict` → object, `str` → string).
 */
import { intBetween, rngFor, type Rng } from '../prng';
import type { Facts } from './lead-text';

export type FieldType = 'str' | 'int' | 'float' | 'bool' | 'list' | 'list[str]' | 'list[int]' | 'list[float]' | 'dict';

export interface FieldSpec {
	name: string;
	description: string;
	/** Declared type; null when the caller gave only a description. */
	type: FieldType | null;
}

/** How one kind of field is answered for a subject (a person, a company). */
export interface Rule<S> {
	when: RegExp;
	value: (subject: S, rng: Rng) => unknown;
}

export interface Subject<S> {
	/** What the caller sent: a field it already knows comes back as given. */
	facts: Facts;
	value: S;
	/** Rules for boolean fields, tried first when the field is (or looks) boolean. */
	boolRules: readonly Rule<S>[];
	rules: readonly Rule<S>[];
	/** Text for a field no rule knows: should mention the subject so it reads as researched. */
	fallback: (subject: S, spec: FieldSpec, rng: Rng) => string;
}

const TYPE_ALIASES: Record<string, FieldType> = {
	str: 'str',
	string: 'str',
	int: 'int',
	integer: 'int',
	float: 'float',
	number: 'float',
	bool: 'bool',
	boolean: 'bool',
	list: 'list',
	'list[str]': 'list[str]',
	'list[int]': 'list[int]',
	'list[float]': 'list[float]',
	dict: 'dict'
};

/** The struct of a request as field specs; entries that are neither text nor `{description, type}` are read as text. */
export function fieldSpecs(struct: Record<string, unknown> | null | undefined): FieldSpec[] {
	return Object.entries(struct ?? {}).map(([name, entry]) => {
		if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
			const e = entry as Record<string, unknown>;
			const type = typeof e.type === 'string' ? (TYPE_ALIASES[e.type.toLowerCase()] ?? null) : null;
			return { name, description: typeof e.description === 'string' ? e.description : '', type };
		}
		return { name, description: typeof entry === 'string' ? entry : String(entry ?? ''), type: null };
	});
}

/** One value per field, stable per (seed, subject key, field name). */
export function fillStruct<S>(
	specs: readonly FieldSpec[],
	subject: Subject<S>,
	seed: number,
	subjectKey: unknown
): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const spec of specs) {
		const rng = rngFor(seed, 'field', subjectKey, spec.name);
		out[spec.name] = valueFor(spec, subject, rng);
	}
	return out;
}

function valueFor<S>(spec: FieldSpec, subject: Subject<S>, rng: Rng): unknown {
	const given = givenValue(subject.facts, spec.name);
	const type = spec.type ?? inferType(spec);
	if (given !== undefined) return coerce(given, type, rng);
	if (type === 'bool') {
		const rule = findRule(subject.boolRules, spec);
		return coerce(rule ? rule.value(subject.value, rng) : rng() < 0.5, type, rng);
	}
	const rule = findRule(subject.rules, spec);
	const raw = rule ? rule.value(subject.value, rng) : subject.fallback(subject.value, spec, rng);
	return coerce(raw, type, rng);
}

function findRule<S>(rules: readonly Rule<S>[], spec: FieldSpec): Rule<S> | undefined {
	const name = spec.name.toLowerCase().replace(/_/g, ' ');
	const description = spec.description.toLowerCase();
	return rules.find((r) => r.when.test(name)) ?? (description ? rules.find((r) => r.when.test(description)) : undefined);
}

function givenValue(facts: Facts, field: string): unknown {
	const key = Object.keys(facts).find((k) => k.toLowerCase() === field.toLowerCase());
	const value = key === undefined ? undefined : facts[key];
	return value === null || value === '' ? undefined : value;
}

/** Untyped fields that read as yes/no questions or counts get that type. */
function inferType(spec: FieldSpec): FieldType | null {
	if (/^(is|has|was|can|does|did|uses|works)_/i.test(spec.name) || /^(true if|whether)\b/i.test(spec.description.trim())) return 'bool';
	if (/^(num|number_of|count_of|n)_|_count$/i.test(spec.name)) return 'int';
	return null;
}

function firstNumber(text: string): number | null {
	const match = /-?\d+(\.\d+)?/.exec(text.replace(/,/g, ''));
	return match ? Number(match[0]) : null;
}

function coerce(raw: unknown, type: FieldType | null, rng: Rng): unknown {
	switch (type) {
		case null:
			return raw;
		case 'str':
			if (typeof raw === 'string') return raw;
			if (typeof raw === 'boolean') return raw ? 'Yes' : 'No';
			if (Array.isArray(raw)) return raw.map(String).join(', ');
			if (raw && typeof raw === 'object')
				return Object.entries(raw)
					.map(([k, val]) => `${k}: ${String(val)}`)
					.join('; ');
			return String(raw);
		case 'int':
		case 'float': {
			const n = typeof raw === 'number' ? raw : typeof raw === 'boolean' ? Number(raw) : firstNumber(String(raw));
			const value = n ?? (type === 'int' ? intBetween(rng, 1, 100) : Math.round(rng() * 10_000) / 100);
			return type === 'int' ? Math.round(value) : Math.round(value * 100) / 100;
		}
		case 'bool':
			if (typeof raw === 'boolean') return raw;
			if (typeof raw === 'number') return raw > 0;
			if (typeof raw === 'string' && /^(true|yes|y|1)$/i.test(raw.trim())) return true;
			if (typeof raw === 'string' && /^(false|no|n|0)$/i.test(raw.trim())) return false;
			return rng() < 0.5;
		case 'list':
		case 'list[str]':
			return (Array.isArray(raw) ? raw : [raw]).map((item) => (typeof item === 'string' ? item : String(item)));
		case 'list[int]':
		case 'list[float]': {
			const items = (Array.isArray(raw) ? raw : [raw])
				.map((item) => (typeof item === 'number' ? item : firstNumber(String(item))))
				.filter((n): n is number => n !== null);
			const list = items.length > 0 ? items : [intBetween(rng, 1, 50), intBetween(rng, 1, 50)];
			return type === 'list[int]' ? list.map(Math.round) : list;
		}
		case 'dict':
			return raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : { value: raw };
	}
}
