/**
 * Flow control in a room, with fake sockets: frames beyond a connection's pace wait in its inbox
 * (bounded in frames and bytes), the socket is paused while too many wait and resumed once they
 * are handled, consecutive updates are applied as one, and queued frames are never lost to a
 * leave or a shutdown. The browser side reads the flood close (4529) as "reconnect".
 */
import * as encoding from 'lib0/encoding';
import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { Inbox } from '../../server/collab/inbox';
import { createCounters, resolveLimits, silentLogger, type CollabLimits } from '../../server/collab/limits';
import type { DocPersistence } from '../../server/collab/persistence';
import { createMessageBudget } from '../../server/collab/rate-limit';
import { Room, TURN_MS, type CollabSocket } from '../../server/collab/room';
import { describeClose } from '../../src/lib/collab/close-codes';
import { COLLAB_CLOSE, describeCollabClose } from '../../src/lib/workflow/collab-close-codes';
import { waitFor } from '../helpers/collab';

describe('Inbox', () => {
	const bounds = { pauseFrames: 4, pauseBytes: 100, maxFrames: 8, maxBytes: 1_000 };

	it('says pause at the pause level, overflow past the bound, and resume below half', () => {
		const inbox = new Inbox(bounds);
		const states = Array.from({ length: 9 }, (_, i) => inbox.push(Uint8Array.of(i)));
		expect(states).toEqual(['ok', 'ok', 'ok', 'pause', 'pause', 'pause', 'pause', 'pause', 'overflow']);
		expect(inbox.canResume).toBe(false);
		expect([...inbox.take(3)].map((f) => f[0])).toEqual([0, 1, 2]);
		expect(inbox.canResume).toBe(false);
		expect([...inbox.take(5)].map((f) => f[0])).toEqual([3, 4, 5, 6, 7]);
		expect(inbox.length).toBe(1);
		expect(inbox.canResume).toBe(true);
	});

	it('counts bytes too', () => {
		const inbox = new Inbox(bounds);
		expect(inbox.push(new Uint8Array(60))).toBe('ok');
		expect(inbox.push(new Uint8Array(60))).toBe('pause');
		expect(inbox.push(new Uint8Array(900))).toBe('overflow');
		inbox.take(3);
		expect(inbox.bytes).toBe(0);
	});
});

describe('createMessageBudget', () => {
	it('spends several at once and says how long until enough', () => {
		let t = 0;
		const budget = createMessageBudget({ perSecond: 100, burst: 10, now: () => t });
		expect(budget.take(8)).toBe(true);
		expect(budget.take(3)).toBe(false);
		expect(budget.available()).toBe(2);
		expect(budget.waitFor(5)).toBeCloseTo(30);
		expect(budget.waitFor(50)).toBeCloseTo(80); // never more than the burst
		t = 30;
		expect(budget.waitFor(5)).toBe(0);
		expect(budget.take(5)).toBe(true);
	});
});

function memoryPersistence(appended: Uint8Array[]): DocPersistence {
	return {
		load: async () => ({ replayed: 0, skipped: 0 }),
		appendUpdate: async (_id, update) => void appended.push(update),
		compact: async () => {},
		remove: async () => {},
		has: async () => appended.length > 0
	};
}

function setup(limits: Partial<CollabLimits>) {
	const appended: Uint8Array[] = [];
	const counters = createCounters();
	const room = new Room({
		id: 'w',
		persistence: memoryPersistence(appended),
		limits: resolveLimits({ compactEvery: 1_000_000, ...limits }),
		counters,
		log: silentLogger,
		onEmpty: () => {},
		onFailed: () => {}
	});
	const socket = { closes: [] as number[], paused: 0, resumed: 0 };
	const fake: CollabSocket = {
		send: () => {},
		close: (code) => void socket.closes.push(code),
		bufferedAmount: 0,
		pause: () => void socket.paused++,
		resume: () => void socket.resumed++
	};
	room.join(fake, 'edit');
	return { room, appended, counters, socket, fake };
}

/** `n` sync-update frames, each appending one character to the text `t` (as a typing client sends). */
function typingFrames(n: number): Uint8Array[] {
	const doc = new Y.Doc();
	const frames: Uint8Array[] = [];
	doc.on('update', (update: Uint8Array) => {
		const e = encoding.createEncoder();
		encoding.writeVarUint(e, 0);
		encoding.writeVarUint(e, 2);
		encoding.writeVarUint8Array(e, update);
		frames.push(encoding.toUint8Array(e));
	});
	const text = doc.getText('t');
	for (let i = 0; i < n; i++) text.insert(text.length, String(i % 10));
	return frames;
}

const typed = (n: number) => Array.from({ length: n }, (_, i) => String(i % 10)).join('');

