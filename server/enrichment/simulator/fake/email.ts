/**
 * The `/find-email` answer: the lead echoed back with `email` (and, in PERSONAL mode,
 * `personal_email`) as `[address, status, type]` tuples and `cost_cents`.
 *
 * Choices where the API is vague: NOT_FOUND is an empty list (`"email": []`), never a tuple; a
 * lead that already has an `email` comes back exactly as sent, unpaid; `verify_emails: false`
 * reports every found address as UNKNOWN. A company uses one address pattern for everybody.
 */
import { intBetween, pick, rngFor } from '../prng';
import { slugify, textOf, type Facts } from './lead-text';
import { personFrom } from './person';

export type EmailMode = 'PROFESSIONAL' | 'PERSONAL';
export type EmailStatus = 'OK' | 'UNKNOWN' | 'NOT_FOUND';
export type EmailTuple = [address: string, status: Exclude<EmailStatus, 'NOT_FOUND'>, type: 'COMPANY' | 'PERSONAL'];

export interface EmailAnswer {
	body: Record<string, unknown>;
	/** Cents charged; 0 for a lead sent back unchanged. */
	costCents: number;
}

export interface EmailPrices {
	find_email_professional: number;
	find_email_personal: number;
}

const PATTERNS: ReadonlyArray<(first: string, last: string) => string> = [
	(f, l) => `${f}.${l}`,
	(f) => f,
	(f, l) => `${f.charAt(0)}${l}`,
	(f, l) => `${f}${l}`,
	(f, l) => `${f}_${l}`
];
const FREE_MAIL = ['gmail.com', 'outlook.com', 'proton.me', 'yahoo.com', 'icloud.com'] as const;

/** Whether the lead already carries an e-mail address (then it is echoed back unchanged). */
export function hasEmail(lead: Facts): boolean {
	return textOf(lead, ['email']) !== null;
}

/** The answer for one lead. */
export function findEmailAnswer(lead: Facts, mode: EmailMode, verify: boolean, seed: number, prices: EmailPrices): EmailAnswer {
	if (hasEmail(lead)) return { body: lead, costCents: 0 };
	const costCents = mode === 'PERSONAL' ? prices.find_email_personal : prices.find_email_professional;
	const person = personFrom(lead, seed);
	const first = slugify(person.firstName);
	const last = slugify(person.lastName);
	const body: Record<string, unknown> = { ...lead, email: [] as EmailTuple[], cost_cents: costCents };
	if (mode === 'PERSONAL') body.personal_email = [];
	if (!person.identified || !first) return { body, costCents };

	const workStatus = statusOf(rngFor(seed, 'work-email', lead)(), [0.7, 0.9]);
	if (workStatus !== 'NOT_FOUND') {
		const pattern = pick(rngFor(seed, 'pattern', person.domain), PATTERNS);
		body.email = [[`${pattern(first, last || first)}@${person.domain}`, verify ? workStatus : 'UNKNOWN', 'COMPANY']];
	}
	if (mode === 'PERSONAL') {
		const rng = rngFor(seed, 'personal-email', lead);
		const personalStatus = statusOf(rng(), [0.5, 0.85]);
		if (personalStatus !== 'NOT_FOUND') {
			const address = `${first}.${last || first}${intBetween(rng, 1, 99)}@${pick(rng, FREE_MAIL)}`;
			body.personal_email = [[address, verify ? personalStatus : 'UNKNOWN', 'PERSONAL']];
		}
	}
	return { body, costCents };
}

/** OK below the first cut, UNKNOWN below the second, NOT_FOUND above. */
function statusOf(u: number, [ok, unknown]: [number, number]): EmailStatus {
	return u < ok ? 'OK' : u < unknown ? 'UNKNOWN' : 'NOT_FOUND';
}
