/**
 * Typed Sixtyfour client over global `fetch`. Every HTTP request — submit, poll, retry — goes
 * through the key's scheduler; answers are parsed with the lenient schemas of
 * `sixtyfour-schemas.ts`; failures become `EnrichmentError`s (fatal for 401/402/403, row errors
 * otherwise). Cost (`cost_cents`, `charge_amount`) is added to the caller's meter as it is charged.
 */
import * as v from 'valibot';
import { sleep } from './abortable';
import { errorForStatus } from './http-errors';
import { PollTiming, type PollTimingOptions } from './poll-timing';
import { REDACTED, createRedactor } from './redact';
import { readRateLimitHeaders } from './rate-limit-headers';
import type { TaskWebhooks } from './task-webhooks';
import { AttemptsExhaustedError, RetryableError, type Scheduler } from './scheduler';
import {
	AsyncSubmitSchema,
	EnrichCompanyRequestSchema,
	EnrichCompanyResponseSchema,
	EnrichLeadRequestSchema,
	EnrichLeadResponseSchema,
	FindEmailRequestSchema,
	FindEmailResponseSchema,
	FindPhoneRequestSchema,
	FindPhoneResponseSchema,
	JobStatusSchema,
	type EnrichCompanyRequest,
	type EnrichCompanyResponse,
	type EnrichLeadRequest,
	type EnrichLeadResponse,
	type FindEmailRequest,
	type FindEmailResponse,
	type FindPhoneRequest,
	type FindPhoneResponse
} from './sixtyfour-schemas';
import { EnrichmentError, type CallOptions } from './types';

export const ENRICH_LEAD = '/enrich-lead';
export const FIND_EMAIL = '/find-email';
export const FIND_EMAIL_BULK = '/find-email-bulk';
export const ENRICH_COMPANY = '/enrich-company';
export const FIND_PHONE = '/find-phone';

/** An async task reached an end state other than completed (failed, cancelled, timed_out…). */
export class TaskEndedError extends EnrichmentError {
	constructor(
		message: string,
		readonly state: string
	) {
		super(message, null, false);
		this.name = 'TaskEndedError';
	}
}

/**
 * The API answered with a task id that held the API key. It is never polled (that would put the
 * key in a URL) nor checkpointed; the job stops, since an API that does this once does it for
 * every row, and each of those submits may be charged.
 */
export class UnsafeTaskIdError extends EnrichmentError {
	constructor(what: string) {
		super(`${what}: Sixtyfour answered with a task id that contains the API key; refused (not polled)`, null, true);
		this.name = 'UnsafeTaskIdError';
	}
}

export interface SixtyfourClientOptions {
	apiKey: string;
	/** Default `https://api.sixtyfour.ai`. */
	baseUrl?: string;
	scheduler: Scheduler;
	/** Default: global fetch. */
	fetch?: typeof fetch;
	/** Attempts per request (default: the scheduler's). */
	maxAttempts?: number;
	/** Timeout of short requests: submits, polls, find-email (default: the scheduler's). */
	requestTimeoutMs?: number;
	/** Timeout of the synchronous /enrich-lead, which can legitimately take minutes (default 15 min). */
	syncEnrichTimeoutMs?: number;
	/** Give up waiting for an async task after this long (default 20 min); the task may be resumed. */
	taskTimeoutMs?: number;
	polling?: PollTimingOptions;
	/** With a public URL: async submits carry its `webhook_url`, and answers arrive by webhook (polls only as the fallback). */
	webhooks?: TaskWebhooks;
	now?: () => number;
}

/**
 * Hears the outcome of every HTTP attempt (metrics): the endpoint path (`/enrich-lead-async`,
 * `/job-status`, …) and the status, or `network_error` / `timeout` when no answer came.
 */
export type ApiResponseListener = (endpoint: string, status: number | 'network_error' | 'timeout') => void;

export interface AwaitTaskOptions extends CallOptions {
	/** When the task was submitted (ms, the client's clock), if known — e.g. a resumed task. */
	submittedAt?: number;
	/** A task checkpointed by an earlier run: its age includes downtime, not only API latency. */
	resumed?: boolean;
}

