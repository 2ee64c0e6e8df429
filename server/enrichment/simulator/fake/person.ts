/**
 * A consistent fake person built from a lead: what the caller gave is kept, the rest is drawn from
 * a PRNG seeded by the lead, so every field of every answer about this lead agrees with the others
 * (the university's country decides `is_american_education`, the title decides seniority, …).
 */
import { intBetween, pick, rngFor, sample, type Rng } from '../prng';
import { companyDomain, countryIn, nameFromEmail, nameFromLinkedin, slugify, textOf, type Facts } from './lead-text';
import {
	COMPANY_SUFFIXES,
	COMPANY_WORDS,
	DEGREES,
	FIRST_NAMES,
	LANGUAGES,
	LAST_NAMES,
	MAJORS,
	PLACES,
	SKILLS,
	TITLES,
	UNIVERSITIES,
	US,
	type Seniority,
	type TitleEntry,
	type University
} from './pools';

export interface Person {
	/** False when the lead named no person (no name, LinkedIn or e-mail): answers are then empty. */
	identified: boolean;
	name: string;
	firstName: string;
	lastName: string;
	title: string;
	seniority: Seniority;
	department: string;
	company: string;
	domain: string;
	city: string;
	country: string;
	location: string;
	university: University;
	degree: string;
	major: string;
	gradYear: number;
	yearsExperience: number;
	linkedin: string;
	skills: string[];
	languages: string[];
	previousCompanies: string[];
}

const NAME_KEYS = ['name', 'full_name', 'fullname', 'person', 'contact_name'];
const TITLE_KEYS = ['title', 'job_title', 'position', 'role'];
const COMPANY_KEYS = ['company', 'company_name', 'organization', 'employer'];
const LOCATION_KEYS = ['location', 'company_location', 'city', 'country', 'address'];
const EXPERIENCE: Record<Seniority, [number, number]> = {
	Entry: [1, 3],
	Mid: [3, 8],
	Senior: [6, 14],
	Manager: [7, 15],
	Director: [10, 20],
	VP: [12, 24],
	'C-Level': [14, 28],
	Founder: [5, 22]
};

/** The person a lead describes. `titles` narrows generated titles (e.g. to a department). */
export function personFrom(lead: Facts, seed: number, titles: readonly TitleEntry[] = TITLES): Person {
	const rng = rngFor(seed, 'person', lead);
	const linkedinGiven = textOf(lead, ['linkedin', 'linkedin_url', 'linkedin_profile']);
	const email = textOf(lead, ['email', 'work_email']);
	const first = textOf(lead, ['first_name', 'firstname']);
	const last = textOf(lead, ['last_name', 'lastname', 'surname']);
	const givenName =
		textOf(lead, NAME_KEYS) ??
		(first ? [first, last].filter(Boolean).join(' ') : null) ??
		(linkedinGiven ? nameFromLinkedin(linkedinGiven) : null) ??
		(email ? nameFromEmail(email) : null);
	const name = givenName ?? `${pick(rng, FIRST_NAMES)} ${pick(rng, LAST_NAMES)}`;
	const [firstName = name, ...rest] = name.split(/\s+/);
	const lastName = rest.join(' ') || firstName;

	const company = textOf(lead, COMPANY_KEYS) ?? `${pick(rng, COMPANY_WORDS)} ${pick(rng, COMPANY_SUFFIXES)}`;
	const domain = companyDomain(lead, company);
	const titleGiven = textOf(lead, TITLE_KEYS);
	const entry = titleGiven ? readTitle(titleGiven) : pick(rng, titles);

	const locationGiven = textOf(lead, LOCATION_KEYS);
	const place = pick(rng, PLACES);
	const country = (locationGiven && countryIn(locationGiven)) ?? place.country;
	const city = locationGiven ?? (country === place.country ? place.city : country);
	const location = locationGiven ?? (city === country ? country : `${city}, ${country}`);

	const [minYears, maxYears] = EXPERIENCE[entry.seniority];
	const yearsExperience = intBetween(rng, minYears, maxYears);
	const degree = pick(rng, DEGREES);
	return {
		identified: givenName !== null,
		name,
		firstName,
		lastName,
		title: entry.title,
		seniority: entry.seniority,
		department: entry.department,
		company,
		domain,
		city,
		country,
		location,
		university: universityFor(rng, country),
		degree,
		major: degree === 'MBA' ? 'Business Administration' : pick(rng, MAJORS),
		gradYear: 2025 - yearsExperience - (degree === 'PhD' ? 5 : degree.startsWith('M') ? 2 : 0),
		yearsExperience,
		linkedin: linkedinGiven ?? `https://www.linkedin.com/in/${slugify(firstName)}-${slugify(lastName)}-${intBetween(rng, 10, 99)}`,
		skills: sample(rng, SKILLS, intBetween(rng, 3, 6)),
		languages: country === US ? ['English'] : sample(rng, LANGUAGES, 2),
		previousCompanies: sample(rng, COMPANY_WORDS, intBetween(rng, 1, 3)).map((w) => `${w} ${pick(rng, COMPANY_SUFFIXES)}`)
	};
}

/** Most people studied in the country they live in; the rest mostly in the US. */
function universityFor(rng: Rng, country: string): University {
	const local = UNIVERSITIES.filter((u) => u.country === country);
	if (local.length > 0 && rng() < 0.7) return pick(rng, local);
	const us = UNIVERSITIES.filter((u) => u.country === US);
	return rng() < 0.6
		? pick(rng, us)
		: pick(
				rng,
				UNIVERSITIES.filter((u) => u.country !== US)
			);
}

/** Seniority and department of a title the caller gave. */
function readTitle(title: string): TitleEntry {
	const t = title.toLowerCase();
	const seniority: Seniority = /founder/.test(t)
		? 'Founder'
		: /\b(chief|ceo|cto|cfo|coo|cmo)\b/.test(t)
			? 'C-Level'
			: /\b(vp|vice president)\b/.test(t)
				? 'VP'
				: /\b(director|head)\b/.test(t)
					? 'Director'
					: /manager/.test(t)
						? 'Manager'
						: /\b(senior|staff|principal|lead)\b/.test(t)
							? 'Senior'
							: /\b(intern|junior|associate|assistant)\b/.test(t)
								? 'Entry'
								: 'Mid';
	const department = /engineer|developer|cto|technolog/.test(t)
		? 'Engineering'
		: /sales|account|business development|sdr/.test(t)
			? 'Sales'
			: /market|cmo|growth/.test(t)
				? 'Marketing'
				: /product/.test(t)
					? 'Product'
					: /data|analyst|scien/.test(t)
						? 'Data'
						: /recruit|people|talent|\bhr\b/.test(t)
							? 'People'
							: /ceo|founder|chief executive|president/.test(t)
								? 'Executive'
								: 'Operations';
	return { title, seniority, department };
}
