/**
 * Enrich Lead: researches each lead with Sixtyfour (`/enrich-lead`) and adds one column per
 * requested field, plus `_confidence` and `_error`.
 */
import * as v from 'valibot';
import { CONFIDENCE_COLUMN, ColumnName, Concurrency, ERROR_COLUMN, MAX_TEXT, StructSchema, TIERS } from '../params';
import { checkStructDescriptions } from '../struct-descriptions';
import { checkPersonLookup } from './person-lookup';
import { findLeadColumns } from '../lead-columns';
import { setParamFix } from '../fixes';
import { asyncEnrichRequestBounds, asyncEnrichRequestsPerRow, defineBlock, type CheckContext, type Report } from './types';

export const EnrichLeadParams = v.strictObject({
	struct: StructSchema,
	research_plan: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT))),
	input_columns: v.optional(v.pipe(v.array(ColumnName), v.maxLength(500))),
	tier: v.optional(v.picklist(TIERS)),
	concurrency: Concurrency
});
type Params = v.InferOutput<typeof EnrichLeadParams>;
type Missing = (column: string, available: string[]) => string;
type ListColumns = CheckContext<Params>['listColumns'];

/**
 * Cents per enrich-lead call: an ASSUMPTION. Sixtyfour publishes no per-call price for
 * enrich-lead; its job-status example shows `charge_amount: 5` for a lead enrichment, taken here
 * as 5 cents at the default/low tier, doubling per tier step as a deliberately generous bound.
 */
export const ENRICH_LEAD_ASSUMED_CENTS = { low: 5, medium: 10, high: 20, xhigh: 40 } as const;

export const enrichLead = defineBlock({
	type: 'enrich_lead',
	label: 'Enrich Lead',
	description: 'Researches each lead with Sixtyfour and adds one column per requested field.',
	category: 'enrichment',
	usesApi: true,
	icon: 'person',
	params: EnrichLeadParams,
	defaults: () => ({ struct: { title: 'Current job title' } }),
	addedColumns: (p) => [...Object.keys(p.struct), CONFIDENCE_COLUMN, ERROR_COLUMN],
	rowKinds: () => ({ accepts: 'lead', produces: 'lead' }),
	rowCount: 'same',
	check: ({ params, columns, misfit, report, missing, listColumns }) => {
		if (params) checkEnrichLead(params, misfit ? null : columns, report, missing, listColumns);
	},
	summary: (p) => {
		const fields = p.struct && typeof p.struct === 'object' ? Object.keys(p.struct) : [];
		if (fields.length === 0) return 'No fields to find yet';
		const shown = fields.slice(0, 3).join(', ');
		const more = fields.length > 3 ? ` +${fields.length - 3}` : '';
		return `Finds ${shown}${more}`;
	},
	cost: {
		centsPerCall: (p) => ENRICH_LEAD_ASSUMED_CENTS[p.tier ?? 'low'],
		requestsPerRow: (_p, model) => asyncEnrichRequestsPerRow(model),
		requestsPerRowBounds: (_p, model) => asyncEnrichRequestBounds(model),
		assumptions: [
			'enrich_lead is assumed to cost 5 cents per row at the default or low tier (10 medium, 20 high, 40 xhigh): Sixtyfour publishes no price'
		]
	},
	// One shared map per struct field, so two people editing different fields (or one field's
	// description and its type) both keep their edit.
	collab: { text: ['research_plan'], structs: ['struct'] }
});

function checkEnrichLead(params: Params, columns: string[] | null, report: Report, missing: Missing, listColumns: ListColumns) {
	const fields = Object.keys(params.struct);
	if (fields.length === 0) {
		report('.params.struct', 'error', 'Enrich Lead needs at least one field to find (e.g. title: "Current job title")');
	}
	checkStructDescriptions(params.struct, '.params.struct', report);
	if (params.input_columns?.length === 0) {
		report('.params.input_columns', 'error', 'Choose at least one input column, or leave the list unset to send every column');
	}
	if (!columns) return;
	params.input_columns?.forEach((column, k) => {
		if (!columns.includes(column)) report(`.params.input_columns.${k}`, 'error', missing(column, columns));
	});
	const sent = params.input_columns?.filter((c) => columns.includes(c)) ?? columns.filter((c) => !c.startsWith('_'));
	if (!params.input_columns && sent.length === 0) {
		report('.params.input_columns', 'error', 'There are no columns to describe the lead with');
	} else if (sent.length > 0) {
		// Sixtyfour researches the lead from the columns sent: without one that identifies a person
		// every row is a paid guess.
		checkPersonLookup(
			sent,
			{ report, listColumns },
			{
				label: 'Enrich Lead',
				finds: 'leads',
				narrowers: [],
				email: true,
				...(params.input_columns ? { path: '.params.input_columns', fixes: identifyingFix(params.input_columns, columns) } : {})
			}
		);
	}
	for (const field of fields) {
		if (columns.includes(field)) {
			report(`.params.struct.${field}`, 'warning', `The column "${field}" already exists: Enrich Lead will overwrite it`);
		}
	}
}

/** The fix for chosen input columns that identify nobody: also send the file's column that does. */
function identifyingFix(chosen: string[], columns: string[]) {
	const lead = findLeadColumns(columns);
	const column = lead.name ?? lead.linkedin ?? lead.email ?? lead.first_name;
	if (column === undefined || chosen.includes(column)) return [];
	const also = column === lead.first_name && lead.last_name && !chosen.includes(lead.last_name) ? [lead.last_name] : [];
	const names = [column, ...also].map((c) => `"${c}"`).join(' and ');
	return [setParamFix(`Send ${names} too`, 'input_columns', [...chosen, column, ...also])];
}