export interface SixtyfourClient {
	/** `POST /enrich-lead`: one request, holds a socket until the answer. */
	enrichLead(request: EnrichLeadRequest, options: CallOptions): Promise<EnrichLeadResponse>;
	/** `POST /enrich-lead-async`: the task id to poll. */
	submitEnrichLead(request: EnrichLeadRequest, options: CallOptions): Promise<string>;
	/** Polls `GET /job-status/{id}` until the enrich-lead task ends. */
	awaitEnrichLead(taskId: string, options: AwaitTaskOptions): Promise<EnrichLeadResponse>;
	/** Submit then poll; `onSubmitted` runs before the first poll (checkpoint the task id there). */
	enrichLeadAsync(
		request: EnrichLeadRequest,
		options: CallOptions & { onSubmitted?: (taskId: string) => void | Promise<void> }
	): Promise<EnrichLeadResponse>;
	/** `POST /enrich-company`: one request, holds a socket until the answer. */
	enrichCompany(request: EnrichCompanyRequest, options: CallOptions): Promise<EnrichCompanyResponse>;
	/** `POST /enrich-company-async`: the task id to poll. */
	submitEnrichCompany(request: EnrichCompanyRequest, options: CallOptions): Promise<string>;
	/** Polls `GET /job-status/{id}` until the enrich-company task ends. */
	awaitEnrichCompany(taskId: string, options: AwaitTaskOptions): Promise<EnrichCompanyResponse>;
	/** Submit then poll; `onSubmitted` runs before the first poll (checkpoint the task id there). */
	enrichCompanyAsync(
		request: EnrichCompanyRequest,
		options: CallOptions & { onSubmitted?: (taskId: string) => void | Promise<void> }
	): Promise<EnrichCompanyResponse>;
	/** `POST /find-email`. */
	findEmail(request: FindEmailRequest, options: CallOptions): Promise<FindEmailResponse>;
	/** `POST /find-email-bulk` (≤ 100 leads): the raw answer, whose undocumented shape the caller checks (find-email-batcher.ts). */
	findEmailBulk(
		request: { leads: FindEmailRequest['lead'][]; mode: string; verify_emails: boolean },
		options: CallOptions
	): Promise<unknown>;
	/** `POST /find-phone`: one request, a few seconds. */
	findPhone(request: FindPhoneRequest, options: CallOptions): Promise<FindPhoneResponse & { cost_cents: number }>;
	/** `POST /find-phone-async`: the task id to poll. */
	submitFindPhone(request: FindPhoneRequest, options: CallOptions): Promise<string>;
	/** Polls `GET /job-status/{id}` until the find-phone task ends. */
	awaitFindPhone(taskId: string, options: AwaitTaskOptions): Promise<FindPhoneResponse & { cost_cents: number }>;
	/** Submit then poll; `onSubmitted` runs before the first poll (checkpoint the task id there). */
	findPhoneAsync(
		request: FindPhoneRequest,
		options: CallOptions & { onSubmitted?: (taskId: string) => void | Promise<void> }
	): Promise<FindPhoneResponse & { cost_cents: number }>;
	/** The clock the client measures task ages with (for `submittedAt`). */
	now(): number;
	/** Adds a listener of every attempt's outcome; returns the function that removes it. */
	observe(listener: ApiResponseListener): () => void;
}

