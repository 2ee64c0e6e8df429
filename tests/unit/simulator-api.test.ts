/**
 * The simulator's answers, through its Hono app: shapes the client's schemas accept, determinism,
 * struct fields honoured by name and type, find-email rules, validation and refusals.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { createSimulatorApp, SimStatsSchema, type SimulatorOptionsInput } from '../../server/enrichment/simulator';
import { EnrichLeadResponseSchema, FindEmailResponseSchema, errorMessageOf } from '../../server/enrichment/sixtyfour-schemas';

type Sim = ReturnType<typeof createSimulatorApp>;

function post(sim: Sim, path: string, body: unknown, key: string | null = 'test-key'): Promise<Response> {
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (key !== null) headers['x-api-key'] = key;
	return Promise.resolve(
		sim.app.request(path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) })
	);
}

async function json(res: Response): Promise<Record<string, unknown>> {
	return (await res.json()) as Record<string, unknown>;
}

const ADA = { name: 'Ada Lovelace', company: 'Analytical Engines', linkedin: 'https://www.linkedin.com/in/ada-lovelace' };
const EDUCATION_STRUCT = {
	title: 'Current job title',
	undergrad_university: 'Where the person did their undergraduate degree',
	is_american_education: { description: 'True if the undergrad university is in the USA', type: 'bool' }
};

/** Leads that vary name, company and location, to see both US and non-US answers. */
const LEADS = Array.from({ length: 40 }, (_, i) => ({
	name: `Person ${String.fromCharCode(65 + (i % 26))}${i} Example`,
	company: `Company ${i % 7}`,
	location: i % 3 === 0 ? 'London, UK' : i % 3 === 1 ? 'Austin, TX' : ''
}));

