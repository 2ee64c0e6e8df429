/**
 * A per-connection message budget. Synchronous on purpose: a room decides on every frame, in the
 * socket's message handler, whether to process it, so there is nothing to wait for.
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

/** A token bucket: `take()` is false once the connection has spent its budget. */
export function createMessageBudget(options: MessageBudgetOptions): { take(): boolean } {
	const now = options.now ?? (() => performance.now());
	const perMs = options.perSecond / 1_000;
	let tokens = options.burst;
	let last = now();
	return {
		take() {
			const t = now();
			tokens = Math.min(options.burst, tokens + (t - last) * perMs);
			last = t;
			if (tokens < 1) return false;
			tokens -= 1;
			return true;
		}
	};
}
