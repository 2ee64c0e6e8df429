/**
 * A token bucket. Synchronous on purpose: a room decides on every frame, in the socket's message
 * handler, whether to handle it now or queue it, and when to look at its queue again.
 */
import { TokenBucket } from '../token-bucket';

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

/** A connection's frame budget, on the shared token bucket. */
export function createMessageBudget(options: MessageBudgetOptions): MessageBudget {
	const bucket = new TokenBucket({ capacity: options.burst, perSecond: options.perSecond, now: options.now });
	return {
		take: (count = 1) => bucket.take(count),
		available: () => Math.floor(bucket.tokens),
		waitFor: (count) => bucket.msUntil(Math.min(count, bucket.capacity))
	};
}