describe('Room flow control', () => {
	it('queues frames beyond the pace, pauses the socket meanwhile, applies them all in order in few appends', async () => {
		const { room, appended, counters, socket, fake } = setup({
			messagesPerSecond: 2_000,
			messageBurst: 100,
			inboxPauseFrames: 200,
			inboxMaxFrames: 10_000
		});
		for (const frame of typingFrames(1_000)) room.receive(fake, frame);
		expect(socket.paused).toBe(1);
		await waitFor(() => room.doc.getText('t').length === 1_000, 'every frame applied', 30_000);
		expect(room.doc.getText('t').toString()).toBe(typed(1_000));
		expect(socket.resumed).toBeGreaterThanOrEqual(1);
		expect(socket.closes).toEqual([]);
		expect(counters.throttledFrames).toBeGreaterThan(0);
		expect(counters.pausedReads).toBe(1);
		// One append a turn (at most TURN_FRAMES, 128, frames), so well under one append per frame.
		await room.settled();
		expect(appended.length).toBeLessThan(100);
		await room.close();
	});

	it('applies what a leaving client had queued', () => {
		const { room, socket, fake } = setup({ messagesPerSecond: 1, messageBurst: 1 });
		for (const frame of typingFrames(50)) room.receive(fake, frame);
		expect(room.doc.getText('t').length).toBe(0);
		room.leave(fake);
		expect(room.doc.getText('t').toString()).toBe(typed(50));
		expect(socket.closes).toEqual([]);
		room.close();
	});

	it('stores what waits in inboxes when the room closes', async () => {
		const { room, appended, fake } = setup({ messagesPerSecond: 1, messageBurst: 1 });
		for (const frame of typingFrames(50)) room.receive(fake, frame);
		await room.close();
		const stored = new Y.Doc();
		for (const update of appended) Y.applyUpdate(stored, update);
		expect(stored.getText('t').toString()).toBe(typed(50));
	});

	it('closes a flood past the inbox bound with 4529 (a code clients retry)', () => {
		const { room, counters, socket, fake } = setup({ messagesPerSecond: 1, messageBurst: 1, inboxPauseFrames: 10, inboxMaxFrames: 20 });
		for (const frame of typingFrames(30)) room.receive(fake, frame);
		expect(socket.closes).toEqual([COLLAB_CLOSE.FLOODED]);
		expect(counters.floods).toBe(1);
		expect(room.size).toBe(0);
		room.close();
	});
});

describe('Room turns on a slow machine', () => {
	it('end after TURN_MS: frames that cost more than usual spread over more turns, none lost or reordered', async () => {
		// A clock on which every reading is 1 ms later: each frame of a turn "takes" 1 ms.
		let t = 0;
		const clock = vi.spyOn(performance, 'now').mockImplementation(() => (t += 1));
		try {
			const { room, appended, socket, fake } = setup({ messagesPerSecond: 1_000_000, messageBurst: 1_000_000 });
			for (const frame of typingFrames(40)) room.receive(fake, frame);
			await waitFor(() => room.doc.getText('t').length === 40, 'every frame applied', 30_000);
			await room.settled();
			expect(room.doc.getText('t').toString()).toBe(typed(40));
			// At most TURN_MS frames a turn here, so at least 40 / TURN_MS appends (one turn would be one).
			expect(appended.length).toBeGreaterThanOrEqual(40 / TURN_MS);
			expect(socket.closes).toEqual([]);
			await room.close();
		} finally {
			clock.mockRestore();
		}
	});
});

describe('Inbox peek and drop', () => {
	it('peek leaves frames queued; drop removes them oldest first and never more than are there', () => {
		const inbox = new Inbox({ pauseFrames: 10, pauseBytes: 1_000, maxFrames: 20, maxBytes: 2_000 });
		for (let i = 0; i < 5; i++) inbox.push(Uint8Array.of(i, i));
		expect(inbox.peek(3).map((f) => f[0])).toEqual([0, 1, 2]);
		expect(inbox.length).toBe(5);
		inbox.drop(2);
		expect(inbox.peek(10).map((f) => f[0])).toEqual([2, 3, 4]);
		expect(inbox.bytes).toBe(6);
		inbox.drop(0);
		expect(inbox.length).toBe(3);
		inbox.drop(99);
		expect(inbox.length).toBe(0);
		expect(inbox.bytes).toBe(0);
		expect(inbox.peek(1)).toEqual([]);
		inbox.drop(1); // nothing left: no-op
		expect(inbox.push(Uint8Array.of(9))).toBe('ok');
		expect(inbox.take(5).map((f) => f[0])).toEqual([9]);
	});
});

describe('close codes in the browser', () => {
	it('reconnects after a flood close (4529) but not after a refusal (44xx)', () => {
		expect(describeCollabClose(COLLAB_CLOSE.FLOODED).retry).toBe(true);
		expect(describeCollabClose(COLLAB_CLOSE.DOC_TOO_LARGE).retry).toBe(false);
		expect(describeClose(4529)).toBeNull();
		expect(describeClose(4413)).not.toBeNull();
	});
});