describe('enrich-lead', () => {
	it('answers the documented envelope, which the client schema accepts', async () => {
		const sim = createSimulatorApp({ seed: 7 });
		const res = await post(sim, '/enrich-lead', { lead_info: ADA, struct: EDUCATION_STRUCT });
		expect(res.status).toBe(200);
		const body = await json(res);
		const parsed = v.parse(EnrichLeadResponseSchema, body);
		expect(Object.keys(parsed.structured_data).sort()).toEqual(Object.keys(EDUCATION_STRUCT).sort());
		expect(parsed.confidence_score).toBeGreaterThanOrEqual(0);
		expect(parsed.confidence_score).toBeLessThanOrEqual(10);
		expect(parsed.notes).toContain('Ada Lovelace');
		expect(Object.keys(parsed.references ?? {})).toContain(ADA.linkedin);
		expect(parsed.findings).toEqual([]);
	});

	it('gives the same answer to the same request (key order ignored) and through the alias', async () => {
		const sim = createSimulatorApp({ seed: 7 });
		const a = await json(await post(sim, '/enrich-lead', { lead_info: ADA, struct: EDUCATION_STRUCT }));
		const reordered = { struct: EDUCATION_STRUCT, lead_info: { linkedin: ADA.linkedin, company: ADA.company, name: ADA.name } };
		const b = await json(await post(createSimulatorApp({ seed: 7 }), '/enrich-lead', reordered));
		const c = await json(await post(sim, '/people-intelligence', { lead_info: ADA, struct: EDUCATION_STRUCT }));
		expect(b).toEqual(a);
		expect(c).toEqual(a);
	});

	it('gives other answers under another seed or for another lead', async () => {
		const answers = await Promise.all(
			[
				[1, ADA],
				[2, ADA],
				[1, { ...ADA, name: 'Grace Hopper', linkedin: 'https://www.linkedin.com/in/grace-hopper' }]
			].map(async ([seed, lead]) =>
				json(
					await post(createSimulatorApp({ seed: seed as number }), '/enrich-lead', { lead_info: lead, struct: EDUCATION_STRUCT })
				)
			)
		);
		expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(3);
	});

	it('keeps is_american_education consistent with the university it names, and both values occur', async () => {
		const sim = createSimulatorApp({ seed: 3 });
		const seen = new Set<boolean>();
		const usUniversities =
			/Stanford|Massachusetts|Berkeley|Michigan|Georgia|Texas|Carnegie|New York University|Washington|Cornell|Illinois|Duke/;
		for (const lead of LEADS) {
			const data = (await json(await post(sim, '/enrich-lead', { lead_info: lead, struct: EDUCATION_STRUCT })))
				.structured_data as Record<string, unknown>;
			expect(typeof data.is_american_education).toBe('boolean');
			expect(typeof data.undergrad_university).toBe('string');
			expect(data.is_american_education).toBe(usUniversities.test(data.undergrad_university as string));
			seen.add(data.is_american_education as boolean);
		}
		expect(seen).toEqual(new Set([true, false]));
	});

	const TYPED_CASES: Array<[string, unknown, (value: unknown) => boolean]> = [
		['bool', { description: 'Is this person a founder?', type: 'bool' }, (x) => typeof x === 'boolean'],
		['boolean', { description: 'anything', type: 'boolean' }, (x) => typeof x === 'boolean'],
		['int', { description: 'Years of experience', type: 'int' }, (x) => Number.isInteger(x)],
		['integer', { description: 'Graduation year', type: 'integer' }, (x) => Number.isInteger(x) && (x as number) > 1950],
		['float', { description: 'A rating', type: 'float' }, (x) => typeof x === 'number'],
		['list', { description: 'Skills', type: 'list' }, (x) => Array.isArray(x) && x.every((i) => typeof i === 'string')],
		['list[str]', { description: 'Languages spoken', type: 'list[str]' }, (x) => Array.isArray(x) && x.length > 0],
		['list[int]', { description: 'Some numbers', type: 'list[int]' }, (x) => Array.isArray(x) && x.every((i) => Number.isInteger(i))],
		[
			'list[float]',
			{ description: 'Some numbers', type: 'list[float]' },
			(x) => Array.isArray(x) && x.every((i) => typeof i === 'number')
		],
		['dict', { description: 'Education details', type: 'dict' }, (x) => !!x && typeof x === 'object' && !Array.isArray(x)],
		['str', { description: 'Favourite book', type: 'str' }, (x) => typeof x === 'string' && x.includes('Ada Lovelace')],
		['str of a list concept', { description: 'Languages spoken', type: 'str' }, (x) => typeof x === 'string'],
		['untyped "Whether …"', 'Whether they work remotely', (x) => typeof x === 'boolean'],
		['untyped unknown', 'Favourite book', (x) => typeof x === 'string' && x.includes('Analytical Engines')]
	];

	it.each(TYPED_CASES)('honours declared type: %s', async (_label, field, check) => {
		const sim = createSimulatorApp({ seed: 11 });
		const data = (await json(await post(sim, '/enrich-lead', { lead_info: ADA, struct: { field } }))).structured_data as Record<
			string,
			unknown
		>;
		expect(check(data.field)).toBe(true);
	});

	it('reads is_/has_ field names as yes/no questions', async () => {
		const sim = createSimulatorApp({ seed: 11 });
		const struct = { is_remote: 'Works remotely', has_mba: 'Holds an MBA', is_us_based: 'Lives in the US' };
		const data = (await json(await post(sim, '/enrich-lead', { lead_info: { ...ADA, location: 'Austin, TX' }, struct })))
			.structured_data;
		expect(data).toEqual({ is_remote: expect.any(Boolean), has_mba: expect.any(Boolean), is_us_based: true });
	});

	it('answers fields by name: given values kept, titles, names, e-mails, locations', async () => {
		const sim = createSimulatorApp({ seed: 5 });
		const lead = { ...ADA, title: 'VP of Engineering', location: 'Berlin, Germany' };
		const struct = {
			company: 'Employer',
			title: 'Job title',
			first_name: 'First name',
			work_email: 'Work email',
			country: 'Country',
			seniority: 'Seniority level',
			linkedin_url: 'LinkedIn'
		};
		const data = (await json(await post(sim, '/enrich-lead', { lead_info: lead, struct }))).structured_data;
		expect(data).toMatchObject({
			company: 'Analytical Engines',
			title: 'VP of Engineering',
			first_name: 'Ada',
			country: 'Germany',
			seniority: 'VP',
			linkedin_url: ADA.linkedin
		});
		expect((data as Record<string, string>).work_email).toMatch(/^ada\.lovelace@analyticalengines\.com$/);
	});

	it('answers nulls with a low confidence when the lead names no person', async () => {
		const sim = createSimulatorApp();
		const body = await json(await post(sim, '/enrich-lead', { lead_info: { company: 'Acme' }, struct: EDUCATION_STRUCT }));
		expect(body.structured_data).toEqual({ title: null, undergrad_university: null, is_american_education: null });
		expect(body.confidence_score).toBeLessThan(2);
	});
});

