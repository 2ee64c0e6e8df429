/**
 * Find Email: finds each lead's email address (professional or personal) and its status with
 * Sixtyfour (`/find-email`). With `only_missing` rows that already have an email are skipped.
 */
import * as v from 'valibot';
import { Concurrency, ERROR_COLUMN } from '../params';
import { checkPersonLookup } from './person-lookup';
import { defineBlock } from './types';

export const FindEmailParams = v.strictObject({
	mode: v.optional(v.picklist(['PROFESSIONAL', 'PERSONAL']), 'PROFESSIONAL'),
	only_missing: v.optional(v.boolean(), true),
	concurrency: Concurrency
});

/**
 * Cents per find-email call, from Sixtyfour's price list ($0.05 professional, $0.20 personal).
 */
export const FIND_EMAIL_CENTS = { PROFESSIONAL: 5, PERSONAL: 20 } as const;

export const findEmail = defineBlock({
	type: 'find_email',
	label: 'Find Email',
	description: "Finds each lead's email address (professional or personal) and its status.",
	category: 'enrichment',
	usesApi: true,
	icon: 'envelope',
	params: FindEmailParams,
	defaults: () => ({ mode: 'PROFESSIONAL' as const, only_missing: true }),
	addedColumns: (p) => ['email', 'email_status', ...(p.mode === 'PERSONAL' ? ['personal_email'] : []), ERROR_COLUMN],
	rowKinds: () => ({ accepts: 'lead', produces: 'lead' }),
	rowCount: 'same',
	check: ({ columns, misfit, report, listColumns }) => {
		if (columns && !misfit)
			checkPersonLookup(
				columns,
				{ report, listColumns },
				{ label: 'Find Email', finds: 'emails', narrowers: ['company', 'domain', 'linkedin'] }
			);
	},
	summary: (p) => {
		const mode = p.mode === 'PERSONAL' ? 'Personal email' : 'Work email';
		return p.only_missing === false ? `${mode} for every row` : `${mode} for rows without one`;
	},
	cost: {
		centsPerCall: (p) => FIND_EMAIL_CENTS[p.mode],
		// With bulk lookups a request carries the rows in flight at once, at most 100.
		requestsPerRow: (p, model, concurrency) => (model.findEmailBulk ? 1 / Math.max(1, Math.min(100, p.concurrency ?? concurrency)) : 1),
		// Bulk: as few as one request per 100 rows, as many as one per row (rows that come alone).
		requestsPerRowBounds: (p, model, concurrency) => [
			model.findEmailBulk ? 1 / Math.max(1, Math.min(100, p.concurrency ?? concurrency)) : 1,
			1
		],
		assumptions: ['find_email costs 5 cents (PROFESSIONAL) or 20 cents (PERSONAL) per row sent']
	}
});
