/**
 * Bulk find-email: lookups that arrive within a few milliseconds of each other (a block keeps
 * dozens of rows in flight) go out together as one `POST /find-email-bulk` of up to 100 leads, so a
 * row costs a fraction of a request instead of one (DESIGN.md "Requests per row").
 *
 * The bulk answer's shape is not documented. It is read strictly — `{results: [one find-email
 * answer per lead, in order]}`, as many as were sent, each echoing its lead's name/linkedin where it
 * echoes anything — and a shape we do not recognise is never guessed at: that batch falls back to
 * single lookups (a notice is given once per process). Each row keeps its own cache entry, cost
 * and `_error`: a failed bulk request fails each of its rows with that error, as single calls would.
 */
import * as v from 'valibot';
import { abortError, raceAbort } from './abortable';
import { FindEmailResponseSchema, type FindEmailRequest, type FindEmailResponse } from './sixtyfour-schemas';
import type { CallOptions } from './types';

/** The most leads `/find-email-bulk` takes in one request. */
export const MAX_BULK_LEADS = 100;

/** The body of `/find-email-bulk`. */
export interface FindEmailBulkRequest {
	leads: FindEmailRequest['lead'][];
	mode: NonNullable<FindEmailRequest['mode']>;
	verify_emails: boolean;
}

export interface FindEmailBatcherOptions {
	/** One bulk request (with the scheduler's retries); resolves with the raw JSON answer. */
	sendBulk: (request: FindEmailBulkRequest, call: CallOptions) => Promise<unknown>;
	/** One single lookup: the fallback when a bulk answer's shape is not recognised. */
	single: (request: FindEmailRequest, call: CallOptions) => Promise<FindEmailResponse>;
	/** Leads per request (default and most: 100). */
	maxBatch?: number;
	/** How long the first lookup of a batch waits for company (ms, default 15). */
	lingerMs?: number;
	/** Told once, the first time a bulk answer is not recognised. */
	onUnrecognised?: (reason: string) => void;
}

export interface FindEmailBatcher {
	/** The answer for one lead, sent with others; costs go to `call.meter` per lead. */
	lookup(request: FindEmailRequest, call: CallOptions): Promise<FindEmailResponse>;
}

interface Entry {
	request: FindEmailRequest;
	call: CallOptions;
	resolve: (answer: FindEmailResponse) => void;
	reject: (error: unknown) => void;
	onAbort: () => void;
}

interface Batch {
	entries: Entry[];
	timer: ReturnType<typeof setTimeout> | null;
}

const BulkAnswerSchema = v.strictObject({
	results: v.array(FindEmailResponseSchema)
});

/**
 * The answers of a bulk request in the order of its leads, or the reason the shape is not one we
 * recognise (then nothing of it is used).
 */
export function readBulkAnswer(
	raw: unknown,
	leads: FindEmailBulkRequest['leads']
): { ok: true; answers: FindEmailResponse[] } | { ok: false; reason: string } {
	const parsed = v.safeParse(BulkAnswerSchema, raw);
	if (!parsed.success) {
		const issue = parsed.issues[0];
		const path = v.getDotPath(issue);
		return { ok: false, reason: `${path ? `${path}: ` : ''}${issue.message}` };
	}
	const { results } = parsed.output;
	if (results.length !== leads.length)
		return {
			ok: false,
			reason: `${results.length} results for ${leads.length} leads`
		};
	for (let i = 0; i < leads.length; i++) {
		const sent = leads[i]!;
		const got = results[i] as Record<string, unknown>;
		for (const key of ['name', 'linkedin'] as const) {
			if (typeof got[key] === 'string' && typeof sent[key] === 'string' && got[key] !== sent[key]) {
				return {
					ok: false,
					reason: `results[${i}].${key} does not echo its lead (order unknown)`
				};
			}
		}
	}
	return { ok: true, answers: results };
}

/**
 * Builds a batcher. Lookups of the same mode and verification setting share batches.
 * @example const b = createFindEmailBatcher({ sendBulk, single }); await b.lookup({ lead }, call)
 */
export function createFindEmailBatcher(options: FindEmailBatcherOptions): FindEmailBatcher {
	const maxBatch = Math.min(MAX_BULK_LEADS, Math.max(1, options.maxBatch ?? MAX_BULK_LEADS));
	const lingerMs = options.lingerMs ?? 15;
	const open = new Map<string, Batch>();
	let noticed = false;

	function flush(group: string, batch: Batch): void {
		if (open.get(group) === batch) open.delete(group);
		if (batch.timer) clearTimeout(batch.timer);
		const entries = batch.entries.filter((e) => !e.call.signal.aborted);
		for (const e of batch.entries) e.call.signal.removeEventListener('abort', e.onAbort);
		if (entries.length > 0) void send(entries);
	}

	async function send(entries: Entry[]): Promise<void> {
		const first = entries[0]!.request;
		const body: FindEmailBulkRequest = {
			leads: entries.map((e) => e.request.lead),
			mode: first.mode ?? 'PROFESSIONAL',
			verify_emails: first.verify_emails ?? true
		};
		// The request is abandoned only when every row waiting for it has gone.
		const controller = new AbortController();
		let left = entries.length;
		const gone = () => {
			if (--left === 0) controller.abort(new DOMException('every row of this bulk request gave up', 'AbortError'));
		};
		for (const e of entries) e.call.signal.addEventListener('abort', gone, { once: true });
		// Its requests are counted once, on the first row's meter: requests/row stays honest.
		const settle = (e: Entry, outcome: Promise<FindEmailResponse>) =>
			raceAbort(outcome, e.call.signal)
				.then(e.resolve, e.reject)
				.finally(() => e.call.signal.removeEventListener('abort', gone));
		let raw: unknown;
		try {
			raw = await options.sendBulk(body, {
				signal: controller.signal,
				meter: entries[0]!.call.meter
			});
		} catch (error) {
			for (const e of entries) void settle(e, Promise.reject(error));
			return;
		}
		const read = readBulkAnswer(raw, body.leads);
		if (!read.ok) {
			if (!noticed) {
				noticed = true;
				options.onUnrecognised?.(
					`find-email-bulk answered a shape we do not recognise (${read.reason}): that batch and any like it fall back to single lookups`
				);
			}
			for (const e of entries) void settle(e, options.single(e.request, e.call));
			return;
		}
		entries.forEach((e, i) => {
			const answer = read.answers[i]!;
			e.call.meter.costCents += answer.cost_cents ?? 0;
			void settle(e, Promise.resolve(answer));
		});
	}

	return {
		lookup(request, call) {
			if (call.signal.aborted) return Promise.reject(abortError(call.signal));
			const group = `${request.mode ?? 'PROFESSIONAL'} ${request.verify_emails ?? true}`;
			return new Promise<FindEmailResponse>((resolve, reject) => {
				let batch = open.get(group);
				if (!batch) {
					const created: Batch = { entries: [], timer: null };
					created.timer = setTimeout(() => flush(group, created), lingerMs);
					open.set(group, created);
					batch = created;
				}
				const owner = batch;
				const entry: Entry = {
					request,
					call,
					resolve,
					reject,
					// A row cancelled before its batch leaves is simply not sent.
					onAbort: () => {
						const i = owner.entries.indexOf(entry);
						if (i >= 0) owner.entries.splice(i, 1);
						reject(abortError(call.signal));
					}
				};
				call.signal.addEventListener('abort', entry.onAbort, { once: true });
				owner.entries.push(entry);
				if (owner.entries.length >= maxBatch) flush(group, owner);
			});
		}
	};
}
