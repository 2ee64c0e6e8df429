/**
 * Issue 13's first judged criterion, end to end with real processes (the room server, a stock
 * y-websocket client flooding from a process of its own, and this one): 5,000 transactions as fast
 * as the client can make them reach a second client within 10 s, the fast client is never closed,
 * and a bystander room keeps working (its edit latency is printed, p50/p99/max, not asserted: a
 * loaded test machine says nothing about the server). That nothing is lost across a restart right
 * after such a burst is `collab-flow.test.ts`. Same code as `npx tsx tests/bench/collab-flood.ts`.
 */
import { describe, expect, it } from 'vitest';
import { benchCollabFlood, FLOOD_LAST_TARGET_MS, formatCollabFlood } from '../bench/collab-flood';

describe('a stock client sending 5,000 transactions as fast as it can', () => {
	it('a second client has the last one within 10 s; the sender is never closed; a bystander room loses nothing', async () => {
		const result = await benchCollabFlood({ transactions: 5_000 });
		console.log(formatCollabFlood(result));
		expect(result.fastClientCloses).toEqual([]);
		expect(result.floods).toBe(0);
		expect(result.lastArrivedMs).toBeLessThanOrEqual(FLOOD_LAST_TARGET_MS);
		expect(result.bystanderDuring.lost).toBe(0);
		expect(result.bystanderDuring.edits).toBeGreaterThan(0);
	}, 180_000);
});