/** Builds a client bound to one key and its scheduler. */
export function createSixtyfourClient(options: SixtyfourClientOptions): SixtyfourClient {
	const baseUrl = (options.baseUrl ?? 'https://api.sixtyfour.ai').replace(/\/+$/, '');
	const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
	const timing = new PollTiming(options.polling);
	const now = options.now ?? (() => Date.now());
	const syncTimeout = options.syncEnrichTimeoutMs ?? 15 * 60_000;
	const taskTimeout = options.taskTimeoutMs ?? 20 * 60_000;
	const listeners = new Set<ApiResponseListener>();
	/**
	 * An API may echo the key back anywhere — an error ("Invalid API key: sk-…"), a task id, a result
	 * field: every answer is parsed through this, so the key reaches no message, row, frame or log.
	 */
	const redactor = createRedactor(options.apiKey);
	const redact = redactor.text;
	const notify = (endpoint: string, status: Parameters<ApiResponseListener>[1]) => {
		for (const listener of listeners) {
			try {
				listener(endpoint, status);
			} catch {
				// An observer's failure must never fail a paid call.
			}
		}
	};

	/** One logical request (with retries) → parsed JSON body of a 2xx answer. */
	async function request(method: 'GET' | 'POST', path: string, body: unknown, call: CallOptions, timeoutMs?: number): Promise<unknown> {
		const endpoint = path.startsWith('/job-status/') ? '/job-status' : path;
		const what = `${method} ${endpoint}`;
		try {
			return await options.scheduler.run(
				async (signal) => {
					let response: Response;
					let text: string;
					try {
						response = await fetchImpl(`${baseUrl}${path}`, {
							method,
							headers: {
								'x-api-key': options.apiKey,
								accept: 'application/json',
								...(body === undefined ? {} : { 'content-type': 'application/json' })
							},
							body: body === undefined ? undefined : JSON.stringify(body),
							signal
						});
						text = await response.text();
					} catch (error) {
						if (signal.aborted) {
							if ((signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError') notify(endpoint, 'timeout');
							throw error;
						}
						notify(endpoint, 'network_error');
						throw new RetryableError(`${what}: network error (${describeError(error)})`, null);
					}
					notify(endpoint, response.status);
					options.scheduler.observeLimits(readRateLimitHeaders(response.headers));
					if (!response.ok) throw errorForStatus(response.status, text, response.headers.get('retry-after'), what, redactor);
					try {
						return redactor.json(text);
					} catch {
						throw new RetryableError(`${what}: malformed JSON in the ${response.status} answer`, response.status);
					}
				},
				{
					signal: call.signal,
					meter: call.meter,
					maxAttempts: options.maxAttempts,
					timeoutMs: timeoutMs ?? options.requestTimeoutMs
				}
			);
		} catch (error) {
			if (error instanceof AttemptsExhaustedError) {
				throw new EnrichmentError(`Sixtyfour ${error.message}`, error.cause.status, false);
			}
			throw error;
		}
	}

	function parse<S extends v.GenericSchema>(schema: S, data: unknown, what: string): v.InferOutput<S> {
		const result = v.safeParse(schema, data);
		if (result.success) return result.output;
		const issue = result.issues[0];
		const path = v.getDotPath(issue);
		throw new EnrichmentError(redact(`${what}: unexpected answer shape (${path ? `${path}: ` : ''}${issue.message})`), null, false);
	}

	function checkRequest<S extends v.GenericSchema>(schema: S, data: unknown, what: string): v.InferOutput<S> {
		const result = v.safeParse(schema, data);
		if (result.success) return result.output;
		const issue = result.issues[0];
		const path = v.getDotPath(issue);
		throw new EnrichmentError(`invalid ${what} request (${path ? `${path}: ` : ''}${issue.message})`, null, false);
	}

	function costOf(raw: unknown): number {
		if (!raw || typeof raw !== 'object') return 0;
		const r = raw as Record<string, unknown>;
		const cost = typeof r.cost_cents === 'number' ? r.cost_cents : typeof r.charge_amount === 'number' ? r.charge_amount : 0;
		return Number.isFinite(cost) && cost > 0 ? cost : 0;
	}

	/** `POST <endpoint>-async` with a checked body: the task id. */
	async function submitTask<S extends v.GenericSchema>(endpoint: string, schema: S, req: unknown, call: CallOptions): Promise<string> {
		const body = checkRequest(schema, req, endpoint.slice(1)) as Record<string, unknown>;
		const hooks = options.webhooks;
		const raw = await request('POST', `${endpoint}-async`, hooks ? { ...body, webhook_url: hooks.url } : body, call);
		const taskId = parse(AsyncSubmitSchema, raw, `POST ${endpoint}-async`).task_id;
		// The answer was scrubbed: a task id that held the key now holds the marker instead.
		if (taskId.includes(REDACTED)) throw new UnsafeTaskIdError(`POST ${endpoint}-async`);
		hooks?.expect(taskId);
		return taskId;
	}

	/** Polls a task of `endpoint` (its poll timing is learnt per endpoint) until it ends; parses its result. */
	async function awaitTask<S extends v.GenericSchema>(
		endpoint: string,
		resultSchema: S,
		taskId: string,
		call: AwaitTaskOptions
	): Promise<v.InferOutput<S> & { cost_cents: number }> {
		if (typeof taskId !== 'string' || taskId.trim() === '') throw new EnrichmentError('invalid task id (empty)', null, false);
		// A checkpointed id from before answers were scrubbed may still hold the key itself.
		if (redactor.leaks(taskId) || taskId.includes(REDACTED)) throw new UnsafeTaskIdError('GET /job-status');
		const started = call.submittedAt ?? now();
		// The give-up deadline counts from when *this* wait began: a task resumed after a long
		// restart is polled, not given up on before its first poll.
		const waitingSince = now();
		const resumed = call.resumed === true;
		const hooks = options.webhooks;
		// A resumed task is polled once at once (its webhook may have come while we were down);
		// after that, and for a fresh task from the start, the webhook is awaited until the tail.
		if (hooks && resumed) hooks.expect(taskId);
		let lastRunningAt: number | null = null;
		call.meter.runningAt = Date.now() - (now() - started); // running since its submission
		try {
			for (let poll = 0; ; poll++) {
				const waitForHook = hooks !== undefined && !(resumed && poll === 0);
				const wait =
					waitForHook && poll === 0
						? timing.webhookTail(endpoint, now() - started)
						: timing.delay(endpoint, poll, now() - started);
				if (poll > 0 && now() + wait - waitingSince > taskTimeout) {
					throw new EnrichmentError(
						`Sixtyfour task ${taskId} still running after ${Math.round((now() - started) / 1000)} s (gave up waiting)`,
						null,
						false
					);
				}
				const delivered = waitForHook ? await hooks.wait(taskId, wait, call.signal) : (await sleep(wait, call.signal), null);
				if (delivered) {
					lastRunningAt = now() - started; // a webhook comes at completion: no uncertainty to split
					call.meter.runningAt = undefined;
				}
				// A webhook body is an API answer too: scrubbed like every answer `request()` parses.
				const raw = delivered
					? redactor.json(JSON.stringify(delivered))
					: await request('GET', `/job-status/${encodeURIComponent(taskId)}`, undefined, call);
				const status = parse(JobStatusSchema, raw, delivered ? 'webhook' : 'GET /job-status');
				if (status.state === 'running') {
					lastRunningAt = now() - started;
					call.meter.runningAt = Date.now();
					continue;
				}
				if (status.state === 'failed') {
					const reason = redact(
						typeof status.error === 'string' ? `: ${status.error}` : status.error ? `: ${JSON.stringify(status.error)}` : ''
					);
					throw new TaskEndedError(`Sixtyfour task ${taskId} ended ${status.rawStatus}${reason}`, status.rawStatus);
				}
				if (!resumed) timing.observe(endpoint, now() - started, lastRunningAt);
				const result = parse(resultSchema, status.result, 'GET /job-status result') as object;
				const cost = costOf(raw) || costOf(status.result);
				call.meter.costCents += cost;
				return { ...result, cost_cents: cost } as v.InferOutput<S> & { cost_cents: number };
			}
		} finally {
			hooks?.settle(taskId);
		}
	}

	/** A synchronous enrichment call: holds a socket for as long as the API takes (up to `syncTimeout`). */
	async function syncCall<S extends v.GenericSchema>(
		endpoint: string,
		requestSchema: v.GenericSchema,
		resultSchema: S,
		req: unknown,
		call: CallOptions
	): Promise<v.InferOutput<S> & { cost_cents: number }> {
		const body = checkRequest(requestSchema, req, endpoint.slice(1));
		const raw = await request('POST', endpoint, body, call, syncTimeout);
		const result = parse(resultSchema, raw, `POST ${endpoint}`) as object;
		const cost = costOf(raw);
		call.meter.costCents += cost;
		return { ...result, cost_cents: cost } as v.InferOutput<S> & { cost_cents: number };
	}

	const submitEnrichLead = (req: EnrichLeadRequest, call: CallOptions) => submitTask(ENRICH_LEAD, EnrichLeadRequestSchema, req, call);
	const awaitEnrichLead = (taskId: string, call: AwaitTaskOptions): Promise<EnrichLeadResponse> =>
		awaitTask(ENRICH_LEAD, EnrichLeadResponseSchema, taskId, call);
	const submitFindPhone = (req: FindPhoneRequest, call: CallOptions) => submitTask(FIND_PHONE, FindPhoneRequestSchema, req, call);
	const awaitFindPhone = (taskId: string, call: AwaitTaskOptions) => awaitTask(FIND_PHONE, FindPhoneResponseSchema, taskId, call);
	const submitEnrichCompany = (req: EnrichCompanyRequest, call: CallOptions) =>
		submitTask(ENRICH_COMPANY, EnrichCompanyRequestSchema, req, call);
	const awaitEnrichCompany = (taskId: string, call: AwaitTaskOptions): Promise<EnrichCompanyResponse> =>
		awaitTask(ENRICH_COMPANY, EnrichCompanyResponseSchema, taskId, call);

	return {
		now,
		observe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		enrichLead: (req, call) => syncCall(ENRICH_LEAD, EnrichLeadRequestSchema, EnrichLeadResponseSchema, req, call),
		submitEnrichLead,
		awaitEnrichLead,
		async enrichLeadAsync(req, call) {
			const submittedAt = now();
			const taskId = await submitEnrichLead(req, call);
			await call.onSubmitted?.(taskId);
			return awaitEnrichLead(taskId, { ...call, submittedAt });
		},
		enrichCompany: (req, call) => syncCall(ENRICH_COMPANY, EnrichCompanyRequestSchema, EnrichCompanyResponseSchema, req, call),
		submitEnrichCompany,
		awaitEnrichCompany,
		async enrichCompanyAsync(req, call) {
			const submittedAt = now();
			const taskId = await submitEnrichCompany(req, call);
			await call.onSubmitted?.(taskId);
			return awaitEnrichCompany(taskId, { ...call, submittedAt });
		},
		async findPhone(req, call) {
			// A short call like find-email: the request timeout, not the long synchronous-enrich one.
			const body = checkRequest(FindPhoneRequestSchema, req, 'find-phone');
			const raw = await request('POST', FIND_PHONE, body, call);
			const result = parse(FindPhoneResponseSchema, raw, `POST ${FIND_PHONE}`);
			const cost = costOf(raw);
			call.meter.costCents += cost;
			return { ...result, cost_cents: cost };
		},
		submitFindPhone,
		awaitFindPhone,
		async findPhoneAsync(req, call) {
			const submittedAt = now();
			const taskId = await submitFindPhone(req, call);
			await call.onSubmitted?.(taskId);
			return awaitFindPhone(taskId, { ...call, submittedAt });
		},
		async findEmail(req, call) {
			const body = checkRequest(FindEmailRequestSchema, req, 'find-email');
			const raw = await request('POST', FIND_EMAIL, body, call);
			const result = parse(FindEmailResponseSchema, raw, `POST ${FIND_EMAIL}`);
			call.meter.costCents += result.cost_cents ?? 0;
			return result;
		},
		findEmailBulk: (req, call) => request('POST', FIND_EMAIL_BULK, req, call)
	};
}

function describeError(error: unknown): string {
	if (error instanceof Error) {
		const cause = (error as { cause?: unknown }).cause;
		const code = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : null;
		return code ?? error.message;
	}
	return String(error);
}
