/**
 * Row kinds: what a row describes — a person (`lead`), a `company`, or `any` table. Every block
 * declares the kind it accepts and the kind it produces (see `rowKinds` in its definition); this
 * module infers the kind of a file from its columns and words the refusal of a chain that does not
 * fit, naming both blocks and the fix.
 *
 * Rules decided here:
 * - A file with any person column (a name, a personal LinkedIn, a job title or an email) holds
 *   leads; with company columns and no person column, companies; with neither, `any` table. A
 *   company file with a `name` or `linkedin` column therefore reads as leads: its Read CSV block
 *   can be set to Company (the refusal message says so).
 * - `any` fits everything, both ways: an unknown table is not refused (the column checks still
 *   apply), and a block that accepts `any` takes every kind.
 */
import { LEAD_FIELDS } from './lead-columns';
import type { KindWords } from './blocks/types';
import type { RowKind } from './params';

/** Person columns (lower case): any one of them makes a file a file of leads. */
export const PERSON_COLUMNS: readonly string[] = [
	...LEAD_FIELDS.name,
	...LEAD_FIELDS.first_name,
	...LEAD_FIELDS.last_name,
	...LEAD_FIELDS.linkedin,
	...LEAD_FIELDS.title,
	...LEAD_FIELDS.email
];

/** Company columns (lower case): a file with some of them and no person column holds companies. */
export const COMPANY_COLUMNS: readonly string[] = [
	'company',
	'company_name',
	'organization',
	'organisation',
	'account_name',
	'website',
	'company_website',
	'homepage',
	'domain',
	'company_domain',
	'company_linkedin',
	'company_linkedin_url',
	'industry',
	'employees',
	'employee_count',
	'headcount'
];

/** A kind inferred from columns, with the columns that decided it (for messages). */
export interface InferredKind {
	kind: RowKind;
	person: string[];
	company: string[];
}

/**
 * The kind of rows a file with these columns holds (see the module rules).
 * @example inferRowKind(['company_name', 'website']).kind === 'company'
 */
export function inferRowKind(columns: readonly string[]): InferredKind {
	const person = columns.filter((c) => PERSON_COLUMNS.includes(c.toLowerCase()));
	const company = columns.filter((c) => COMPANY_COLUMNS.includes(c.toLowerCase()));
	const kind: RowKind = person.length > 0 ? 'lead' : company.length > 0 ? 'company' : 'any';
	return { kind, person, company };
}

/** True when rows of kind `have` may enter a block that accepts `accepts` (null = unknown: fits). */
export function kindFits(accepts: RowKind, have: RowKind | null): boolean {
	return have === null || accepts === 'any' || have === 'any' || accepts === have;
}

/** The block whose rows do not fit, and the block that made them what they are. */
export interface KindMismatch {
	/** Label of the block that refuses the rows, e.g. "Enrich Lead". */
	consumer: string;
	consumerType: string;
	accepts: RowKind;
	have: RowKind;
	producer: {
		label: string;
		type: string;
		/** 0-based index in the workflow. */
		index: number;
		/** For a source: the columns the kind was inferred from, or null when the user set the kind. */
		evidence: string[] | null;
		/** How the producer explains its rows (its definition's `kindWords`). */
		words?: KindWords;
	};
}

/** "lead rows", "company rows", "rows of any kind". */
export const plural = (kind: RowKind) => (kind === 'lead' ? 'lead rows' : kind === 'company' ? 'company rows' : 'rows of any kind');

/** The first few columns, quoted: `"name", "title" …`. */
export function quoteList(columns: string[]): string {
	const shown = columns.slice(0, 4).map((c) => `"${c}"`);
	return shown.join(', ') + (columns.length > 4 ? ' …' : '');
}

/**
 * The message for a chain whose kinds do not fit: what the consumer needs, what the producer
 * gives (and why), and what would fix it.
 * @example "Enrich Company needs company rows, but Enrich Lead (block 2) produces lead rows. …"
 */
export function kindMismatchMessage(m: KindMismatch): string {
	const { producer } = m;
	const where = `${producer.label} (block ${producer.index + 1})`;
	const why = producer.words?.why?.(m) ?? '';
	const head = `${m.consumer} needs ${plural(m.accepts)}, but ${where} ${producer.words?.verb ?? 'produces'} ${plural(m.have)}${why}.`;
	return `${head} ${fixFor(m)}`;
}

function fixFor(m: KindMismatch): string {
	const own = m.producer.words?.fix?.(m);
	if (own !== undefined) return own;
	if (m.accepts === 'company') {
		return `Put ${m.consumer} before the lead blocks, or turn on Find people to turn companies into leads.`;
	}
	if (m.accepts === 'lead') {
		return `Add Enrich Company with Find people before ${m.consumer} to turn companies into leads.`;
	}
	return '';
}

/** "Lead", "Company", "Any". */
export function titleOf(kind: RowKind): string {
	return kind === 'lead' ? 'Lead' : kind === 'company' ? 'Company' : 'Any';
}
