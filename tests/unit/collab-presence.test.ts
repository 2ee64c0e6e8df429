/** RoomPresence on its own, with a fake clock: ownership, echoes, the id cap, the presence rate, access stamps. */
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createCounters, resolveLimits, type CollabLimits } from '../../server/collab/limits';
import { RoomPresence } from '../../server/collab/presence';
import { COLLAB_CLOSE } from '../../src/lib/workflow/collab-close-codes';

type Conn = { name: string };

function setup(limits: Partial<CollabLimits> = {}) {
	const clock = { now: 0 };
	const counters = createCounters();
	const spoofs: string[] = [];
	const presence = new RoomPresence<Conn>({
		doc: new Y.Doc(),
		limits: resolveLimits(limits),
		counters,
		onSpoof: (conn) => spoofs.push(conn.name),
		now: () => clock.now
	});
	const conns = {
		alice: { name: 'alice' },
		bob: { name: 'bob' },
		viewer: { name: 'viewer' }
	};
	presence.join(conns.alice, 'edit');
	presence.join(conns.bob, 'edit');
	presence.join(conns.viewer, 'view');
	return { presence, counters, spoofs, clock, ...conns };
}

/** An awareness update (y-protocols wire format, without the message type). */
function update(...entries: [clientId: number, clock: number, state: unknown][]): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, entries.length);
	for (const [clientId, clock, state] of entries) {
		encoding.writeVarUint(encoder, clientId);
		encoding.writeVarUint(encoder, clock);
		encoding.writeVarString(encoder, JSON.stringify(state));
	}
	return encoding.toUint8Array(encoder);
}

const stateOf = (p: RoomPresence<Conn>, id: number) => p.awareness.getStates().get(id) as { name?: string; access?: string } | undefined;

describe('RoomPresence', () => {
	it('stamps each entry with its connection’s access, overwriting the client’s claim', () => {
		const { presence, alice, viewer } = setup();
		presence.receive(viewer, update([7, 1, { name: 'Alice', access: 'edit' }]));
		presence.receive(alice, update([8, 1, { name: 'Alice', access: 'view' }]));
		expect(stateOf(presence, 7)).toEqual({ name: 'Alice', access: 'view' });
		expect(stateOf(presence, 8)).toEqual({ name: 'Alice', access: 'edit' });
	});

	it.each([
		{ what: 'an echo (same clock) from an editor', from: 'bob', clock: 1, state: { name: 'x' }, spoof: false },
		{ what: 'an echo of the removal', from: 'bob', clock: 1, state: null, spoof: false },
		{ what: 'a newer state from a view link', from: 'viewer', clock: 9, state: { name: 'x' }, spoof: true },
		{ what: 'a newer removal from a view link', from: 'viewer', clock: 9, state: null, spoof: true },
		{ what: 'a newer removal from an editor', from: 'bob', clock: 9, state: null, spoof: true }
	] as const)('leaves another’s entry alone: $what', ({ from, clock, state, spoof }) => {
		const t = setup();
		t.presence.receive(t.alice, update([1, 1, { name: 'Alice' }]));
		expect(t.presence.receive(t[from], update([1, clock, state]))).toBeNull();
		expect(stateOf(t.presence, 1)).toEqual({ name: 'Alice', access: 'edit' });
		expect(t.spoofs).toEqual(spoof ? [from] : []);
		// Echoes never use up the sender's ids: it can still show itself.
		t.presence.receive(t[from], update([2, 1, { name: 'Me' }]));
		expect(stateOf(t.presence, 2)?.name).toBe('Me');
	});

	it('lets an editor take its id over with a newer state; the old connection leaving then removes nothing', () => {
		const { presence, alice, bob } = setup();
		presence.receive(alice, update([1, 1, { name: 'Before' }]));
		presence.receive(bob, update([1, 2, { name: 'After' }]));
		expect(stateOf(presence, 1)?.name).toBe('After');
		presence.leave(alice);
		expect(stateOf(presence, 1)?.name).toBe('After');
		presence.leave(bob);
		expect(presence.size).toBe(0);
	});

	it('keeps 2 ids per connection and shows one; more are dropped, and past 64 the socket is refused with 4430', () => {
		const { presence, counters, viewer } = setup();
		presence.receive(viewer, update([1, 1, { n: 1 }]));
		presence.receive(viewer, update([2, 1, { n: 2 }]));
		expect([...presence.awareness.getStates().keys()]).toEqual([2]);
		expect(
			presence.receive(viewer, update(...Array.from({ length: 64 }, (_, i) => [100 + i, 1, {}] as [number, number, unknown])))
		).toBeNull();
		expect(counters.presenceIdsRefused).toBe(64);
		expect(presence.size).toBe(1);
		// Back to its first id is fine (it is one of its two).
		presence.receive(viewer, update([1, 2, { n: 1 }]));
		expect([...presence.awareness.getStates().keys()]).toEqual([1]);
		expect(presence.receive(viewer, update([500, 1, {}]))).toMatchObject({
			code: COLLAB_CLOSE.PRESENCE_FLOOD,
			counter: 'presenceFloods'
		});
		expect(presence.size).toBe(1);
	});

	it('drops presence changes over the rate (not closing), and lets them through again as the budget refills', () => {
		const { presence, counters, clock, alice } = setup({ awarenessPerSecond: 1, awarenessBurst: 2 });
		for (let c = 1; c <= 5; c++) expect(presence.receive(alice, update([1, c, { c }]))).toBeNull();
		expect(stateOf(presence, 1)).toEqual({ c: 2, access: 'edit' });
		expect(counters.droppedAwareness).toBe(3);
		clock.now += 1_000;
		presence.receive(alice, update([1, 6, { c: 6 }]));
		expect(stateOf(presence, 1)).toEqual({ c: 6, access: 'edit' });
	});

	it('ignores clearing an entry nobody shows, and remembers nothing of it', () => {
		const { presence, viewer } = setup();
		presence.receive(viewer, update(...Array.from({ length: 1_000 }, (_, i) => [10 + i, 5, null] as [number, number, unknown])));
		expect(presence.awareness.meta.size).toBe(1); // the server's own (empty) entry
	});

	it('forgets the clocks of ids that left 30 s ago', () => {
		const { presence, clock, alice, bob } = setup();
		presence.receive(alice, update([1, 3, {}]));
		presence.receive(bob, update([2, 1, {}]));
		presence.leave(alice);
		expect(presence.awareness.meta.has(1)).toBe(true);
		clock.now += 31_000;
		presence.leave(bob);
		expect(presence.awareness.meta.has(1)).toBe(false);
		expect(presence.awareness.meta.has(2)).toBe(true);
	});
});
