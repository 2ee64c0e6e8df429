/**
 * Find Email: finds each lead's email address (professional or personal) and its status with
 * Sixtyfour (`/find-email`). With `only_missing` rows that already have an email are skipped.
 */
import * as v from 'valibot';
import { findLeadColumns } from '../lead-columns';
import { Concurrency, ERROR_COLUMN } from '../params';
import { defineBlock, type CheckContext } from './types';

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
	addedColumns: (p) => [
		'email',
		'email_status',
		...(p.mode === 'PERSONAL' ? ['personal_email'] : []),
		ERROR_COLUMN
	],
	rowKinds: () => ({ accepts: 'lead', produces: 'lead' }),
	rowCount: 'same',
	check: ({ columns, misfit, report, listColumns }) => {
		if (columns && !misfit) checkFindEmail(columns, report, listColumns);
	},
	summary: (p) => {
		const mode = p.mode === 'PERSONAL' ? 'Personal email' : 'Work email';
		return p.only_missing === false ? `${mode} for every row` : `${mode} for rows without one`;
	},
	cost: {
		centsPerCall: (p) => FIND_EMAIL_CENTS[p.mode],
		// With bulk lookups a request carries the rows in flight at once, at most 100.
		requestsPerRow: (p, model, concurrency) => (model.findEmailBulk ? 1 / Math.max(1, Math.min(100, p.concurrency ?? concurrency)) : 1),
		assumptions: ['find_email costs 5 cents (PROFESSIONAL) or 20 cents (PERSONAL) per row sent']
	}
});

function checkFindEmail(columns: string[], report: CheckContext<unknown>['report'], listColumns: CheckContext<unknown>['listColumns']) {
	const lead = findLeadColumns(columns);
	const person = lead.name ?? lead.first_name ?? lead.last_name ?? lead.linkedin;
	if (person === undefined) {
		report(
			'',
			'error',
			`Find Email needs a column that identifies a person: a name (name, full_name, or first_name + last_name) or a LinkedIn URL; the columns here are ${listColumns(columns)}`
		);
	} else if (!lead.linkedin && !lead.company && !lead.domain) {
		report(
			'',
			'warning',
			'Find Email has a name but no company, domain or LinkedIn column: few emails are found from a name alone'
		);
	}
}
