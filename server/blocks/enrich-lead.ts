/**
 * enrich_lead: one Sixtyfour lead enrichment per row; adds a column per struct field, the answer's
 * confidence (0–10) and `_error`.
 */
import { CONFIDENCE_COLUMN, type Row } from '../../src/lib/workflow/schema';
import { addedColumnsOf } from '../../src/lib/workflow/blocks';
import { confidence0to10, type EnrichLeadRequest } from '../enrichment/sixtyfour-schemas';
import type { BlockRunner } from '../engine/types';
import type { CallMeter } from '../enrichment/types';
import { mapApiRows, shapeRow, toCell, withColumns, withError } from './api-block';

const LABEL = 'Enrich Lead';

export const runEnrichLead: BlockRunner<'enrich_lead'> = async ({ params, columns, rows, ctx }) => {
	const fields = Object.keys(params.struct);
	const inputColumns = params.input_columns ?? columns.filter((c) => !c.startsWith('_'));
	const outColumns = withColumns(columns, addedColumnsOf('enrich_lead', params));

	const call = async (row: Row, signal: AbortSignal, index: number, meter: CallMeter): Promise<Row> => {
		const leadInfo: Record<string, string | number | boolean> = {};
		for (const column of inputColumns) {
			const value = row[column];
			if (value !== null && value !== undefined && String(value).trim() !== '') leadInfo[column] = value;
		}
		const out = shapeRow(row, outColumns);
		if (Object.keys(leadInfo).length === 0) {
			ctx.rowError(index, 'no lead information in this row');
			return withError(out, LABEL, 'no lead information in this row');
		}
		const request: EnrichLeadRequest = {
			lead_info: leadInfo,
			struct: params.struct,
			...(params.research_plan?.trim() ? { research_plan: params.research_plan } : {}),
			...(params.tier ? { tier: params.tier } : {})
		};
		const answer = await ctx.enrichment.enrichLead(request, { signal, meter });
		for (const field of fields) out[field] = toCell(answer.structured_data[field]);
		out[CONFIDENCE_COLUMN] = confidence0to10(answer.confidence_score);
		return out;
	};

	return {
		columns: outColumns,
		rows: mapApiRows(rows, ctx, { label: LABEL, columns: outColumns, concurrency: params.concurrency, call })
	};
};
