/**
 * What each endpoint would do with a valid body, before any latency or fault: its price, its
 * reason to refuse (403 tier, 402 credits), and how to build the answer. Sync and async routes
 * share these, so `/enrich-lead` and `/enrich-lead-async` answer the same thing and charge the
 * same request key.
 */
import { enrichCompanyAnswer, enrichLeadAnswer } from './fake/enrich';
import { findEmailAnswer } from './fake/email';
import { findPhoneAnswer } from './fake/phone';
import type { Charge, TaskType } from './jobs';
import type { SimEndpoint } from './options';
import { hashKey } from './prng';
import type { EnrichCompanyBody, EnrichLeadBody, FindEmailBody, FindEmailBulkBody, FindPhoneBody } from './request-schemas';
import type { SimulatorState } from './state';

export interface Plan {
	/** Latency class of the work itself (the sync call, or the async job's run time). */
	endpoint: SimEndpoint;
	taskType: TaskType;
	/** Refuse with this before doing anything (403 tier, 402 credits). */
	refusal: { status: 402 | 403; detail: string } | null;
	answer: () => { body: unknown; charges: Charge[] };
	/** Where an async job's completion is POSTed (null: the client polls). */
	webhookUrl: string | null;
}

const HIGH_TIERS = new Set(['high', 'xhigh']);

/** Request fields that do not change the answer (where to send it, benchmarking). */
function answerShaping<T extends { webhook_url?: unknown; benchmark?: unknown }>(body: T): Omit<T, 'webhook_url' | 'benchmark'> {
	const { webhook_url: _webhook, benchmark: _benchmark, ...rest } = body;
	return rest;
}

function refusalFor(state: SimulatorState, tier: string | null | undefined, cents: number): Plan['refusal'] {
	if (tier && HIGH_TIERS.has(tier) && !state.options.allowHighTier) {
		return { status: 403, detail: `Tier '${tier}' is not enabled for this API key` };
	}
	if (cents > 0 && !state.canAfford(cents)) return { status: 402, detail: 'Insufficient credits' };
	return null;
}

export function enrichLeadPlan(state: SimulatorState, body: EnrichLeadBody): Plan {
	const cents = state.options.prices.enrich_lead;
	const key = `enrich_lead:${hashKey(answerShaping(body))}`;
	const seed = state.options.seed;
	return {
		endpoint: 'enrich_lead',
		taskType: 'lead_enrichment',
		refusal: refusalFor(state, body.tier, cents),
		answer: () => ({ body: enrichLeadAnswer(answerShaping(body), seed), charges: [{ key, cents }] }),
		webhookUrl: body.webhook_url ?? null
	};
}

export function enrichCompanyPlan(state: SimulatorState, body: EnrichCompanyBody): Plan {
	const cents = state.options.prices.enrich_company;
	const key = `enrich_company:${hashKey(answerShaping(body))}`;
	const seed = state.options.seed;
	return {
		endpoint: 'enrich_company',
		taskType: 'company_enrichment',
		refusal: refusalFor(state, body.tier, cents),
		answer: () => ({ body: enrichCompanyAnswer(answerShaping(body), seed), charges: [{ key, cents }] }),
		webhookUrl: body.webhook_url ?? null
	};
}

/** One lead's answer and charge; a lead that already has an e-mail is free and uncharged. */
function emailFor(state: SimulatorState, lead: Record<string, unknown>, body: FindEmailBody | FindEmailBulkBody) {
	const answer = findEmailAnswer(lead, body.mode, body.verify_emails, state.options.seed, state.options.prices);
	const charges: Charge[] =
		answer.costCents > 0 ? [{ key: `find_email:${hashKey({ lead, mode: body.mode })}`, cents: answer.costCents }] : [];
	return { body: answer.body, charges };
}

export function findEmailPlan(state: SimulatorState, body: FindEmailBody): Plan {
	const result = emailFor(state, body.lead, body);
	return {
		endpoint: 'find_email',
		taskType: 'find_email',
		refusal: refusalFor(state, null, sum(result.charges)),
		answer: () => result,
		webhookUrl: body.webhook_url ?? null
	};
}

/** Bulk answer: `{ results: [one find-email answer per lead, in order] }` (our choice; undocumented). */
export function findEmailBulkPlan(state: SimulatorState, body: FindEmailBulkBody): Plan {
	const each = body.leads.map((lead) => emailFor(state, lead, body));
	const charges = each.flatMap((e) => e.charges);
	return {
		endpoint: 'find_email_bulk',
		taskType: 'find_email_bulk',
		refusal: refusalFor(state, null, sum(charges)),
		answer: () => ({ body: { results: each.map((e) => e.body) }, charges }),
		webhookUrl: body.webhook_url ?? null
	};
}

/** One lead's phone search; a lead that already has a phone is free and uncharged. */
export function findPhonePlan(state: SimulatorState, body: FindPhoneBody): Plan {
	const answer = findPhoneAnswer(body.lead, state.options.seed, state.options.prices.find_phone);
	const charges: Charge[] = answer.costCents > 0 ? [{ key: `find_phone:${hashKey({ lead: body.lead })}`, cents: answer.costCents }] : [];
	return {
		endpoint: 'find_phone',
		taskType: 'find_phone',
		refusal: refusalFor(state, null, sum(charges)),
		answer: () => ({ body: answer.body, charges }),
		webhookUrl: body.webhook_url ?? null
	};
}

function sum(charges: readonly Charge[]): number {
	return charges.reduce((total, c) => total + c.cents, 0);
}
