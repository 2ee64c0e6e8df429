/**
 * A consistent fake company built from `target_company`, and how its struct fields are answered.
 */
import { intBetween, pick, rngFor, sample, type Rng } from '../prng';
import { companyDomain, countryIn, slugify, textOf, titleCase, type Facts } from './lead-text';
import { COMPANY_SUFFIXES, COMPANY_WORDS, EVIDENCE_PHRASES, FIRST_NAMES, INDUSTRIES, LAST_NAMES, PLACES, TECHNOLOGIES, US } from './pools';
import type { FieldSpec, Rule, Subject } from './struct-fields';

export interface Company {
	name: string;
	domain: string;
	industry: string;
	employees: number;
	founded: number;
	hqCity: string;
	hqCountry: string;
	hq: string;
	linkedin: string;
	ceo: string;
	revenueUsdMillions: number;
	fundingUsdMillions: number;
	technologies: string[];
	competitors: string[];
	isPublic: boolean;
	isHiring: boolean;
	isB2b: boolean;
}

const EMPLOYEE_BANDS: ReadonlyArray<[number, string]> = [
	[10, '1-10'],
	[50, '11-50'],
	[200, '51-200'],
	[500, '201-500'],
	[1_000, '501-1,000'],
	[5_000, '1,001-5,000'],
	[Number.POSITIVE_INFINITY, '5,001+']
];

/** The company a `target_company` object describes. */
export function companyFrom(target: Facts, seed: number): Company {
	const rng = rngFor(seed, 'company', target);
	const name = textOf(target, ['company_name', 'name', 'company']) ?? `${pick(rng, COMPANY_WORDS)} ${pick(rng, COMPANY_SUFFIXES)}`;
	const locationGiven = textOf(target, ['location', 'headquarters', 'hq', 'country', 'city']);
	const place = pick(rng, PLACES);
	const hqCountry = (locationGiven && countryIn(locationGiven)) ?? place.country;
	const hqCity = locationGiven ?? (hqCountry === place.country ? place.city : hqCountry);
	const employees = Math.round(Math.exp(rng() * Math.log(20_000))) + 2;
	return {
		name,
		domain: companyDomain(target, name),
		industry: textOf(target, ['industry']) ?? pick(rng, INDUSTRIES),
		employees,
		founded: intBetween(rng, 1985, 2023),
		hqCity,
		hqCountry,
		hq: hqCity.includes(hqCountry) || hqCity === hqCountry ? hqCity : `${hqCity}, ${hqCountry}`,
		linkedin: textOf(target, ['linkedin', 'linkedin_url']) ?? `https://www.linkedin.com/company/${slugify(name)}`,
		ceo: `${pick(rng, FIRST_NAMES)} ${pick(rng, LAST_NAMES)}`,
		revenueUsdMillions: Math.round(employees * (0.1 + rng() * 0.3) * 10) / 10,
		fundingUsdMillions: Math.round(rng() * 300 * 10) / 10,
		technologies: sample(rng, TECHNOLOGIES, intBetween(rng, 3, 6)),
		competitors: sample(rng, COMPANY_WORDS, 3).map((w) => `${w} ${pick(rng, COMPANY_SUFFIXES)}`),
		isPublic: employees > 5_000 && rng() < 0.5,
		isHiring: rng() < 0.6,
		isB2b: rng() < 0.7
	};
}

/** "51-200" style band for a head count. */
export function employeeBand(employees: number): string {
	return (EMPLOYEE_BANDS.find(([max]) => employees <= max) ?? EMPLOYEE_BANDS[EMPLOYEE_BANDS.length - 1])![1];
}

export function describeCompany(c: Company): string {
	return `${c.name} is a ${c.industry.toLowerCase()} company headquartered in ${c.hq}, founded in ${c.founded}, with about ${c.employees.toLocaleString('en-US')} employees.`;
}

const COMPANY_BOOL_RULES: readonly Rule<Company>[] = [
	{ when: /public|listed|ipo/, value: (c) => c.isPublic },
	{ when: /hiring|open roles|jobs/, value: (c) => c.isHiring },
	{ when: /b2b|business to business/, value: (c) => c.isB2b },
	{ when: /american|\bus\b|\busa\b|united states/, value: (c) => c.hqCountry === US },
	{ when: /funded|venture|raised/, value: (c) => c.fundingUsdMillions > 0 }
];

const COMPANY_RULES: readonly Rule<Company>[] = [
	{ when: /employee.*(range|band)|size|company size/, value: (c) => employeeBand(c.employees) },
	{ when: /employee|headcount|staff|team size/, value: (c) => c.employees },
	{ when: /founded|founding|established|year/, value: (c) => c.founded },
	{ when: /ceo|founder|chief executive|leader/, value: (c) => c.ceo },
	{ when: /linkedin/, value: (c) => c.linkedin },
	{ when: /domain/, value: (c) => c.domain },
	{ when: /website|url|site/, value: (c) => `https://${c.domain}` },
	{ when: /industry|sector|vertical/, value: (c) => c.industry },
	{ when: /country/, value: (c) => c.hqCountry },
	{ when: /city/, value: (c) => c.hqCity },
	{ when: /hq|headquarter|location|address|based/, value: (c) => c.hq },
	{ when: /revenue|arr|sales/, value: (c) => c.revenueUsdMillions },
	{ when: /funding|raised|investment/, value: (c) => c.fundingUsdMillions },
	{ when: /tech|stack|tools|software/, value: (c) => c.technologies },
	{ when: /competitor|rival|alternative/, value: (c) => c.competitors },
	{ when: /^(company )?name$/, value: (c) => c.name },
	{ when: /description|summary|about|overview|what .* do|mission/, value: describeCompany }
];

function fallbackOf(c: Company, spec: FieldSpec, rng: Rng): string {
	const topic = spec.description.trim() || titleCase(spec.name.replace(/_/g, ' '));
	return `${c.name} (${c.industry}, ${c.hq}) — ${topic}: ${pick(rng, EVIDENCE_PHRASES)}`;
}

/** The struct-filling subject for a company described by `facts`. */
export function companySubject(company: Company, facts: Facts): Subject<Company> {
	return { facts, value: company, boolRules: COMPANY_BOOL_RULES, rules: COMPANY_RULES, fallback: fallbackOf };
}
