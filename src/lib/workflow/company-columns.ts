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

/** Words in a column name that suggest it holds the company (checked when no name matches exactly). */
const LIKELY: { readonly [K in CompanyKey]: RegExp } = {
	company_name: /compan|organi[sz]ation|business|employer|account|firm/i,
	website: /web|site|homepage/i,
	domain: /domain/i,
	linkedin_url: /^$/
};

/**
 * The one column that probably names the company although its name is not one `findCompanyColumns`
 * reads (e.g. "Company Name (legal)"), with the key to map it to; null when there is none or more
 * than one (a person must choose).
 * @example likelyCompanyColumn(['id', 'Employer Org']) // { key: 'company_name', column: 'Employer Org' }
 */
export function likelyCompanyColumn(columns: readonly string[]): { key: CompanyKey; column: string } | null {
	const found: { key: CompanyKey; column: string }[] = [];
	for (const column of columns) {
		if (column.startsWith('_')) continue;
		const key = COMPANY_KEYS.find((k) => LIKELY[k].test(column));
		if (key) found.push({ key, column });
	}
	return found.length === 1 ? found[0]! : null;
}
