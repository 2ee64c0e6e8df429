/**
 * The answers of `/enrich-lead` and `/enrich-company`: the envelope the real API sends
 * (`notes`, `structured_data`, `findings`, `references`, `confidence_score` 0–10), filled
 * deterministically from the request.
 */
import type { EnrichCompanyBody, EnrichLeadBody } from '../request-schemas';
import { intBetween, rngFor } from '../prng';
import { companyFrom, companySubject, describeCompany, type Company } from './company';
import { personFrom, type Person } from './person';
import { personSubject, summaryOf } from './person-fields';
import { TITLES, type TitleEntry } from './pools';
import { fieldSpecs, fillStruct, type FieldSpec } from './struct-fields';

export interface EnrichAnswer {
	notes: string;
	structured_data: Record<string, unknown>;
	findings: unknown[];
	references: Record<string, string>;
	confidence_score: number;
	field_confidence?: Record<string, number>;
}

/** Fields answered when a request sends no struct. */
const DEFAULT_LEAD_FIELDS: FieldSpec[] = ['name', 'title', 'company', 'location', 'linkedin'].map((name) => ({
	name,
	description: '',
	type: 'str'
}));

const TIER_BONUS: Record<string, number> = { low: 0, medium: 0.3, high: 0.6, xhigh: 0.8 };

/** The `/enrich-lead` answer for a validated body. */
export function enrichLeadAnswer(body: EnrichLeadBody, seed: number): EnrichAnswer {
	const person = personFrom(body.lead_info, seed);
	const specs = Object.keys(body.struct ?? {}).length > 0 ? fieldSpecs(body.struct) : DEFAULT_LEAD_FIELDS;
	const rng = rngFor(seed, 'enrich-lead', body);
	if (!person.identified) {
		return {
			notes: 'Could not identify a person from the lead information given (no name, LinkedIn URL or e-mail).',
			structured_data: Object.fromEntries(specs.map((s) => [s.name, null])),
			findings: [],
			references: {},
			confidence_score: Math.round(rng() * 15) / 10
		};
	}
	const structured = fillStruct(specs, personSubject(person, body.lead_info), seed, body.lead_info);
	const sparse = Object.keys(body.lead_info).length < 2 ? 1.5 : 0;
	const score = 6 + rng() * 3.6 - sparse + (TIER_BONUS[body.tier ?? 'low'] ?? 0);
	const answer: EnrichAnswer = {
		notes: `Researched ${person.name}. ${summaryOf(person)} Matched the LinkedIn profile and the ${person.company} website.`,
		structured_data: structured,
		findings: [],
		references: personReferences(person),
		confidence_score: clamp10(score)
	};
	if (body.field_confidence) {
		answer.field_confidence = Object.fromEntries(specs.map((s) => [s.name, intBetween(rng, 45, 99)]));
	}
	return answer;
}

/** The `/enrich-company` answer; with `find_people`, the people are in `structured_data.leads`. */
export function enrichCompanyAnswer(body: EnrichCompanyBody, seed: number): EnrichAnswer {
	const company = companyFrom(body.target_company, seed);
	const rng = rngFor(seed, 'enrich-company', body);
	const structured = fillStruct(fieldSpecs(body.struct), companySubject(company, body.target_company), seed, body.target_company);
	let peopleNote = '';
	if (body.find_people) {
		const leads = peopleAt(company, body, seed);
		structured.leads = leads;
		peopleNote = leads.length > 0 ? ` Found ${leads.length} people matching the focus.` : ' Found nobody matching the focus.';
	}
	return {
		notes: `Researched ${company.name}. ${describeCompany(company)}${peopleNote}`,
		structured_data: structured,
		findings: [],
		references: {
			[`https://${company.domain}`]: `${company.name} website`,
			[company.linkedin]: `${company.name} on LinkedIn`,
			[`https://${company.domain}/about`]: `About ${company.name}`
		},
		confidence_score: clamp10(6.5 + rng() * 3 + (TIER_BONUS[body.tier ?? 'low'] ?? 0))
	};
}

const FOCUS: ReadonlyArray<[RegExp, (t: TitleEntry) => boolean]> = [
	[/engineer|technical|developer|cto/i, (t) => t.department === 'Engineering'],
	[/sales|revenue|account/i, (t) => t.department === 'Sales'],
	[/marketing|growth|brand/i, (t) => t.department === 'Marketing'],
	[/product/i, (t) => t.department === 'Product'],
	[/data|analytics/i, (t) => t.department === 'Data'],
	[/recruit|talent|\bhr\b|people (team|ops|operations)/i, (t) => t.department === 'People'],
	[/executive|leader|c-level|founder|decision|ceo/i, (t) => ['Director', 'VP', 'C-Level', 'Founder'].includes(t.seniority)]
];

/** 0–5 people at the company (none for about one company in ten), shaped by `lead_struct`. */
function peopleAt(company: Company, body: EnrichCompanyBody, seed: number): Record<string, unknown>[] {
	const rng = rngFor(seed, 'people', body.target_company, body.people_focus_prompt ?? '');
	const count = rng() < 0.1 ? 0 : intBetween(rng, 1, 5);
	const prompt = body.people_focus_prompt ?? '';
	const focus = FOCUS.filter(([pattern]) => pattern.test(prompt));
	const titles = focus.length > 0 ? TITLES.filter((t) => focus.some(([, fits]) => fits(t))) : TITLES;
	const specs = fieldSpecs(body.lead_struct);
	const people: Record<string, unknown>[] = [];
	for (let i = 0; i < count; i++) {
		const facts = { company: company.name, domain: company.domain, location: company.hq, index: i };
		const person: Person = { ...personFrom(facts, seed, titles), identified: true };
		const identity = { name: person.name, title: person.title, linkedin: person.linkedin, company: company.name };
		people.push({ ...identity, ...fillStruct(specs, personSubject(person, identity), seed, facts) });
	}
	return people;
}

function personReferences(p: Person): Record<string, string> {
	return {
		[p.linkedin]: `${p.name} on LinkedIn`,
		[`https://${p.domain}/team`]: `${p.company} — Team`,
		[`https://${p.domain}/about`]: `About ${p.company}`
	};
}

function clamp10(score: number): number {
	return Math.round(Math.min(10, Math.max(0, score)) * 10) / 10;
}
