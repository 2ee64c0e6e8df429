/**
 * A token bucket. Synchronous on purpose: a room decides on every frame, in the socket's message
 * handler, whether to handle it now or queue it, and when to look at its queue again.
 */

/** Options of `createMessageBudget`. */
export interface MessageBudgetOptions {
	/** Messages per second refilled. */
	perSecond: number;
	/** Messages that may arrive at once after a quiet spell. */
	burst: number;
	/** Clock in ms (default `performance.now`). */
	now?: () => number;
}

export interface MessageBudget {
	/** Spends `count` messages (default 1); false, with nothing spent, if fewer are left. */
	take(count?: number): boolean;
	/** Whole messages that may be spent right now. */
	available(): number;
	/** Milliseconds until `count` messages (at most the burst) may be spent; 0 if they may now. */
	waitFor(count: number): number;
}

export function createMessageBudget(options: MessageBudgetOptions): MessageBudget {
	const now = options.now ?? (() => performance.now());
	const perMs = options.perSecond / 1_000;
	let tokens = options.burst;
	let last = now();
	const refill = () => {
		const t = now();
		tokens = Math.min(options.burst, tokens + (t - last) * perMs);
		last = t;
	};
	return {
		take(count = 1) {
			refill();
			if (tokens < count) return false;
			tokens -= count;
			return true;
		},
		available() {
			refill();
			return Math.floor(tokens);
		},
		waitFor(count) {
			refill();
			const missing = Math.min(count, options.burst) - tokens;
			return missing <= 0 ? 0 : missing / perMs;
		}
	};
}
