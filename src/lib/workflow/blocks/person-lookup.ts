/**
 * The column check every block that looks a person up shares (Find Email, Find Phone, Enrich
 * Lead): a column must identify the person — a name or a LinkedIn URL (or an email, where the
 * block says so) — and a name alone finds little without something that narrows it down (a
 * company, a domain, … as the block says).
 */
import { findLeadColumns, type LeadField } from '../lead-columns';
import type { Fix } from '../fixes';
import type { CheckContext } from './types';

export interface PersonLookupCheck {
	/** The block's label, e.g. "Find Email". */
	label: string;
	/** What it finds, in the plural ("emails", "numbers"). */
	finds: string;
	/** Fields that, beside a name, make a match likely. */
	narrowers: readonly LeadField[];
	/** True when an email column identifies the person too (Enrich Lead researches from it). */
	email?: boolean;
	/** Where the problem is reported (default: the block). */
	path?: string;
	/** The fixes offered when no column identifies a person (e.g. send one that does). */
	fixes?: Fix[];
}

/** Reports an error when no column identifies a person, a warning when only a name does. */
export function checkPersonLookup(
	columns: string[],
	context: Pick<CheckContext<unknown>, 'report' | 'listColumns'>,
	check: PersonLookupCheck
): void {
	const lead = findLeadColumns(columns);
	const person = lead.name ?? lead.first_name ?? lead.last_name ?? lead.linkedin ?? (check.email ? lead.email : undefined);
	const path = check.path ?? '';
	if (person === undefined) {
		const what = check.email ? ', a LinkedIn URL or an email' : ' or a LinkedIn URL';
		context.report(
			path,
			'error',
			`${check.label} needs a column that identifies a person: a name (name, full_name, or first_name + last_name)${what}; the columns here are ${context.listColumns(columns)}`,
			check.fixes?.length ? { fixes: check.fixes } : undefined
		);
	} else if (check.narrowers.length > 0 && !check.narrowers.some((field) => lead[field])) {
		const names = check.narrowers.filter((f) => f !== 'linkedin').join(', ');
		context.report(
			path,
			'warning',
			`${check.label} has a name but no ${names} or LinkedIn column: few ${check.finds} are found from a name alone`
		);
	}
}
