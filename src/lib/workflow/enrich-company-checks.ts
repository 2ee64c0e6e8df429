/**
 * The column-flow checks of Enrich Company (called by `analyzeColumns`): a field to find, person
 * fields that name a person, a column that names the company, and columns about to be overwritten.
 */
import { personFieldsOf } from './blocks';
import { COMPANY_FIELDS, findCompanyColumns } from './company-columns';
import { COMPANY_KEYS, type ParamsOf } from './schema';

/** What the analysis lends a block's checks: where to report, and how it words missing columns. */
export interface CheckHelpers {
	/** `path` is relative to the block (e.g. `.params.struct`). */
	report: (path: string, severity: 'error' | 'warning', message: string) => void;
	/** The message for a column that does not exist where it is used. */
	missing: (column: string, available: string[]) => string;
	listColumns: (columns: readonly string[]) => string;
}

/** Reports Enrich Company's problems; `columns` null = unknown (or rows of the wrong kind): skip column checks. */
export function checkEnrichCompany(params: ParamsOf<'enrich_company'>, columns: string[] | null, { report, missing, listColumns }: CheckHelpers): void {
	const fields = Object.keys(params.struct);
	if (fields.length === 0 && !params.find_people) {
		report(
			'.params.struct',
			'error',
			'Enrich Company needs at least one field to find (e.g. industry: "The industry the company is in"), or Find people turned on'
		);
	}
	if (!params.find_people) {
		if (params.people_focus_prompt?.trim()) report('.params.people_focus_prompt', 'warning', 'Ignored: Find people is off');
		if (params.lead_struct) report('.params.lead_struct', 'warning', 'Ignored: Find people is off');
	} else {
		const people = personFieldsOf(params);
		if (people.length === 0) report('.params.lead_struct', 'error', 'Find people needs at least one person field (e.g. name: "Full name")');
		else if (!people.some((f) => ['name', 'full_name', 'linkedin', 'linkedin_url'].includes(f.toLowerCase()))) {
			report(
				'.params.lead_struct',
				'warning',
				'No person field names the person (name or linkedin): the people found cannot be told apart, and Find Email cannot look them up'
			);
		}
		for (const field of people) {
			if (fields.includes(field)) {
				report(`.params.lead_struct.${field}`, 'warning', `"${field}" is also a company field: on person rows the person's value replaces the company's`);
			}
		}
	}
	if (!columns) return;
	if (params.company_columns) {
		for (const key of COMPANY_KEYS) {
			const column = params.company_columns[key];
			if (column !== undefined && !columns.includes(column)) report(`.params.company_columns.${key}`, 'error', missing(column, columns));
		}
	} else if (Object.keys(findCompanyColumns(columns)).length === 0) {
		report(
			'.params.company_columns',
			'error',
			`Enrich Company needs a column that names the company (${[...COMPANY_FIELDS.company_name.slice(0, 2), ...COMPANY_FIELDS.website.slice(0, 1), ...COMPANY_FIELDS.domain.slice(0, 1), COMPANY_FIELDS.linkedin_url[0]].join(', ')}…), or map one under Company columns; the columns here are ${listColumns(columns)}`
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
			report(`.params.lead_struct.${field}`, 'warning', `The column "${field}" already exists: on person rows it will hold the person's value`);
		}
	}
}
