/**
 * enrich_company: one Sixtyfour company enrichment per row (`/enrich-company`, async + polling by
 * default, through the same scheduler, cache and cost accounting as the other API blocks); adds a
 * column per struct field, the answer's confidence (0–10) and `_error`.
 *
 * With `find_people` the rows change kind, companies → leads: each company row becomes one row per
 * person found, in the API's order (the company's columns carried onto each, one column per person
 * field, `_people_found` = how many people the company has in the output). A company where nobody
 * was found is not an error: it keeps one row, person fields empty, `_people_found` = 0 — so it
 * can be filtered (`_people_found > 0`) and is not retried as a failure. A company whose call
 * failed keeps one row with the reason in `_error` and `_people_found` empty.
 */
import { CONFIDENCE_COLUMN, PEOPLE_FOUND_COLUMN, type Row } from '../../src/lib/workflow/schema';
import { DEFAULT_LEAD_STRUCT, addedColumnsOf, personFieldsOf } from '../../src/lib/workflow/blocks';
import { findCompanyColumns } from '../../src/lib/workflow/company-columns';
import { confidence0to10, type EnrichCompanyRequest } from '../enrichment/sixtyfour-schemas';
import { JobFailure, type BlockRunner } from '../engine/types';
import type { CallMeter } from '../enrichment/types';
import { flatMapApiRows, shapeRow, toCell, withColumns, withError } from './api-block';

const LABEL = 'Enrich Company';

/** A person's value for `field`: its own key, else a key differing only in case. */
function personValue(person: Record<string, unknown>, field: string): unknown {
	if (field in person) return person[field];
	const lower = field.toLowerCase();
	const key = Object.keys(person).find((k) => k.toLowerCase() === lower);
	return key === undefined ? null : person[key];
}

export const runEnrichCompany: BlockRunner<'enrich_company'> = async ({ params, columns, rows, ctx }) => {
	const fields = Object.keys(params.struct);
	const findPeople = params.find_people;
	const personFields = findPeople ? personFieldsOf(params) : [];
	const outColumns = withColumns(columns, addedColumnsOf('enrich_company', params));
	const mapping = findCompanyColumns(columns, params.company_columns);
	const mapped = Object.entries(mapping) as [keyof typeof mapping, string][];
	if (mapped.length === 0) {
		throw new JobFailure(
			`${LABEL}: no column names the company (e.g. company_name, company, website, domain, company_linkedin); map one under Company columns`,
			'invalid_workflow'
		);
	}
	const absent = mapped.filter(([, column]) => !columns.includes(column));
	if (absent.length > 0) {
		throw new JobFailure(
			`${LABEL}: ${absent.map(([key, column]) => `${key} is mapped to "${column}", which is not a column here`).join('; ')}`,
			'invalid_workflow'
		);
	}

	const call = async (row: Row, signal: AbortSignal, index: number, meter: CallMeter): Promise<Row[]> => {
		const target: Record<string, string | number | boolean> = {};
		for (const [key, column] of mapped) {
			const value = row[column];
			if (value !== null && value !== undefined && String(value).trim() !== '') target[key] = value;
		}
		const out = shapeRow(row, outColumns);
		if (Object.keys(target).length === 0) {
			const message = `no company information in this row (${mapped.map(([, c]) => `"${c}"`).join(', ')} empty)`;
			ctx.rowError(index, message);
			return [withError(out, LABEL, message)];
		}
		const request: EnrichCompanyRequest = {
			target_company: target,
			struct: params.struct,
			...(params.research_plan?.trim() ? { research_plan: params.research_plan } : {}),
			...(params.tier ? { tier: params.tier } : {}),
			...(findPeople
				? {
						find_people: true,
						lead_struct: params.lead_struct ?? { ...DEFAULT_LEAD_STRUCT },
						...(params.people_focus_prompt?.trim() ? { people_focus_prompt: params.people_focus_prompt } : {})
					}
				: {})
		};
		const answer = await ctx.enrichment.enrichCompany(request, { signal, meter });
		for (const field of fields) out[field] = toCell(answer.structured_data[field]);
		out[CONFIDENCE_COLUMN] = confidence0to10(answer.confidence_score);
		if (!findPeople) return [out];

		const people = answer.people ?? [];
		if (people.length === 0) {
			for (const field of personFields) out[field] = null;
			out[PEOPLE_FOUND_COLUMN] = 0;
			return [out];
		}
		return people.map((person) => {
			const lead: Row = { ...out, [PEOPLE_FOUND_COLUMN]: people.length };
			for (const field of personFields) lead[field] = toCell(personValue(person, field));
			return lead;
		});
	};

	return {
		columns: outColumns,
		rows: flatMapApiRows(rows, ctx, { label: LABEL, columns: outColumns, concurrency: params.concurrency, call })
	};
};