describe('find-email', () => {
	it('answers [address, status, type] tuples from the name and company domain, 5 cents', async () => {
		const sim = createSimulatorApp({ seed: 1 });
		const res = await post(sim, '/find-email', { lead: { name: 'Ada Lovelace', company: 'Ariglad Inc', title: 'CEO' } });
		const body = await json(res);
		expect(body).toMatchObject({ name: 'Ada Lovelace', company: 'Ariglad Inc', title: 'CEO', cost_cents: 5 });
		expect(body).not.toHaveProperty('personal_email');
		const parsed = v.parse(FindEmailResponseSchema, body);
		for (const found of parsed.email ?? []) {
			expect(found.address).toMatch(/@ariglad\.com$/);
			expect(found.address).toMatch(/ada|lovelace/);
			expect(['OK', 'UNKNOWN']).toContain(found.status);
			expect(found.type).toBe('COMPANY');
		}
	});

	it('uses a given domain or website, and PERSONAL mode adds personal_email at 20 cents', async () => {
		const sim = createSimulatorApp({ seed: 1 });
		const body = await json(
			await post(sim, '/find-email', { lead: { name: 'Grace Hopper', company: 'Navy', domain: 'navy.example' }, mode: 'PERSONAL' })
		);
		expect(body.cost_cents).toBe(20);
		expect(Array.isArray(body.personal_email)).toBe(true);
		const parsed = v.parse(FindEmailResponseSchema, body);
		for (const found of parsed.email ?? []) expect(found.address).toMatch(/@navy\.example$/);
		for (const found of parsed.personal_email ?? []) expect(found.type).toBe('PERSONAL');
	});

	it('returns a lead that already has an email unchanged and charges nothing', async () => {
		const sim = createSimulatorApp();
		const lead = { name: 'Ada Lovelace', company: 'Ariglad Inc', email: 'ada@ariglad.com', extra: 3 };
		expect(await json(await post(sim, '/find-email', { lead }))).toEqual(lead);
		expect(sim.stats().charged_cents).toBe(0);
	});

	it('answers OK, UNKNOWN and NOT_FOUND (as an empty list) across many leads', async () => {
		const sim = createSimulatorApp({ seed: 2 });
		const statuses = new Set<string>();
		for (const lead of LEADS) {
			const body = await json(await post(sim, '/find-email', { lead }));
			const list = body.email as unknown[][];
			statuses.add(list.length === 0 ? 'NOT_FOUND' : String(list[0]![1]));
		}
		expect(statuses).toEqual(new Set(['OK', 'UNKNOWN', 'NOT_FOUND']));
	});

	it('bulk answers {results: [...]} in lead order, each like a single call, at most 100 leads', async () => {
		const sim = createSimulatorApp({ seed: 4 });
		const leads = LEADS.slice(0, 5);
		const bulk = await json(await post(sim, '/find-email-bulk', { leads }));
		const singles = await Promise.all(leads.map(async (lead) => json(await post(sim, '/find-email', { lead }))));
		expect(bulk.results).toEqual(singles);
		const tooMany = await post(sim, '/find-email-bulk', { leads: Array.from({ length: 101 }, () => ({ name: 'X Y' })) });
		expect(tooMany.status).toBe(422);
		expect((await json(tooMany)).detail).toEqual([expect.objectContaining({ loc: ['body', 'leads'], type: 'too_long' })]);
	});
});

