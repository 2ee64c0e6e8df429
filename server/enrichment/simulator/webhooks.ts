/**
 * Webhook delivery, as the real API does it when a submit carries `webhook_url`: when the job ends,
 * `POST {task_id, status, task_type, result | error, charge_amount}` to that URL, retried on any
 * non-2xx or network failure. Fault modes drop a share of deliveries outright (the client must
 * fall back to polling) or send one twice (the client must apply it once).
 */
import type { AsyncJob, AsyncJobStore } from './jobs';
import type { Rng } from './prng';
import type { StatsRecorder } from './stats';

export interface WebhookSettings {
	/** Share of deliveries never sent. */
	drop: number;
	/** Share of deliveries sent twice. */
	duplicate: number;
	/** POSTs per delivery, the first included. */
	attempts: number;
	/** Wait before the first retry; doubles each time (ms). */
	retryMs: number;
}

export class WebhookSender {
	readonly #timers = new Set<ReturnType<typeof setTimeout>>();
	readonly #controller = new AbortController();

	constructor(
		private readonly deps: {
			jobs: AsyncJobStore;
			stats: StatsRecorder;
			rng: () => Rng;
			settings: () => WebhookSettings;
		}
	) {}

	/** Deliver `job`'s end to `url` once its time has come. */
	schedule(job: AsyncJob, url: string): void {
		this.deps.stats.webhook('scheduled');
		this.#later(Math.max(0, job.readyAt - Date.now()), () => void this.#deliver(job, url));
	}

	/** Cancel every pending delivery and retry (simulator shutdown). */
	close(): void {
		this.#controller.abort();
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
	}

	#later(ms: number, run: () => void): void {
		const timer = setTimeout(() => {
			this.#timers.delete(timer);
			if (!this.#controller.signal.aborted) run();
		}, ms);
		timer.unref?.();
		this.#timers.add(timer);
	}

	async #deliver(job: AsyncJob, url: string): Promise<void> {
		const settings = this.deps.settings();
		const body = this.deps.jobs.webhookBody(job.id, Date.now());
		// A timer may fire a millisecond before the job's end by the wall clock: try again then.
		if (!body) return this.#later(Math.max(1, job.readyAt - Date.now() + 1), () => void this.#deliver(job, url));
		const u = this.deps.rng()();
		if (u < settings.drop) return this.deps.stats.webhook('dropped');
		const copies = u < settings.drop + settings.duplicate ? 2 : 1;
		for (let copy = 0; copy < copies; copy++) void this.#post(url, body, settings, 1);
	}

	async #post(url: string, body: unknown, settings: WebhookSettings, attempt: number): Promise<void> {
		this.deps.stats.webhook('attempts');
		let ok: boolean;
		try {
			const response = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify(body),
				signal: AbortSignal.any([this.#controller.signal, AbortSignal.timeout(10_000)])
			});
			await response.arrayBuffer().catch(() => undefined);
			ok = response.ok;
		} catch {
			ok = false;
		}
		if (ok) return this.deps.stats.webhook('delivered');
		if (attempt >= settings.attempts || this.#controller.signal.aborted) return this.deps.stats.webhook('failed');
		this.#later(settings.retryMs * 2 ** (attempt - 1), () => void this.#post(url, body, settings, attempt + 1));
	}
}
