/**
 * A token bucket for one client's inbound frames: `burst` frames at once, then `perSecond`. A
 * client over the limit is misbehaving (the browser sends a ping every ~25 s), so the hub closes it.
 */
export interface FrameLimiterOptions {
	perSecond: number;
	burst: number;
	now?: () => number;
}

export class FrameLimiter {
	#tokens: number;
	#last: number;
	readonly #options: Required<FrameLimiterOptions>;

	constructor(options: FrameLimiterOptions) {
		this.#options = { now: Date.now, ...options };
		this.#tokens = options.burst;
		this.#last = this.#options.now();
	}

	/** Takes one frame's token; false when the client is over its rate. */
	take(): boolean {
		const now = this.#options.now();
		const refill = ((now - this.#last) / 1000) * this.#options.perSecond;
		this.#tokens = Math.min(this.#options.burst, this.#tokens + refill);
		this.#last = now;
		if (this.#tokens < 1) return false;
		this.#tokens -= 1;
		return true;
	}
}