describe('enrich-company', () => {
	it('fills the company struct and, with find_people, lists people shaped by lead_struct', async () => {
		const sim = createSimulatorApp({ seed: 9 });
		const body = {
			target_company: { company_name: 'Ariglad Inc', website: 'https://www.ariglad.com' },
			struct: { industry: 'Industry', employee_count: { description: 'Number of employees', type: 'int' }, website: 'Website' },
			find_people: true,
			people_focus_prompt: 'Find the people who lead software engineering',
			lead_struct: { email: 'Work email', is_technical: { description: 'Technical role', type: 'bool' } }
		};
		let sawPeople = false;
		for (const name of ['Ariglad Inc', 'Bluepeak', 'Cobalt Labs', 'Helix', 'Quanta']) {
			const req = { ...body, target_company: { ...body.target_company, company_name: name } };
			const answer = await json(await post(sim, '/company-intelligence', req));
			const parsed = v.parse(EnrichLeadResponseSchema, answer);
			const data = parsed.structured_data;
			expect(data.website).toBe('https://www.ariglad.com'); // given values come back as given
			expect(Number.isInteger(data.employee_count)).toBe(true);
			const leads = data.leads as Array<Record<string, unknown>>;
			expect(Array.isArray(leads)).toBe(true);
			for (const person of leads) {
				sawPeople = true;
				expect(person).toEqual(expect.objectContaining({ name: expect.any(String), title: expect.any(String), company: name }));
				expect(person.email).toMatch(/@ariglad\.com$/);
				expect(person.is_technical).toBe(true);
			}
		}
		expect(sawPeople).toBe(true);
	});

	it('has no leads key without find_people, and requires target_company and struct', async () => {
		const sim = createSimulatorApp();
		const answer = await json(
			await post(sim, '/enrich-company', { target_company: { company_name: 'Acme' }, struct: { industry: 'x' } })
		);
		expect(answer.structured_data).not.toHaveProperty('leads');
		const bad = await post(sim, '/enrich-company', { target_company: 'Acme' });
		expect(bad.status).toBe(422);
		expect(((await json(bad)).detail as Array<{ loc: unknown[] }>).map((d) => d.loc)).toEqual([
			['body', 'target_company'],
			['body', 'struct']
		]);
	});
});

