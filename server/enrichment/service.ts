/**
 * The enrichment service blocks call: cache → scheduler → client. enrich-lead and enrich-company go
 * through their async endpoints by default (the task id is checkpointed before polling, so a crash
 * or a cancel never pays twice for a row); find-email and find-phone, a few seconds long, stay
 * synchronous (find-phone's async form on request).
 *
 * Cost is reported through the caller's `CallMeter` only: answers carry no cost field (a cached
 * answer costs nothing, and the same object may be served from the cache many times).
 */
import { setMaxListeners } from 'node:events';
import {
	ENRICH_COMPANY,
	ENRICH_LEAD,
	FIND_EMAIL,
	FIND_PHONE,
	TaskEndedError,
	UnsafeTaskIdError,
	createSixtyfourClient,
	type AwaitTaskOptions,
	type SixtyfourClient
} from './sixtyfour-client';
import { createResponseCache, type CacheStats, type MissContext, type ResponseCache } from './cache';
import { createFindEmailBatcher } from './find-email-batcher';
import type { TaskWebhooks } from './task-webhooks';
import { getScheduler, type Scheduler, type SchedulerStats } from './scheduler';
import type { PollTimingOptions } from './poll-timing';
import type { FindEmailRequest, FindPhoneRequest, FindPhoneResponse } from './sixtyfour-schemas';
import type { CallOptions } from './types';
import { EnrichmentError, type EnrichmentService } from './types';
import type { StoreHandle } from '../store/store';

export interface EnrichmentServiceOptions {
	apiKey: string;
	/** Default `https://api.sixtyfour.ai`. */
	baseUrl?: string;
	/** The database of the cache and task checkpoints (a Store; a SQLite handle in tests). */
	db: StoreHandle;
	/** Requests per minute for this key, polls included (default 500, the lower documented figure); the API's `X-RateLimit-*` headers adjust it. */
	rateLimitPerMinute?: number;
	/** Never use more than this, whatever the headers say (default: no ceiling). */
	maxRatePerMinute?: number;
	/** Ceiling of the adaptive in-flight cap (default 100). */
	maxInFlight?: number;
	/**
	 * Use `/enrich-lead-async`, `/enrich-company-async` + polling (default true: survives a crash,
	 * holds no socket for minutes); `/find-phone-async` only when asked (default false: a few seconds).
	 */
	asyncMode?: { enrichLead?: boolean; enrichCompany?: boolean; findPhone?: boolean };
	/** Timeout of one short request — submit, poll, find-email (default 60 s). */
	requestTimeoutMs?: number;
	/** Timeout of a synchronous /enrich-lead (default 15 min, as Sixtyfour advises). */
	syncEnrichTimeoutMs?: number;
	/** Attempts per request, the first included (default 4). */
	maxAttempts?: number;
	/** Cache entries older than this are refetched (ms; 0 = forever, the default). */
	cacheTtlMs?: number;
	polling?: PollTimingOptions;
	/**
	 * Group find-email lookups into `/find-email-bulk` requests of up to 100 leads (default false:
	 * the bulk answer's shape is undocumented; the simulator's is known).
	 */
	findEmailBulk?: boolean | { lingerMs?: number; maxBatch?: number };
	/** Async answers by webhook (PUBLIC_URL): submits carry its URL, polls become the fallback. */
	webhooks?: TaskWebhooks;
	/** Told about things an operator should know once (e.g. a bulk answer we could not read). */
	onNotice?: (message: string) => void;
	/** Injectable for tests. */
	fetch?: typeof fetch;
	/** Use this scheduler instead of the process-wide one for the key (tests, isolation). */
	scheduler?: Scheduler;
}

/** An EnrichmentService with its live figures (for /api stats, the CLI summary, benchmarks). */
export interface EnrichmentServiceHandle extends EnrichmentService {
	stats(): { scheduler: SchedulerStats; cache: CacheStats };
	readonly client: SixtyfourClient;
	readonly cache: ResponseCache;
}

/** The registry key of a (base URL, API key) pair: the same key against another server is another budget. */
export function schedulerKey(baseUrl: string, apiKey: string): string {
	return `${baseUrl.replace(/\/+$/, '')} ${apiKey}`;
}

/**
 * Builds the service for one API key. The scheduler is shared by every service of the same key and
 * base URL in the process, so two jobs never exceed the key's limits together.
 * @example createEnrichmentService({ apiKey, db: openDatabase('data/app.db') })
 */
