/**
 * The simulator's counters, served at `GET /__sim/stats`. Tests and benchmarks read them to check
 * what a client really did: how many requests, which answers, how many 429s, how much concurrency,
 * and — for crash/resume tests — whether any request was paid for twice.
 */
import * as v from 'valibot';

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));

export const SimStatsSchema = v.object({
	/** API requests received (every answer, refusal and fault included; `/__sim/*` excluded). */
	requests: Count,
	/** Requests per endpoint path (`/job-status` for every poll; `other` for unknown paths). */
	calls: v.record(v.string(), Count),
	/** Answers sent per HTTP status. Resets and aborted hangs send nothing and are not here. */
	statuses: v.record(v.string(), Count),
	/** 429 answers sent. */
	rate_limited: Count,
	/** Requests being handled now, and the most at once since the last reset. */
	concurrent: Count,
	concurrent_peak: Count,
	/** Cents charged for completed paid answers (sync answers sent, async jobs completed). */
	charged_cents: v.number(),
	/** Completed paid answers (a bulk find-email counts once per lead charged). */
	paid_answers: Count,
	/** Completed paid answers per normalised request key (endpoint + request hash). */
	paid_by_request: v.record(v.string(), Count),
	/** Paid answers beyond the first for the same request key: what a client wasted. */
	duplicates_paid: Count,
	/** Credit balance left, in cents (null = unlimited). */
	credits_cents: v.nullable(v.number()),
	faults: v.object({ error_500: Count, hung: Count, malformed: Count, reset: Count }),
	jobs: v.object({ submitted: Count, running: Count, completed: Count, failed: Count, timed_out: Count }),
	/** Completion POSTs: jobs with a `webhook_url`, deliveries that got a 2xx, dropped by fault, given up after every attempt, POSTs sent. */
	webhooks: v.object({ scheduled: Count, delivered: Count, dropped: Count, failed: Count, attempts: Count })
});
export type SimStats = v.InferOutput<typeof SimStatsSchema>;

export type FaultKind = keyof SimStats['faults'];
export type JobEnd = 'completed' | 'failed' | 'timed_out';

/** Mutable counters behind `SimStats`. */
export class StatsRecorder {
	#requests = 0;
	#calls = new Map<string, number>();
	#statuses = new Map<string, number>();
	#concurrent = 0;
	#peak = 0;
	#charged = 0;
	#paid = new Map<string, number>();
	#paidAnswers = 0;
	#duplicates = 0;
	#faults: SimStats['faults'] = { error_500: 0, hung: 0, malformed: 0, reset: 0 };
	#jobs = { submitted: 0, completed: 0, failed: 0, timed_out: 0 };
	#webhooks: SimStats['webhooks'] = { scheduled: 0, delivered: 0, dropped: 0, failed: 0, attempts: 0 };

	webhook(what: keyof SimStats['webhooks']): void {
		this.#webhooks[what]++;
	}

	/** A request arrived; call `finish` exactly once when it is done. */
	begin(endpoint: string): void {
		this.#requests++;
		bump(this.#calls, endpoint);
		this.#concurrent++;
		if (this.#concurrent > this.#peak) this.#peak = this.#concurrent;
	}

	/** A request is done; `status` is null when nothing was sent (reset, aborted hang). */
	finish(status: number | null): void {
		this.#concurrent = Math.max(0, this.#concurrent - 1);
		if (status !== null) bump(this.#statuses, String(status));
	}

	fault(kind: FaultKind): void {
		this.#faults[kind]++;
	}

	/** A paid answer was completed for `requestKey`. */
	paid(requestKey: string, cents: number): void {
		const before = this.#paid.get(requestKey) ?? 0;
		this.#paid.set(requestKey, before + 1);
		if (before > 0) this.#duplicates++;
		this.#paidAnswers++;
		this.#charged += cents;
	}

	jobSubmitted(): void {
		this.#jobs.submitted++;
	}

	jobEnded(end: JobEnd): void {
		this.#jobs[end]++;
	}

	/** Zero every counter except requests in flight (they are still in flight). */
	reset(): void {
		const concurrent = this.#concurrent;
		this.#requests = 0;
		this.#calls.clear();
		this.#statuses.clear();
		this.#peak = concurrent;
		this.#charged = 0;
		this.#paid.clear();
		this.#paidAnswers = 0;
		this.#duplicates = 0;
		this.#faults = { error_500: 0, hung: 0, malformed: 0, reset: 0 };
		this.#jobs = { submitted: 0, completed: 0, failed: 0, timed_out: 0 };
		this.#webhooks = { scheduled: 0, delivered: 0, dropped: 0, failed: 0, attempts: 0 };
	}

	snapshot(jobsRunning: number, creditsCents: number | null): SimStats {
		return {
			requests: this.#requests,
			calls: Object.fromEntries(this.#calls),
			statuses: Object.fromEntries(this.#statuses),
			rate_limited: this.#statuses.get('429') ?? 0,
			concurrent: this.#concurrent,
			concurrent_peak: this.#peak,
			charged_cents: this.#charged,
			paid_answers: this.#paidAnswers,
			paid_by_request: Object.fromEntries(this.#paid),
			duplicates_paid: this.#duplicates,
			credits_cents: creditsCents,
			faults: { ...this.#faults },
			jobs: { ...this.#jobs, running: jobsRunning },
			webhooks: { ...this.#webhooks }
		};
	}
}

function bump(map: Map<string, number>, key: string): void {
	map.set(key, (map.get(key) ?? 0) + 1);
}
