/**
 * Enrich Company: researches each company with Sixtyfour (`/enrich-company`) and adds one column
 * per requested field. With Find people, each company row becomes one lead row per person found.
 * Its checks: a field to find, person fields that name a person, a column that names the company,
 * and columns about to be overwritten.
 */
import * as v from 'valibot';
import { COMPANY_FIELDS, findCompanyColumns, likelyCompanyColumn } from '../company-columns';
import { setParamFix } from '../fixes';
import {
	COMPANY_KEYS,
	CONFIDENCE_COLUMN,
	ColumnName,
	Concurrency,
	ERROR_COLUMN,
	MAX_TEXT,
	PEOPLE_FOUND_COLUMN,
	StructSchema,
	TIERS
} from '../params';
import { checkStructDescriptions } from '../struct-descriptions';
import { asyncEnrichRequestBounds, asyncEnrichRequestsPerRow, defineBlock, type CheckContext } from './types';

/** Which column holds each `target_company` key; unset = detected from the column names. */
export const CompanyColumnsSchema = v.pipe(
	v.strictObject({
		company_name: v.optional(ColumnName),
		website: v.optional(ColumnName),
		domain: v.optional(ColumnName),
		linkedin_url: v.optional(ColumnName)
	}),
	v.check(
		(m) => Object.values(m).some((c) => c !== undefined),
		'Map at least one company column, or leave Company columns unset to detect them by name'
	)
);

export const EnrichCompanyParams = v.strictObject({
	company_columns: v.optional(CompanyColumnsSchema),
	/** Company fields to find: one column each. May be empty only when `find_people` is on. */
	struct: StructSchema,
	research_plan: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT))),
	/** Turn each company row into one row per person found there (rows become leads). */
	find_people: v.optional(v.boolean(), false),
	people_focus_prompt: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT))),
	/** Person fields to find for each person (default name, title, linkedin): one column each. */
	lead_struct: v.optional(StructSchema),
	tier: v.optional(v.picklist(TIERS)),
	concurrency: Concurrency
});
type Params = v.InferOutput<typeof EnrichCompanyParams>;

/** The person fields Enrich Company finds with Find people when no `lead_struct` is given. */
export const DEFAULT_LEAD_STRUCT = {
	name: 'Full name',
	title: 'Current job title',
	linkedin: 'LinkedIn profile URL'
} as const;

/** The person fields of an Enrich Company that finds people: its `lead_struct` or the default. */
export function personFieldsOf(params: { lead_struct?: Record<string, unknown> }): string[] {
	return Object.keys(params.lead_struct ?? DEFAULT_LEAD_STRUCT);
}

/** Cents per enrich-company call: an ASSUMPTION as well (no published price): twice enrich-lead. */
export const ENRICH_COMPANY_ASSUMED_CENTS = { low: 10, medium: 20, high: 40, xhigh: 80 } as const;

export const enrichCompany = defineBlock({
	type: 'enrich_company',
	label: 'Enrich Company',
	description:
		'Researches each company with Sixtyfour and adds one column per requested field. With Find people, each company row becomes one lead row per person found there (company columns kept, one column per person field, _people_found = how many); a company where nobody is found keeps one row with empty person fields and _people_found = 0.',
	category: 'enrichment',
	usesApi: true,
	icon: 'building',
	params: EnrichCompanyParams,
	defaults: () => ({
		struct: { industry: 'The industry the company is in', employee_count: 'Approximate number of employees' },
		find_people: false
	}),
	addedColumns: (p) => [
		...new Set([
			...Object.keys(p.struct),
			...(p.find_people ? [...personFieldsOf(p), PEOPLE_FOUND_COLUMN] : []),
			CONFIDENCE_COLUMN,
			ERROR_COLUMN
		])
	],
	rowKinds: (p) => ({ accepts: 'company', produces: p.find_people === true ? 'lead' : 'company' }),
	rowCount: 'varies',
	check: (context) => {
		if (context.params) checkEnrichCompany(context.params, context.misfit ? null : context.columns, context);
	},
	kindWords: {
		why: (m) => (m.have === 'lead' ? ' (Find people is on)' : ''),
		fix: (m) => {
			if (m.accepts === 'company') {
				return `Move this block above ${m.producer.label} (block ${m.producer.index + 1}), or turn off Find people there.`;
			}
			if (m.accepts === 'lead') return `Turn on Find people in ${m.producer.label} to turn companies into leads.`;
			return undefined;
		}
	},
	summary: (p) => {
		const fields = p.struct && typeof p.struct === 'object' ? Object.keys(p.struct) : [];
		const shown = fields.slice(0, 3).join(', ') + (fields.length > 3 ? ` +${fields.length - 3}` : '');
		const people = p.find_people === true ? 'people' : '';
		if (!shown && !people) return 'No fields to find yet';
		return `Finds ${[shown, people].filter(Boolean).join(' and ')}`;
	},
	cost: {
		centsPerCall: (p) => ENRICH_COMPANY_ASSUMED_CENTS[p.tier ?? 'low'],
		requestsPerRow: (_p, model) => asyncEnrichRequestsPerRow(model),
		requestsPerRowBounds: (_p, model) => asyncEnrichRequestBounds(model),
		// Each company may become any number of people: no bound below this block.
		unboundedRows: (p) => p.find_people,
		assumptions: [
			'enrich_company is assumed to cost 10 cents per row at the default or low tier (20, 40, 80 above)',
			'After an enrich_company that finds people, the number of rows is not known in advance: later blocks have no bound'
		]
	}
});

