/**
 * How a person's struct fields are answered: rules matched against the field name (underscores
 * read as spaces), then its description. Order matters: the more specific rule comes first.
 */
import { intBetween, pick, type Rng } from '../prng';
import type { Person } from './person';
import { EVIDENCE_PHRASES, INDUSTRIES, US } from './pools';
import type { FieldSpec, Rule, Subject } from './struct-fields';
import { slugify, titleCase, type Facts } from './lead-text';

const US_WORDS = String.raw`(american|\bus\b|\busa\b|u\.s\.|united states)`;
const EDU_WORDS = String.raw`(educat|univers|school|college|degree|studied|undergrad|alma)`;
const SENIOR: readonly Person['seniority'][] = ['Director', 'VP', 'C-Level', 'Founder'];

export const PERSON_BOOL_RULES: readonly Rule<Person>[] = [
	{ when: new RegExp(`${US_WORDS}.*${EDU_WORDS}|${EDU_WORDS}.*${US_WORDS}`), value: (p) => p.university.country === US },
	{ when: new RegExp(`${US_WORDS}|us based`), value: (p) => p.country === US },
	{ when: /founder/, value: (p) => p.seniority === 'Founder' },
	{ when: /decision|executive|c level|c-level|leadership|senior/, value: (p) => SENIOR.includes(p.seniority) },
	{ when: /manag/, value: (p) => p.seniority === 'Manager' || SENIOR.includes(p.seniority) },
	{ when: /engineer|technical|developer/, value: (p) => p.department === 'Engineering' },
	{ when: /sales/, value: (p) => p.department === 'Sales' },
	{ when: /phd|doctor/, value: (p) => p.degree === 'PhD' },
	{ when: /mba/, value: (p) => p.degree === 'MBA' },
	{ when: /master|graduate degree|postgrad/, value: (p) => ['MSc', 'MBA', 'PhD'].includes(p.degree) }
];

export const PERSON_RULES: readonly Rule<Person>[] = [
	{ when: /(grad|graduat).*year|year.*(grad|graduat)|class of/, value: (p) => p.gradYear },
	{ when: /(univ|school|college|educ|alma).*country/, value: (p) => p.university.country },
	{ when: /(univ|school|college|educ|alma).*(city|location)/, value: (p) => p.university.city },
	{ when: /undergrad|universit|college|school|alma mater|institution/, value: (p) => p.university.name },
	{ when: /degree/, value: (p) => `${p.degree} in ${p.major}` },
	{ when: /major|field of study|concentration|discipline|studied/, value: (p) => p.major },
	{ when: /educat/, value: (p) => `${p.degree} in ${p.major}, ${p.university.name} (${p.gradYear})` },
	{ when: /first name|given name/, value: (p) => p.firstName },
	{ when: /last name|surname|family name/, value: (p) => p.lastName },
	{ when: /^(full )?name$/, value: (p) => p.name },
	{ when: /personal.*email/, value: (p) => `${slugify(p.firstName)}.${slugify(p.lastName)}@gmail.com` },
	{ when: /email/, value: (p) => `${slugify(p.firstName)}.${slugify(p.lastName)}@${p.domain}` },
	{ when: /phone|mobile/, value: (p, rng) => `${p.country === US ? '+1 415' : '+44 20'} 555 01${intBetween(rng, 10, 99)}` },
	{ when: /linkedin/, value: (p) => p.linkedin },
	{ when: /twitter|x handle/, value: (p) => `@${slugify(p.firstName)}${slugify(p.lastName)}` },
	{ when: /github/, value: (p) => `https://github.com/${slugify(p.firstName)}${slugify(p.lastName)}` },
	{ when: /seniority|level/, value: (p) => p.seniority },
	{ when: /department|function|team/, value: (p) => p.department },
	{ when: /(company|employer).*(location|country|city|hq|headquarter)/, value: (p) => p.location },
	{ when: /(company|employer).*(domain|website|url|site)/, value: (p) => `https://${p.domain}` },
	{ when: /(company|employer).*(size|employees|headcount)/, value: (_p, rng) => intBetween(rng, 11, 5_000) },
	{ when: /title|role|position|job|occupation/, value: (p) => p.title },
	{ when: /company|employer|organi[sz]ation|workplace|works at/, value: (p) => p.company },
	{ when: /domain|website|url|site/, value: (p) => `https://${p.domain}` },
	{ when: /industry|sector/, value: (_p, rng) => pick(rng, INDUSTRIES) },
	{ when: /country|nationality/, value: (p) => p.country },
	{ when: /city/, value: (p) => p.city },
	{ when: /location|based|address|region|where/, value: (p) => p.location },
	{ when: /skill|expertise|technolog|stack|tools/, value: (p) => p.skills },
	{ when: /language/, value: (p) => p.languages },
	{ when: /previous|past|former|prior|career|work history/, value: (p) => p.previousCompanies },
	{ when: /years|experience|tenure/, value: (p) => p.yearsExperience },
	{ when: /summary|bio|about|overview|background|headline|description|profile/, value: summaryOf },
	{ when: /score|rating/, value: (_p, rng) => Math.round(rng() * 100) / 10 },
	{ when: /count|number|how many|total/, value: (_p, rng) => intBetween(rng, 1, 40) }
];

/** One sentence about the person, built only from their profile. */
export function summaryOf(p: Person): string {
	return `${p.name} is ${p.title} at ${p.company}, based in ${p.location}, with ${p.yearsExperience} years of experience; studied ${p.major} at ${p.university.name}.`;
}

function fallbackOf(p: Person, spec: FieldSpec, rng: Rng): string {
	const topic = spec.description.trim() || titleCase(spec.name.replace(/_/g, ' '));
	return `${p.name} (${p.title}, ${p.company}) — ${topic}: ${pick(rng, EVIDENCE_PHRASES)}`;
}

/** The struct-filling subject for a person described by `facts`. */
export function personSubject(person: Person, facts: Facts): Subject<Person> {
	return { facts, value: person, boolRules: PERSON_BOOL_RULES, rules: PERSON_RULES, fallback: fallbackOf };
}
