/**
 * The spend limit inside a running job: an EnrichmentService that asks the budget before every
 * call and records every charge the moment the API reports it.
 *
 * What "pause" means: a call starts only if its price bound fits what is left today (calls in
 * flight included). When the next call does not fit, the job starts no new call and lets the ones
 * in flight finish — they are paid for, and their answers land in the cache. Once none is left in
 * flight and the call still does not fit, `onExhausted` is called once: the job manager stops the
 * run and marks it `paused`. Resuming re-runs the job from the start, where the cache answers every
 * row already paid for (and checkpointed async tasks are polled, not resubmitted), so a pause
 * wastes nothing.
 */
import { setMaxListeners } from 'node:events';
import { ENRICH_COMPANY_ASSUMED_CENTS } from '../../src/lib/workflow/blocks/enrich-company';
import { ENRICH_LEAD_ASSUMED_CENTS } from '../../src/lib/workflow/blocks/enrich-lead';
import { FIND_EMAIL_CENTS } from '../../src/lib/workflow/blocks/find-email';
import { FIND_PHONE_ASSUMED_CENTS } from '../../src/lib/workflow/blocks/find-phone';
import type { EnrichCompanyRequest, EnrichLeadRequest, FindEmailRequest } from '../enrichment/sixtyfour-schemas';
import type { CallMeter, CallOptions, EnrichmentService } from '../enrichment/types';
import { dollars, type SpendBudget } from './spend-budget';

export interface BudgetGateOptions {
	service: EnrichmentService;
	budget: SpendBudget;
	/** The job's owner (its workflow, or `client:<address>`); null: only the server budget. */
	owner: string | null;
	/** Called once, when nothing of this job is in flight and its next call does not fit: stop the job. */
	onExhausted: (message: string) => void;
}

/** The most one call can cost (the blocks' price lists, as the estimate uses them): what a call reserves while in flight. */
export const priceOf = {
	enrichLead: (request: EnrichLeadRequest) => ENRICH_LEAD_ASSUMED_CENTS[request.tier ?? 'low'],
	enrichCompany: (request: EnrichCompanyRequest) => ENRICH_COMPANY_ASSUMED_CENTS[request.tier ?? 'low'],
	findEmail: (request: FindEmailRequest) => FIND_EMAIL_CENTS[request.mode ?? 'PROFESSIONAL'],
	findPhone: () => FIND_PHONE_ASSUMED_CENTS
};

/**
 * Wraps `service` for one job.
 * @example runJob({ ..., enrichment: createBudgetGate({ service, budget, owner, onExhausted: (m) => controller.abort(new BudgetPause(m)) }) })
 */
export function createBudgetGate(options: BudgetGateOptions): EnrichmentService {
	const { service, budget, owner } = options;
	let inFlight = 0;
	let exhausted = false;
	let waiters: (() => void)[] = [];
	const wake = () => {
		const list = waiters;
		waiters = [];
		for (const resolve of list) resolve();
	};

	async function admit(cents: number, signal: AbortSignal): Promise<void> {
		for (;;) {
			if (signal.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
			if (budget.tryReserve(owner, cents)) {
				inFlight++;
				return;
			}
			if (inFlight === 0 && !exhausted) {
				exhausted = true;
				options.onExhausted(pauseMessage(cents));
			}
			// Wait for one of this job's calls to settle (freeing its reservation) or for the stop.
			if (signal instanceof EventTarget) setMaxListeners(0, signal);
			await new Promise<void>((resolve) => {
				const done = () => {
					signal.removeEventListener('abort', done);
					resolve();
				};
				waiters.push(done);
				signal.addEventListener('abort', done, { once: true });
			});
		}
	}

	function pauseMessage(cents: number): string {
		const short = budget.shortfall(owner, cents);
		const what = short
			? `${short.describe[0].toUpperCase()}${short.describe.slice(1)}`
			: `The daily spend limit has no room for the next call (${dollars(cents)})`;
		const raise = short ? ` or once ${short.setting} is raised` : '';
		return `Paused at the spend limit. ${what}. Resume after 00:00 UTC${raise}, or cancel the run.`;
	}

	/** A meter that forwards everything to the block's and records each charge as it happens. */
	function chargingMeter(target: CallMeter): CallMeter {
		return {
			get calls() {
				return target.calls;
			},
			set calls(value) {
				target.calls = value;
			},
			get requests() {
				return target.requests;
			},
			set requests(value) {
				target.requests = value;
			},
			get cached() {
				return target.cached;
			},
			set cached(value) {
				target.cached = value;
			},
			get waiting() {
				return target.waiting;
			},
			set waiting(value) {
				target.waiting = value;
			},
			get costCents() {
				return target.costCents;
			},
			set costCents(value) {
				const charged = value - target.costCents;
				target.costCents = value;
				if (charged > 0) budget.record(owner, charged);
			}
		};
	}

	function gated<Req, Res>(call: (request: Req, options: CallOptions) => Promise<Res>, price: (request: Req) => number) {
		return async (request: Req, call_: CallOptions): Promise<Res> => {
			const cents = price(request);
			await admit(cents, call_.signal);
			try {
				return await call(request, { signal: call_.signal, meter: chargingMeter(call_.meter) });
			} finally {
				inFlight--;
				budget.release(owner, cents);
				wake();
			}
		};
	}

	return {
		enrichLead: gated((r, o) => service.enrichLead(r, o), priceOf.enrichLead),
		enrichCompany: gated((r, o) => service.enrichCompany(r, o), priceOf.enrichCompany),
		findEmail: gated((r, o) => service.findEmail(r, o), priceOf.findEmail),
		findPhone: gated((r, o) => service.findPhone(r, o), priceOf.findPhone),
		// Not a call: the run panel's learnt rate limit passes straight through.
		...(service.rateLimitPerMinute ? { rateLimitPerMinute: () => service.rateLimitPerMinute!() } : {})
	};
}
