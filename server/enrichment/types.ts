/**
 * What blocks need from the enrichment layer. The implementation (client + scheduler + cache)
 * lives beside this file; blocks and tests depend only on this interface.
 */
import type {
	EnrichCompanyRequest,
	EnrichCompanyResponse,
	EnrichLeadRequest,
	EnrichLeadResponse,
	FindEmailRequest,
	FindEmailResponse,
	FindPhoneRequest,
	FindPhoneResponse
} from './sixtyfour-schemas';

/** Accounting a block passes down; the service adds to it as requests happen. */
export interface CallMeter {
	/** API calls made: one per answer the cache did not have (what is billed), polls and retries not counted. */
	calls: number;
	/** HTTP requests sent for those calls: submits, polls, retries (≥ calls with async tasks). */
	requests: number;
	/** Answers served from the cache (or joined onto an identical in-flight request). */
	cached: number;
	costCents: number;
	/** Requests currently held back by the rate limiter or a Retry-After. */
	waiting: number;
	/**
	 * When (ms since the epoch) the API last said this call's async task was running: set at its
	 * submission and at every poll that found it running; its answer came later than that. Unset
	 * for a synchronous call, and cleared by a webhook (whose time is exact). The ETA's latency
	 * model reads it (server/engine/eta-model.ts).
	 */
	runningAt?: number | undefined;
}

export interface CallOptions {
	signal: AbortSignal;
	meter: CallMeter;
}

export interface EnrichmentService {
	enrichLead(request: EnrichLeadRequest, options: CallOptions): Promise<EnrichLeadResponse>;
	findEmail(request: FindEmailRequest, options: CallOptions): Promise<FindEmailResponse>;
	/** `/enrich-company`; with `find_people` the people found are in `people` (null: the answer had no list). */
	enrichCompany(request: EnrichCompanyRequest, options: CallOptions): Promise<EnrichCompanyResponse>;
	/** Requests per minute the key's scheduler allows now (configured, or learnt from the API's headers). */
	rateLimitPerMinute?(): number;
	/** `/find-phone`: the numbers found for a lead, best first (none: an empty list). */
	findPhone(request: FindPhoneRequest, options: CallOptions): Promise<FindPhoneResponse>;
}

/**
 * A failed call. `fatal` failures (401/402/403) stop the whole job; the others are row errors.
 */
export class EnrichmentError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		readonly fatal: boolean
	) {
		super(message);
		this.name = 'EnrichmentError';
	}
}