export function createEnrichmentService(options: EnrichmentServiceOptions): EnrichmentServiceHandle {
	if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
		throw new EnrichmentError('a Sixtyfour API key is required (SIXTYFOUR_API_KEY)', null, true);
	}
	const baseUrl = (options.baseUrl ?? 'https://api.sixtyfour.ai').replace(/\/+$/, '');
	const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
	const scheduler =
		options.scheduler ??
		getScheduler(schedulerKey(baseUrl, options.apiKey), {
			ratePerMinute: options.rateLimitPerMinute ?? 500,
			maxRatePerMinute: options.maxRatePerMinute,
			maxInFlight: options.maxInFlight ?? 100,
			maxAttempts: options.maxAttempts ?? 4,
			requestTimeoutMs
		});
	const client = createSixtyfourClient({
		apiKey: options.apiKey,
		baseUrl,
		scheduler,
		fetch: options.fetch,
		maxAttempts: options.maxAttempts,
		requestTimeoutMs,
		syncEnrichTimeoutMs: options.syncEnrichTimeoutMs,
		polling: options.polling,
		webhooks: options.webhooks
	});
	const cache = createResponseCache({ db: options.db, ttlMs: options.cacheTtlMs });
	const bulk = options.findEmailBulk;
	const batcher = bulk
		? createFindEmailBatcher({
				...(typeof bulk === 'object' ? bulk : {}),
				sendBulk: (request, call) => client.findEmailBulk(request, call),
				single: (request, call) => client.findEmail(request, call),
				onUnrecognised: options.onNotice
			})
		: null;
	const asyncLead = options.asyncMode?.enrichLead ?? true;
	const asyncCompany = options.asyncMode?.enrichCompany ?? true;
	const asyncPhone = options.asyncMode?.findPhone ?? false;

	/** How one endpoint's async task is submitted and awaited. */
	interface TaskCalls<Req, Res> {
		endpoint: string;
		submitAndAwait: (request: Req, call: CallOptions & { onSubmitted: (taskId: string) => Promise<void> }) => Promise<Res>;
		await: (taskId: string, call: AwaitTaskOptions) => Promise<Res>;
	}
	const leadTask: TaskCalls<Parameters<SixtyfourClient['enrichLead']>[0], Awaited<ReturnType<SixtyfourClient['enrichLead']>>> = {
		endpoint: ENRICH_LEAD,
		submitAndAwait: (request, call) => client.enrichLeadAsync(request, call),
		await: (taskId, call) => client.awaitEnrichLead(taskId, call)
	};
	const companyTask: TaskCalls<Parameters<SixtyfourClient['enrichCompany']>[0], Awaited<ReturnType<SixtyfourClient['enrichCompany']>>> = {
		endpoint: ENRICH_COMPANY,
		submitAndAwait: (request, call) => client.enrichCompanyAsync(request, call),
		await: (taskId, call) => client.awaitEnrichCompany(taskId, call)
	};

	const phoneTask: TaskCalls<FindPhoneRequest, FindPhoneResponse & { cost_cents: number }> = {
		endpoint: FIND_PHONE,
		submitAndAwait: (request, call) => client.findPhoneAsync(request, call),
		await: (taskId, call) => client.awaitFindPhone(taskId, call)
	};

	/** Resume the checkpointed task of this request if there is one, else submit and checkpoint. */
	async function viaTask<Req, Res>(task: TaskCalls<Req, Res>, request: Req, { key, signal, meter }: MissContext): Promise<Res> {
		const pending = await cache.pendingTask(key);
		if (pending) {
			try {
				return await task.await(pending.taskId, { signal, meter, submittedAt: pending.createdAt, resumed: true });
			} catch (error) {
				if (!(error instanceof EnrichmentError && error.status === 404)) throw await forgetIfEnded(error, key);
				await cache.clearPendingTask(key); // the server no longer knows the task: submit afresh
			}
		}
		try {
			return await task.submitAndAwait(request, {
				signal,
				meter,
				onSubmitted: (taskId) => cache.savePendingTask(key, task.endpoint, taskId)
			});
		} catch (error) {
			throw await forgetIfEnded(error, key);
		}
	}

	/** A task that ended badly, vanished or must never be polled is no longer worth resuming; anything else may be. */
	async function forgetIfEnded(error: unknown, key: string): Promise<unknown> {
		if (
			error instanceof TaskEndedError ||
			error instanceof UnsafeTaskIdError ||
			(error instanceof EnrichmentError && error.status === 404)
		) {
			// Best effort: the error is what the caller needs; a row left behind is tried once more and cleared then.
			await cache.clearPendingTask(key).catch(() => {});
		}
		return error;
	}

	return {
		client,
		cache,
		stats: () => ({ scheduler: scheduler.stats(), cache: cache.stats() }),
		rateLimitPerMinute: () => scheduler.stats().ratePerMinute,
		enrichLead(request, call) {
			allowManyWaiters(call.signal);
			return cache.getOrCall(ENRICH_LEAD, request, call, async (context) => {
				const { cost_cents, ...value } = asyncLead
					? await viaTask(leadTask, request, context)
					: await client.enrichLead(request, { signal: context.signal, meter: context.meter });
				return { value, costCents: cost_cents ?? 0 };
			});
		},
		enrichCompany(request, call) {
			allowManyWaiters(call.signal);
			return cache.getOrCall(ENRICH_COMPANY, request, call, async (context) => {
				const { cost_cents, ...value } = asyncCompany
					? await viaTask(companyTask, request, context)
					: await client.enrichCompany(request, { signal: context.signal, meter: context.meter });
				return { value, costCents: cost_cents ?? 0 };
			});
		},
		findPhone(request, call) {
			allowManyWaiters(call.signal);
			return cache.getOrCall(FIND_PHONE, request, call, async (context) => {
				const { cost_cents, ...value } = asyncPhone
					? await viaTask(phoneTask, request, context)
					: await client.findPhone(request, { signal: context.signal, meter: context.meter });
				return { value: { ...value, cost_cents: null }, costCents: cost_cents };
			});
		},
		findEmail(request: FindEmailRequest, call) {
			allowManyWaiters(call.signal);
			const keyed = { ...request, mode: request?.mode ?? 'PROFESSIONAL' };
			return cache.getOrCall(FIND_EMAIL, keyed, call, async ({ signal, meter }) => {
				const answer = batcher
					? await batcher.lookup(request, { signal, meter })
					: await client.findEmail(request, { signal, meter });
				return { value: { ...answer, cost_cents: null }, costCents: answer.cost_cents ?? 0 };
			});
		}
	};
}

/**
 * A job's signal is shared by every row it has in flight (hundreds with async calls), each adding
 * an abort listener that is removed when the call settles: that is expected, not a leak, so lift
 * Node's warning threshold for this signal.
 */
function allowManyWaiters(signal: AbortSignal): void {
	if (signal instanceof EventTarget) setMaxListeners(0, signal);
}
