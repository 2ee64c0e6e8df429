/**
 * The column check every block that looks a person up shares (Find Email, Find Phone): a column
 * must identify the person — a name or a LinkedIn URL — and a name alone finds little without
 * something that narrows it down (a company, a domain, … as the block says).
 */
import { findLeadColumns, type LeadField } from '../lead-columns';
import type { CheckContext } from './types';

export interface PersonLookupCheck {
	/** The block's label, e.g. "Find Email". */
	label: string;
	/** What it finds, in the plural ("emails", "numbers"). */
	finds: string;
	/** Fields that, beside a name, make a match likely. */
	narrowers: readonly LeadField[];
}

/** Reports an error when no column identifies a person, a warning when only a name does. */
export function checkPersonLookup(
	columns: string[],
	context: Pick<CheckContext<unknown>, 'report' | 'listColumns'>,
	check: PersonLookupCheck
): void {
	const lead = findLeadColumns(columns);
	const person = lead.name ?? lead.first_name ?? lead.last_name ?? lead.linkedin;
	if (person === undefined) {
		context.report(
			'',
			'error',
			`${check.label} needs a column that identifies a person: a name (name, full_name, or first_name + last_name) or a LinkedIn URL; the columns here are ${context.listColumns(columns)}`
		);
	} else if (!check.narrowers.some((field) => lead[field])) {
		const names = check.narrowers.filter((f) => f !== 'linkedin').join(', ');
		context.report(
			'',
			'warning',
			`${check.label} has a name but no ${names} or LinkedIn column: few ${check.finds} are found from a name alone`
		);
	}
}
