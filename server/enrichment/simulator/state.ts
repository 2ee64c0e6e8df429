/**
 * Everything a running simulator holds: its options, the seeded random streams (faults, latency,
 * async fates — separate, so changing one option does not shift another's sequence), the rate
 * limiter, the async jobs, the credit balance and the counters.
 */
import { setMaxListeners } from 'node:events';
import { AsyncJobStore, type AsyncJob, type Charge } from './jobs';
import { sampleLatencyMs } from './latency';
import { mergeOptionsInput, parseSimulatorOptions, type SimEndpoint, type SimulatorOptions, type SimulatorOptionsInput } from './options';
import { rngFor, type Rng } from './prng';
import { SlidingWindowLimiter } from './rate-limiter';
import { WebhookSender } from './webhooks';
import { StatsRecorder, type FaultKind, type JobEnd, type SimStats } from './stats';

/** What happens to one API request instead of (or before) its answer; null = nothing. */
export type Fault = FaultKind | null;

export class SimulatorState {
	readonly stats = new StatsRecorder();
	readonly limiter = new SlidingWindowLimiter();
	readonly jobs = new AsyncJobStore((job) => this.#settled(job));
	readonly webhooks = new WebhookSender({
		jobs: this.jobs,
		stats: this.stats,
		rng: () => this.#webhookRng,
		settings: () => ({
			drop: this.#options.faults.webhookDrop,
			duplicate: this.#options.faults.webhookDuplicate,
			attempts: this.#options.webhookAttempts,
			retryMs: this.#options.webhookRetryMs
		})
	});
	#input: SimulatorOptionsInput;
	#options: SimulatorOptions;
	#balance: number | null;
	#faultRng: Rng;
	#latencyRng: Rng;
	#jobRng: Rng;
	#webhookRng: Rng;
	readonly #shutdown = new AbortController();

	constructor(input: SimulatorOptionsInput) {
		this.#options = parseSimulatorOptions(input);
		this.#input = input;
		this.#balance = this.#options.creditsCents;
		[this.#faultRng, this.#latencyRng, this.#jobRng, this.#webhookRng] = this.#streams();
		setMaxListeners(0, this.#shutdown.signal); // every sleeping request listens to it
	}

	get options(): SimulatorOptions {
		return this.#options;
	}

	/** Aborted by `dispose()`: sleeping and hung requests end at once. */
	get shutdownSignal(): AbortSignal {
		return this.#shutdown.signal;
	}

	/**
	 * Change options at run time (validated; throws on bad input, changing nothing). A new seed
	 * restarts the random streams; a `creditsCents` sets the balance afresh.
	 */
	configure(patch: SimulatorOptionsInput): SimulatorOptions {
		const merged = mergeOptionsInput(this.#input, patch);
		const options = parseSimulatorOptions(merged);
		const reseed = options.seed !== this.#options.seed;
		this.#input = merged;
		this.#options = options;
		if ('creditsCents' in patch) this.#balance = options.creditsCents;
		if (reseed) [this.#faultRng, this.#latencyRng, this.#jobRng, this.#webhookRng] = this.#streams();
		return options;
	}

	/** Zero the counters, forget rate-limit history and restart the random streams. Jobs stay. */
	reset(): void {
		this.stats.reset();
		this.limiter.reset();
		[this.#faultRng, this.#latencyRng, this.#jobRng, this.#webhookRng] = this.#streams();
	}

	dispose(): void {
		this.#shutdown.abort();
		this.webhooks.close();
	}

	/** One draw per API request: which fault (if any) it meets. */
	drawFault(): Fault {
		const f = this.#options.faults;
		const u = this.#faultRng();
		let edge = f.error500;
		if (u < edge) return 'error_500';
		if (u < (edge += f.hang)) return 'hung';
		if (u < (edge += f.malformed)) return 'malformed';
		if (u < edge + f.reset) return 'reset';
		return null;
	}

	/** A latency draw for `endpoint` (its own setting, else `default`, else 0). */
	latencyMs(endpoint: SimEndpoint): number {
		const table = this.#options.latency;
		const spec = table[endpoint] ?? table.default;
		return spec ? sampleLatencyMs(spec, this.#latencyRng) : 0;
	}

	/** How a new async job will end. */
	drawJobEnd(): JobEnd {
		const { asyncFailed, asyncTimedOut } = this.#options.faults;
		const u = this.#jobRng();
		return u < asyncFailed ? 'failed' : u < asyncFailed + asyncTimedOut ? 'timed_out' : 'completed';
	}

	/** Whether the balance covers `cents` (always, when credits are unlimited). */
	canAfford(cents: number): boolean {
		return this.#balance === null || cents <= this.#balance;
	}

	/** Record completed paid answers and take their price from the balance. */
	charge(charges: readonly Charge[]): void {
		for (const { key, cents } of charges) {
			this.stats.paid(key, cents);
			if (this.#balance !== null) this.#balance = Math.max(0, this.#balance - cents);
		}
	}

	get balance(): number | null {
		return this.#balance;
	}

	snapshot(): SimStats {
		this.jobs.sweep(Date.now(), this.#options.jobTtlMs);
		return this.stats.snapshot(this.jobs.running, this.#balance);
	}

	#settled(job: AsyncJob): void {
		if (job.end === 'completed') this.charge(job.charges);
		this.stats.jobEnded(job.end);
	}

	#streams(): [Rng, Rng, Rng, Rng] {
		const seed = this.#options.seed;
		return [rngFor(seed, 'faults'), rngFor(seed, 'latency'), rngFor(seed, 'jobs'), rngFor(seed, 'webhooks')];
	}
}
