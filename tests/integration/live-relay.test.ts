/**
 * The live hub fed by a message bus (scale-out), on an in-process bus: the same code path as over
 * Redis, minus Redis (tests/scale/rooms-across-processes.test.ts runs it across processes).
 * - job events published on the bus (by `relayJobEvents`, wherever the job runs) reach watchers in
 *   order, with the snapshot first; progress is still coalesced per client;
 * - the snapshot is loaded only once the room listens, so no event falls between the two;
 * - frames on the bus that are not job events are dropped and reported; the feed goes on;
 * - `hub.publish` no longer opens rooms by itself (the bus is the source).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeLiveEvent, liveChannel, relayJobEvents } from '../../server/live/job-relay';
import { createMemoryBus } from '../../server/scale/bus';
import type { LiveEvent } from '../../src/lib/workflow/protocol';
import { finishedJob, jobEvents, startLiveHarness, type LiveHarness } from '../helpers/live';

let harness: LiveHarness | null = null;
afterEach(async () => {
	await harness?.close();
	harness = null;
});

const livePath = (h: LiveHarness) => `/live/${h.workflow.id}?token=${h.workflow.viewToken}`;

describe('the live hub on a bus', () => {
	it('delivers job events published anywhere, snapshot first, in order; drops what is not an event', async () => {
		const bus = createMemoryBus();
		const errors: string[] = [];
		let subscribedBeforeLoad: boolean | null = null;
		let probe = false;
		harness = await startLiveHarness({
			bus,
			loadSnapshot: async (workflowId) => {
				// The room subscribed before asking for the snapshot: a probe published now reaches it.
				await new Promise<void>((resolve) => {
					void bus.subscribe(liveChannel(workflowId), function once() {
						bus.unsubscribe(liveChannel(workflowId), once);
						probe = true;
						resolve();
					});
					bus.publish(liveChannel(workflowId), encodeLiveEvent(jobEvents('probe').created()));
				});
				subscribedBeforeLoad = probe;
				return [finishedJob('old')];
			},
			onError: (err) => void errors.push(String(err))
		});
		const client = harness.connect(livePath(harness));
		await client.untilType('snapshot');
		expect(subscribedBeforeLoad).toBe(true);
		// The probe arrived while loading: newer than the store, folded into the snapshot.
		expect(client.of('snapshot')[0].jobs.map((j) => j.job_id)).toEqual(['old', 'probe']);

		// A "job manager" in another process: its events go through relayJobEvents.
		const listeners = new Set<(e: LiveEvent) => void>();
		const stop = relayJobEvents({
			bus,
			subscribe: (l) => (listeners.add(l), () => listeners.delete(l)),
			workflowOf: async () => harness!.workflow.id
		});
		const e = jobEvents('j1');
		const created: LiveEvent = { ...e.created(), workflow_id: harness.workflow.id } as LiveEvent;
		const deltas = [created, e.started(), e.blockStarted('read'), e.blockFinished('read', 3), e.finished(3)];
		bus.publish(liveChannel(harness.workflow.id), Uint8Array.of(0xff, 0x00, 0x7b));
		bus.publish(liveChannel(harness.workflow.id), new TextEncoder().encode('{"type":1}'));
		for (const event of deltas) for (const l of listeners) l(event);
		await client.untilType('job_finished');
		const after = client.messages.map((m) => m.message).filter((m) => m.type !== 'hello' && m.type !== 'snapshot');
		expect(after).toEqual(deltas);
		expect(client.invalid).toEqual([]);
		expect(errors.filter((x) => /undecodable/.test(x))).toHaveLength(2);
		stop();
	});

	it('coalesces progress per client (at most one per tick), from the bus as in one process', async () => {
		const bus = createMemoryBus();
		harness = await startLiveHarness({ bus, flushIntervalMs: 50 });
		const client = harness.connect(livePath(harness));
		await client.untilType('snapshot');
		const e = jobEvents('j2');
		const channel = liveChannel(harness.workflow.id);
		bus.publish(channel, encodeLiveEvent(e.created()));
		bus.publish(channel, encodeLiveEvent(e.started()));
		bus.publish(channel, encodeLiveEvent(e.blockStarted('read')));
		for (let rows = 1; rows <= 200; rows++) bus.publish(channel, encodeLiveEvent(e.progress('read', rows)));
		bus.publish(channel, encodeLiveEvent(e.blockFinished('read', 200)));
		await client.untilType('block_finished');
		// 200 progress events in one burst: far fewer progress messages, and the final state exact.
		expect(client.of('block_progress').length).toBeLessThan(5);
		expect(
			client.jobs
				.list()
				.find((j) => j.job_id === 'j2')
				?.blocks.find((b) => b.block_id === 'read')?.rows_out
		).toBe(200);
	});

	it('hub.publish opens no room of its own when a bus feeds the hub', async () => {
		harness = await startLiveHarness({ bus: createMemoryBus() });
		harness.hub.publish(harness.workflow.id, jobEvents('j3').created());
		expect(harness.hub.stats().rooms).toBe(0);
	});
});
