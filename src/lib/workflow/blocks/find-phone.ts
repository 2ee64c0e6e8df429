/**
 * Find Phone: finds each lead's phone number with Sixtyfour (`/find-phone`). With `only_missing`
 * (the default) rows that already have a phone number are skipped and cost nothing.
 */
import * as v from 'valibot';
import { Concurrency, ERROR_COLUMN } from '../params';
import { checkPersonLookup } from './person-lookup';
import { defineBlock } from './types';

export const FindPhoneParams = v.strictObject({
	only_missing: v.optional(v.boolean(), true),
	concurrency: Concurrency
});

/** Column names (lower case) that already hold a phone number, in order of preference. */
export const PHONE_COLUMNS = ['phone', 'phone_number', 'mobile', 'mobile_phone', 'telephone'] as const;

/**
 * Cents per find-phone call: an ASSUMPTION. Sixtyfour publishes no price for find-phone; phone
 * data sells above email data, so 30 cents (1.5 × a personal email) is taken as a generous bound.
 */
export const FIND_PHONE_ASSUMED_CENTS = 30;

export const findPhone = defineBlock({
	type: 'find_phone',
	label: 'Find Phone',
	description: "Finds each lead's phone number (the best one found; empty when none is).",
	category: 'enrichment',
	usesApi: true,
	icon: 'phone',
	params: FindPhoneParams,
	defaults: () => ({ only_missing: true }),
	addedColumns: () => ['phone', ERROR_COLUMN],
	rowKinds: () => ({ accepts: 'lead', produces: 'lead' }),
	rowCount: 'same',
	check: ({ columns, misfit, report, listColumns }) => {
		if (columns && !misfit)
			checkPersonLookup(
				columns,
				{ report, listColumns },
				{ label: 'Find Phone', finds: 'numbers', narrowers: ['company', 'domain', 'email', 'linkedin'] }
			);
	},
	summary: (p) => (p.only_missing === false ? 'Phone for every row' : 'Phone for rows without one'),
	cost: {
		centsPerCall: () => FIND_PHONE_ASSUMED_CENTS,
		assumptions: ['find_phone is assumed to cost 30 cents per row sent: Sixtyfour publishes no price']
	}
});
