/**
 * A per-connection message budget. Synchronous on purpose: a room decides on every frame, in the
 * socket's message handler, whether to process it, so there is nothing to wait for.
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

/** A token bucket: `take()` is false once the connection has spent its budget. */
export function createMessageBudget(options: MessageBudgetOptions): { take(): boolean } {
	return new TokenBucket({ capacity: options.burst, perSecond: options.perSecond, now: options.now });
}
