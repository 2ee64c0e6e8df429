/**
 * find_email: finds each lead's email with Sixtyfour. With `only_missing` (the default) rows that
 * already have an email pass through unchanged and cost nothing.
 */
import type { Row } from '../../src/lib/workflow/schema';
import { addedColumnsOf } from '../../src/lib/workflow/blocks';
import type { FindEmailRequest, FoundEmail } from '../enrichment/sixtyfour-schemas';
import type { BlockRunner } from '../engine/types';
import type { CallMeter } from '../enrichment/types';
import { LEAD_FIELDS } from '../../src/lib/workflow/lead-columns';
import { mapApiRows, pickValue, shapeRow, withColumns, withError } from './api-block';

const LABEL = 'Find Email';

/** The best address of a list: a verified one first, then any other that was found. */
function bestEmail(list: FoundEmail[] | null | undefined): FoundEmail | null {
	const found = (list ?? []).filter((e) => e.address && e.status.toUpperCase() !== 'NOT_FOUND');
	return found.find((e) => e.status.toUpperCase() === 'OK') ?? found[0] ?? null;
}

/** The lead sent to /find-email, or null when the row has nothing to identify a person. */
export function leadOf(row: Row): FindEmailRequest['lead'] | null {
	const first = pickValue(row, [...LEAD_FIELDS.first_name]);
	const last = pickValue(row, [...LEAD_FIELDS.last_name]);
	const name = pickValue(row, [...LEAD_FIELDS.name]) ?? ([first, last].filter(Boolean).join(' ') || null);
	const linkedin = pickValue(row, [...LEAD_FIELDS.linkedin]);
	if (!name && !linkedin) return null;
	const lead: FindEmailRequest['lead'] = {};
	if (name) lead.name = name;
	if (linkedin) lead.linkedin = linkedin;
	for (const key of ['company', 'title', 'domain'] as const) {
		const value = pickValue(row, [...LEAD_FIELDS[key]]);
		if (value) lead[key] = value;
	}
	return lead;
}

export const runFindEmail: BlockRunner<'find_email'> = async ({ params, columns, rows, ctx }) => {
	const personal = params.mode === 'PERSONAL';
	const outColumns = withColumns(columns, addedColumnsOf('find_email', params));

	const call = async (row: Row, signal: AbortSignal, index: number, meter: CallMeter): Promise<Row> => {
		const out = shapeRow(row, outColumns);
		const existing = pickValue(row, [...LEAD_FIELDS.email]);
		if (params.only_missing && existing) {
			ctx.counters.skipped++;
			return out;
		}
		const lead = leadOf(row);
		if (!lead) {
			ctx.rowError(index, 'needs a name or a LinkedIn URL to find an email');
			return withError(out, LABEL, 'needs a name or a LinkedIn URL to find an email');
		}
		const answer = await ctx.enrichment.findEmail({ lead, mode: params.mode, verify_emails: true }, { signal, meter });
		const email = bestEmail(answer.email);
		out.email = email?.address ?? existing ?? null;
		out.email_status = email?.status.toUpperCase() ?? 'NOT_FOUND';
		if (personal) out.personal_email = bestEmail(answer.personal_email)?.address ?? null;
		return out;
	};

	return {
		columns: outColumns,
		rows: mapApiRows(rows, ctx, { label: LABEL, columns: outColumns, concurrency: params.concurrency, call })
	};
};