describe('refusals', () => {
	const VALID = { lead_info: ADA, struct: EDUCATION_STRUCT };
	const CASES: Array<{
		label: string;
		options?: SimulatorOptionsInput;
		key?: string | null;
		path?: string;
		body: unknown;
		status: number;
		detail: unknown;
	}> = [
		{ label: 'missing key', key: null, body: VALID, status: 401, detail: 'Invalid API key' },
		{ label: 'empty key', key: '', body: VALID, status: 401, detail: 'Invalid API key' },
		{ label: 'wrong key', options: { apiKey: 'right' }, key: 'wrong', body: VALID, status: 401, detail: 'Invalid API key' },
		{ label: 'high tier', body: { ...VALID, tier: 'high' }, status: 403, detail: "Tier 'high' is not enabled for this API key" },
		{ label: 'no credits', options: { creditsCents: 4 }, body: VALID, status: 402, detail: 'Insufficient credits' },
		{ label: 'malformed JSON', body: '{"lead_info": {', status: 400, detail: 'Invalid JSON body' },
		{ label: 'empty body', body: '', status: 400, detail: 'Invalid JSON body' },
		{
			label: 'missing lead_info',
			body: { struct: {} },
			status: 422,
			detail: [{ loc: ['body', 'lead_info'], msg: 'Field required', type: 'missing' }]
		},
		{ label: 'body not an object', body: [1, 2], status: 422, detail: [expect.objectContaining({ loc: ['body'], type: 'dict_type' })] },
		{
			label: 'lead_info not an object',
			body: { lead_info: 'Ada' },
			status: 422,
			detail: [expect.objectContaining({ loc: ['body', 'lead_info'], type: 'dict_type' })]
		},
		{
			label: 'unknown tier',
			body: { ...VALID, tier: 'ultra' },
			status: 422,
			detail: [
				expect.objectContaining({ loc: ['body', 'tier'], type: 'enum', msg: "Input should be 'low', 'medium', 'high' or 'xhigh'" })
			]
		},
		{
			label: 'find-email without lead',
			path: '/find-email',
			body: { mode: 'PERSONAL' },
			status: 422,
			detail: [expect.objectContaining({ loc: ['body', 'lead'] })]
		},
		{
			label: 'find-email bad mode',
			path: '/find-email',
			body: { lead: {}, mode: 'WORK' },
			status: 422,
			detail: [expect.objectContaining({ loc: ['body', 'mode'] })]
		},
		{ label: 'unknown path', path: '/nope', body: {}, status: 404, detail: 'Not Found' }
	];

	it.each(CASES)('$label → $status', async ({ options, key, path, body, status, detail }) => {
		const sim = createSimulatorApp(options);
		const res = await post(sim, path ?? '/enrich-lead', body, key === undefined ? 'test-key' : key);
		expect(res.status).toBe(status);
		const answer = await json(res);
		expect(answer.detail).toEqual(detail);
		expect(errorMessageOf(answer)).toBeTruthy();
		expect(sim.stats().charged_cents).toBe(0);
	});

	it('accepts high tiers when allowed, and the configured key', async () => {
		const sim = createSimulatorApp({ allowHighTier: true, apiKey: 'right' });
		expect((await post(sim, '/enrich-lead', { ...VALID, tier: 'xhigh' }, 'right')).status).toBe(200);
	});

	it('stops at 402 once the credits are spent', async () => {
		const sim = createSimulatorApp({ creditsCents: 12 });
		const statuses: number[] = [];
		for (const lead of LEADS.slice(0, 4)) statuses.push((await post(sim, '/enrich-lead', { lead_info: lead })).status);
		expect(statuses).toEqual([200, 200, 402, 402]);
		expect(sim.stats()).toMatchObject({ charged_cents: 10, credits_cents: 2 });
	});
});

describe('stats', () => {
	it('counts calls, statuses, money and paid duplicates; reset zeroes them', async () => {
		const sim = createSimulatorApp();
		await post(sim, '/enrich-lead', { lead_info: ADA });
		await post(sim, '/enrich-lead', { lead_info: ADA });
		await post(sim, '/find-email', { lead: ADA, mode: 'PERSONAL' });
		await post(sim, '/find-email', { lead: ADA }, null);
		const res = await sim.app.request('/__sim/stats');
		const stats = v.parse(SimStatsSchema, await res.json());
		expect(stats).toMatchObject({
			requests: 4,
			calls: { '/enrich-lead': 2, '/find-email': 2 },
			statuses: { '200': 3, '401': 1 },
			charged_cents: 5 + 5 + 20,
			paid_answers: 3,
			duplicates_paid: 1,
			concurrent: 0,
			concurrent_peak: 1
		});
		expect(Object.values(stats.paid_by_request).sort()).toEqual([1, 2]);
		await sim.app.request('/__sim/reset', { method: 'POST' });
		expect(sim.stats()).toMatchObject({ requests: 0, calls: {}, charged_cents: 0, paid_by_request: {}, duplicates_paid: 0 });
	});
});
