/**
 * Async answers by webhook (DESIGN.md "Requests per row, continued"): with `PUBLIC_URL` set, every
 * `*-async` submit carries `webhook_url` = a per-server secret path, and the completion POST
 * `{task_id, status, task_type, result | error}` hands the answer to the row waiting for it — one
 * request per row instead of submit + polls.
 *
 * A delivery is applied only for a task this server submitted and still waits for, and only once:
 * a duplicate, a retry of the same delivery or one arriving after a poll already answered is
 * acknowledged and ignored. Polling stays the fallback — a task whose webhook has not come by its
 * expected latency's tail is polled — so a lost webhook never stalls a row.
 */
import * as v from 'valibot';
import { abortError } from './abortable';

/** A completion POST as Sixtyfour sends it (API-NOTES.md "Async form and polling"). */
export const WebhookBodySchema = v.looseObject({
	task_id: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
	status: v.pipe(v.string(), v.minLength(1), v.maxLength(50)),
	task_type: v.optional(v.nullable(v.string())),
	result: v.optional(v.unknown()),
	error: v.optional(v.unknown()),
	charge_amount: v.optional(v.nullable(v.number()))
});
export type WebhookBody = v.InferOutput<typeof WebhookBodySchema>;

/** What became of one delivery. */
export type DeliveryOutcome =
	| 'applied'
	/** Already delivered, or the task was already answered (by a poll): nothing to do. */
	| 'duplicate'
	/** A `running`-like status: not an end, nothing to apply. */
	| 'ignored'
	/** No task of this server waits for it. */
	| 'unknown_task';

export interface TaskWebhooks {
	/** The `webhook_url` every async submit carries. */
	readonly url: string;
	/** A task this server just submitted: its webhook will be accepted. */
	expect(taskId: string): void;
	/**
	 * The delivered body of `taskId` as soon as it arrives, or null after `ms` (then poll). Rejects
	 * when `signal` aborts.
	 */
	wait(taskId: string, ms: number, signal: AbortSignal): Promise<WebhookBody | null>;
	/** The task is answered (by webhook or poll) or abandoned: later deliveries are duplicates. */
	settle(taskId: string): void;
	/** Applies one completion POST (already validated). */
	deliver(body: WebhookBody): DeliveryOutcome;
	/** Tasks waiting for a webhook now. */
	waiting(): number;
}

export interface TaskWebhooksOptions {
	url: string;
	/** Settled task ids remembered to tell a duplicate from an unknown task (default 20 000). */
	remember?: number;
}

const ENDED = new Set(['completed', 'failed', 'cancelled', 'terminated', 'timed_out']);

interface Waiting {
	delivered: WebhookBody | null;
	wake: ((body: WebhookBody) => void) | null;
}

/** @example const hooks = createTaskWebhooks({ url: `${publicUrl}/api/sixtyfour/webhook/${secret}` }) */
export function createTaskWebhooks(options: TaskWebhooksOptions): TaskWebhooks {
	const waiting = new Map<string, Waiting>();
	const settled = new Set<string>();
	const remember = options.remember ?? 20_000;

	function settle(taskId: string): void {
		if (!waiting.delete(taskId) && settled.has(taskId)) return;
		settled.add(taskId);
		if (settled.size > remember) settled.delete(settled.values().next().value as string);
	}

	return {
		url: options.url,
		expect(taskId) {
			if (!waiting.has(taskId)) waiting.set(taskId, { delivered: null, wake: null });
			settled.delete(taskId);
		},
		wait(taskId, ms, signal) {
			const entry = waiting.get(taskId);
			if (!entry) return sleepOr(ms, signal, null);
			if (entry.delivered) return Promise.resolve(entry.delivered);
			return new Promise<WebhookBody | null>((resolve, reject) => {
				const done = (value: WebhookBody | null) => {
					clearTimeout(timer);
					signal.removeEventListener('abort', onAbort);
					entry.wake = null;
					resolve(value);
				};
				const onAbort = () => {
					clearTimeout(timer);
					entry.wake = null;
					reject(abortError(signal));
				};
				if (signal.aborted) return onAbort();
				const timer = setTimeout(() => done(null), Math.max(0, ms));
				signal.addEventListener('abort', onAbort, { once: true });
				entry.wake = done;
			});
		},
		settle,
		deliver(body) {
			const entry = waiting.get(body.task_id);
			if (!entry) return settled.has(body.task_id) ? 'duplicate' : 'unknown_task';
			if (!ENDED.has(body.status.toLowerCase())) return 'ignored';
			if (entry.delivered) return 'duplicate';
			entry.delivered = body;
			entry.wake?.(body);
			return 'applied';
		},
		waiting: () => waiting.size
	};
}

function sleepOr<T>(ms: number, signal: AbortSignal, value: T): Promise<T> {
	return new Promise((resolve, reject) => {
		if (signal.aborted) return reject(abortError(signal));
		const timer = setTimeout(
			() => {
				signal.removeEventListener('abort', onAbort);
				resolve(value);
			},
			Math.max(0, ms)
		);
		const onAbort = () => {
			clearTimeout(timer);
			reject(abortError(signal));
		};
		signal.addEventListener('abort', onAbort, { once: true });
	});
}
