/**
 * The `/find-phone` answer: the lead echoed back with `phone` and `cost_cents`.
 *
 * Choices where the API is vague: found, `phone` is one number as text, or — for about one lead in
 * five — a list of `{number, region}` (a mobile and an office line), both shapes the real API is
 * documented to send; not found, `"phone": ""` (still charged: the search was done). A lead that
 * already has a `phone` comes back exactly as sent, unpaid. Numbers are in the 555-01xx range kept
 * for fiction, so a fake number can never ring anyone.
 */
import { intBetween, rngFor } from '../prng';
import { textOf, type Facts } from './lead-text';
import { personFrom } from './person';

export interface PhoneAnswer {
	body: Record<string, unknown>;
	/** Cents charged; 0 for a lead sent back unchanged. */
	costCents: number;
}

/** Whether the lead already carries a phone number (then it is echoed back unchanged). */
export function hasPhone(lead: Facts): boolean {
	return textOf(lead, ['phone', 'phone_number', 'mobile']) !== null;
}

/** A fictional North American number: +1 <area> 555-01xx. */
function fictionalNumber(rng: () => number): string {
	return `+1 ${intBetween(rng, 201, 989)}-555-01${String(intBetween(rng, 0, 99)).padStart(2, '0')}`;
}

/** The answer for one lead: found for about 60% of identified leads, never for an unnamed one. */
export function findPhoneAnswer(lead: Facts, seed: number, cents: number): PhoneAnswer {
	if (hasPhone(lead)) return { body: lead, costCents: 0 };
	const person = personFrom(lead, seed);
	const rng = rngFor(seed, 'phone', lead);
	const found = person.identified && rng() < 0.6;
	if (!found) return { body: { ...lead, phone: '', cost_cents: cents }, costCents: cents };
	const mobile = fictionalNumber(rng);
	const phone =
		rng() < 0.2
			? [
					{ number: mobile, region: 'US' },
					{ number: fictionalNumber(rng), region: 'US' }
				]
			: mobile;
	return { body: { ...lead, phone, cost_cents: cents }, costCents: cents };
}