/** How a fix names each company key. */
const COMPANY_KEY_WORDS = { company_name: 'name', website: 'website', domain: 'domain', linkedin_url: 'LinkedIn' } as const;

/** Reports Enrich Company's problems; `columns` null = unknown (or rows of the wrong kind): skip column checks. */
function checkEnrichCompany(
	params: Params,
	columns: string[] | null,
	{ report, missing, listColumns }: Pick<CheckContext<Params>, 'report' | 'missing' | 'listColumns'>
): void {
	const fields = Object.keys(params.struct);
	if (fields.length === 0 && !params.find_people) {
		report(
			'.params.struct',
			'error',
			'Enrich Company needs at least one field to find (e.g. industry: "The industry the company is in"), or Find people turned on'
		);
	}
	checkStructDescriptions(params.struct, '.params.struct', report);
	if (params.find_people && params.lead_struct) checkStructDescriptions(params.lead_struct, '.params.lead_struct', report);
	if (!params.find_people) {
		if (params.people_focus_prompt?.trim()) report('.params.people_focus_prompt', 'warning', 'Ignored: Find people is off');
		if (params.lead_struct) report('.params.lead_struct', 'warning', 'Ignored: Find people is off');
	} else {
		const people = personFieldsOf(params);
		if (people.length === 0)
			report('.params.lead_struct', 'error', 'Find people needs at least one person field (e.g. name: "Full name")');
		else if (!people.some((f) => ['name', 'full_name', 'linkedin', 'linkedin_url'].includes(f.toLowerCase()))) {
			report(
				'.params.lead_struct',
				'warning',
				'No person field names the person (name or linkedin): the people found cannot be told apart, and Find Email cannot look them up'
			);
		}
		for (const field of people) {
			if (fields.includes(field)) {
				report(
					`.params.lead_struct.${field}`,
					'warning',
					`"${field}" is also a company field: on person rows the person's value replaces the company's`
				);
			}
		}
	}
	if (!columns) return;
	if (params.company_columns) {
		for (const key of COMPANY_KEYS) {
			const column = params.company_columns[key];
			if (column !== undefined && !columns.includes(column))
				report(`.params.company_columns.${key}`, 'error', missing(column, columns));
		}
	} else if (Object.keys(findCompanyColumns(columns)).length === 0) {
		const likely = likelyCompanyColumn(columns);
		const fixes = likely
			? [
					setParamFix(`Map "${likely.column}" as the company's ${COMPANY_KEY_WORDS[likely.key]}`, 'company_columns', {
						[likely.key]: likely.column
					})
				]
			: [];
		report(
			'.params.company_columns',
			'error',
			`Enrich Company needs a column that names the company (${[...COMPANY_FIELDS.company_name.slice(0, 2), ...COMPANY_FIELDS.website.slice(0, 1), ...COMPANY_FIELDS.domain.slice(0, 1), COMPANY_FIELDS.linkedin_url[0]].join(', ')}…), or map one under Company columns; the columns here are ${listColumns(columns)}`,
			{ fixes }
		);
	}
	for (const field of fields) {
		if (columns.includes(field)) {
			report(`.params.struct.${field}`, 'warning', `The column "${field}" already exists: Enrich Company will overwrite it`);
		}
	}
	if (!params.find_people) return;
	for (const field of personFieldsOf(params)) {
		if (columns.includes(field) && !fields.includes(field)) {
			report(
				`.params.lead_struct.${field}`,
				'warning',
				`The column "${field}" already exists: on person rows it will hold the person's value`
			);
		}
	}
}
