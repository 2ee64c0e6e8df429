/**
 * find_phone: finds each lead's phone number with Sixtyfour. With `only_missing` (the default)
 * rows that already have a phone number pass through unchanged and cost nothing.
 */
import { addedColumnsOf } from '../../src/lib/workflow/blocks';
import { PHONE_COLUMNS } from '../../src/lib/workflow/blocks/find-phone';
import { LEAD_FIELDS } from '../../src/lib/workflow/lead-columns';
import type { Row } from '../../src/lib/workflow/schema';
import type { FindPhoneRequest } from '../enrichment/sixtyfour-schemas';
import type { BlockRunner } from '../engine/types';
import type { CallMeter } from '../enrichment/types';
import { mapApiRows, pickValue, shapeRow, withColumns, withError } from './api-block';
import { leadOf as emailLeadOf } from './find-email';

const LABEL = 'Find Phone';
const NO_PERSON = 'needs a name or a LinkedIn URL to find a phone number';

/** The lead sent to /find-phone (the find-email lead plus the email, which helps), or null. */
export function leadOf(row: Row): FindPhoneRequest['lead'] | null {
	const lead = emailLeadOf(row);
	if (!lead) return null;
	const email = pickValue(row, [...LEAD_FIELDS.email]);
	return email ? { ...lead, email } : lead;
}

export const runFindPhone: BlockRunner<'find_phone'> = async ({ params, columns, rows, ctx }) => {
	const outColumns = withColumns(columns, addedColumnsOf('find_phone', params));

	const call = async (row: Row, signal: AbortSignal, index: number, meter: CallMeter): Promise<Row> => {
		const out = shapeRow(row, outColumns);
		const existing = pickValue(row, [...PHONE_COLUMNS]);
		if (params.only_missing && existing) {
			ctx.counters.skipped++;
			return out;
		}
		const lead = leadOf(row);
		if (!lead) {
			ctx.rowError(index, NO_PERSON);
			return withError(out, LABEL, NO_PERSON);
		}
		const answer = await ctx.enrichment.findPhone({ lead }, { signal, meter });
		out.phone = answer.phones[0]?.number ?? existing ?? null;
		return out;
	};

	return {
		columns: outColumns,
		rows: mapApiRows(rows, ctx, { label: LABEL, columns: outColumns, concurrency: params.concurrency, call })
	};
};
