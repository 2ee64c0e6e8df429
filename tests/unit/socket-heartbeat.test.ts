/**
 * The heartbeat both socket endpoints share: a peer that answers nothing between two pings is
 * terminated; a pong or any message keeps it; a forgotten socket is left alone. Fake timers: the
 * test steps the clock, it measures nothing.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHeartbeat } from '../../server/sockets/heartbeat';

class FakeSocket extends EventEmitter {
	pings = 0;
	terminated = false;
	ping() {
		this.pings++;
	}
	terminate() {
		this.terminated = true;
	}
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('heartbeat', () => {
	it.each([
		['says nothing', () => {}, true],
		['answers the ping', (s: FakeSocket) => s.emit('pong'), false],
		['sends a message instead', (s: FakeSocket) => s.emit('message'), false]
	])('a socket that %s between two pings: terminated = %s', (_label, act, terminated) => {
		const heartbeat = createHeartbeat<FakeSocket>({ intervalMs: 1_000 });
		const socket = new FakeSocket();
		heartbeat.watch(socket);
		vi.advanceTimersByTime(1_000);
		expect(socket.pings).toBe(1);
		act(socket);
		vi.advanceTimersByTime(1_000);
		expect(socket.terminated).toBe(terminated);
		heartbeat.stop();
	});

	it('leaves forgotten sockets alone and lists the watched ones', () => {
		const heartbeat = createHeartbeat<FakeSocket>({ intervalMs: 1_000 });
		const kept = new FakeSocket();
		const gone = new FakeSocket();
		heartbeat.watch(kept);
		heartbeat.watch(gone);
		heartbeat.forget(gone);
		expect(heartbeat.sockets()).toEqual([kept]);
		expect(heartbeat.size).toBe(1);
		vi.advanceTimersByTime(2_000);
		expect(gone.pings).toBe(0);
		expect(gone.terminated).toBe(false);
		expect(kept.terminated).toBe(true);
		heartbeat.stop();
	});

	it('sends no ping with intervalMs 0, nor after stop()', () => {
		const off = createHeartbeat<FakeSocket>({ intervalMs: 0 });
		const stopped = createHeartbeat<FakeSocket>({ intervalMs: 1_000 });
		const a = new FakeSocket();
		const b = new FakeSocket();
		off.watch(a);
		stopped.watch(b);
		stopped.stop();
		vi.advanceTimersByTime(10_000);
		expect([a.pings, b.pings, a.terminated, b.terminated]).toEqual([0, 0, false, false]);
	});
});
