/**
 * Which columns name a company, by name. Enrich Company builds `target_company` from them when no
 * mapping is given; the column-flow analysis uses the same table, so "this file has no company
 * column" is said before a run, never discovered during one.
 */
import { COMPANY_KEYS, type CompanyKey } from './params';

/**
 * Column names (lower case) read for each `target_company` key, in order of preference. `name` and
 * `linkedin` come last: in a table of companies they mean the company's (a table of people is
 * refused by the row-kind check before this is asked).
 */
export const COMPANY_FIELDS: { readonly [K in CompanyKey]: readonly string[] } = {
	company_name: ['company_name', 'company', 'organization', 'organisation', 'account_name', 'employer', 'name'],
	website: ['website', 'company_website', 'homepage', 'url', 'site'],
	domain: ['domain', 'company_domain', 'email_domain'],
	linkedin_url: ['company_linkedin', 'company_linkedin_url', 'linkedin_company', 'linkedin_url', 'linkedin']
};

/** Explicit mapping of `target_company` keys to columns (Enrich Company's `company_columns`). */
export type CompanyColumnMapping = Partial<Record<CompanyKey, string>>;

/**
 * The column used for each `target_company` key: the mapping as given when there is one (even a
 * column that does not exist: the analysis reports it), else detected by name, case-insensitively.
 * @example findCompanyColumns(['Company', 'website']) // { company_name: 'Company', website: 'website' }
 */
export function findCompanyColumns(columns: readonly string[], mapping?: CompanyColumnMapping): CompanyColumnMapping {
	if (mapping) {
		const chosen: CompanyColumnMapping = {};
		for (const key of COMPANY_KEYS) if (mapping[key] !== undefined) chosen[key] = mapping[key];
		return chosen;
	}
	const byLower = new Map<string, string>();
	for (const column of columns) {
		const lower = column.toLowerCase();
		if (!byLower.has(lower) && !column.startsWith('_')) byLower.set(lower, column);
	}
	const used = new Set<string>();
	const found: CompanyColumnMapping = {};
	for (const key of COMPANY_KEYS) {
		const match = COMPANY_FIELDS[key].find((candidate) => byLower.has(candidate) && !used.has(byLower.get(candidate)!));
		if (match === undefined) continue;
		found[key] = byLower.get(match);
		used.add(byLower.get(match)!);
	}
	return found;
}
