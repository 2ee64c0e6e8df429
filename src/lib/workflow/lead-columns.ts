/**
 * Which columns describe a person or a company, by name. The analysis uses it to tell whether
 * find_email can identify anyone before a run is paid for; the find_email runner reads the same
 * names (matched case-insensitively), so both must agree.
 */

/** Column names (lower case) read for each lead field, in order of preference. */
export const LEAD_FIELDS = {
	name: ['name', 'full_name', 'fullname', 'person_name', 'contact_name'],
	first_name: ['first_name', 'firstname', 'given_name'],
	last_name: ['last_name', 'lastname', 'surname', 'family_name'],
	company: ['company', 'company_name', 'organization', 'organisation', 'employer'],
	title: ['title', 'job_title', 'position', 'role'],
	linkedin: ['linkedin', 'linkedin_url', 'linkedin_profile', 'profile_url'],
	domain: ['domain', 'company_domain', 'website', 'company_website'],
	email: ['email', 'email_address', 'work_email']
} as const;

export type LeadField = keyof typeof LEAD_FIELDS;

/** For each lead field, the first of `columns` that holds it (case-insensitive), if any. */
export function findLeadColumns(columns: readonly string[]): Partial<Record<LeadField, string>> {
	const byLower = new Map<string, string>();
	for (const column of columns) {
		const lower = column.toLowerCase();
		if (!byLower.has(lower)) byLower.set(lower, column);
	}
	const found: Partial<Record<LeadField, string>> = {};
	for (const field of Object.keys(LEAD_FIELDS) as LeadField[]) {
		const match = LEAD_FIELDS[field].find((candidate) => byLower.has(candidate));
		if (match !== undefined) found[field] = byLower.get(match);
	}
	return found;
}
