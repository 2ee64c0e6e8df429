/**
 * The message bus (server/scale/bus.ts), both implementations through one table: bytes arrive
 * unchanged (every byte value, invalid UTF-8, empty, 1 MiB), in order, to every subscriber and only
 * to subscribers; unsubscribing stops delivery. The Redis one: a dedicated subscriber connection
 * killed with `CLIENT KILL` reports 'down', reconnects and re-subscribes by itself ('up'), and
 * carries messages again; two deployments on different db numbers never hear each other.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { connectRedisBus, createMemoryBus, type MessageBus } from '../../server/scale/bus';
import { connectRedis, RedisStartError } from '../../server/scale/redis';
import { freshRedis, type TestRedis } from '../helpers/scale-services';

let redis: TestRedis;
const buses: MessageBus[] = [];
beforeAll(async () => {
	redis = await freshRedis();
});
afterAll(async () => {
	await Promise.all(buses.map((b) => b.close()));
	await redis?.release();
});

/** Resolves with the first `count` payloads `channel` delivers on `bus`. */
function collect(bus: MessageBus, channel: string, count: number): { done: Promise<Uint8Array[]>; ready: Promise<void> } {
	const got: Uint8Array[] = [];
	let resolve!: (v: Uint8Array[]) => void;
	const done = new Promise<Uint8Array[]>((r) => (resolve = r));
	const handler = (payload: Uint8Array) => {
		got.push(payload.slice());
		if (got.length === count) {
			bus.unsubscribe(channel, handler);
			resolve(got);
		}
	};
	return { done, ready: bus.subscribe(channel, handler) };
}

const implementations: { name: string; open: () => MessageBus | Promise<MessageBus> }[] = [
	{ name: 'in-process', open: () => createMemoryBus() },
	{ name: 'Redis', open: () => connectRedisBus({ url: redis.url, name: `test-${randomBytes(4).toString('hex')}` }) }
];

describe.each(implementations)('the $name bus', ({ open }) => {
	async function bus(): Promise<MessageBus> {
		const b = await open();
		buses.push(b);
		if (!b.up) await new Promise<void>((resolve) => b.onStatus((s) => s === 'up' && resolve()));
		return b;
	}

	it('delivers bytes unchanged and in order to every subscriber, and only to them', async () => {
		const a = await bus();
		const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
		const invalidUtf8 = Uint8Array.from([0xff, 0xfe, 0xc3, 0x28, 0x00, 0xed, 0xa0, 0x80]);
		const big = randomBytes(1024 * 1024);
		const payloads = [
			everyByte,
			invalidUtf8,
			new Uint8Array(0),
			new Uint8Array(big),
			...Array.from({ length: 50 }, (_, i) => Uint8Array.of(i))
		];
		const first = collect(a, 'ch', payloads.length);
		const second = collect(a, 'ch', payloads.length);
		let other = 0;
		const otherHandler = () => void other++;
		await Promise.all([first.ready, second.ready, a.subscribe('other', otherHandler)]);
		// A view of a larger buffer: only the viewed bytes travel.
		const backing = Uint8Array.from([9, 9, ...everyByte, 9]);
		a.publish('ch', backing.subarray(2, 258));
		for (const p of payloads.slice(1)) a.publish('ch', p);
		const [got1, got2] = await Promise.all([first.done, second.done]);
		for (const got of [got1, got2]) {
			expect(got.length).toBe(payloads.length);
			got.forEach((p, i) => expect(Buffer.from(p).equals(Buffer.from(payloads[i]))).toBe(true));
		}
		expect(other).toBe(0);
		a.unsubscribe('other', otherHandler);
	});

	it('stops delivering after unsubscribe', async () => {
		const a = await bus();
		let heard = 0;
		const handler = () => void heard++;
		await a.subscribe('gone', handler);
		a.unsubscribe('gone', handler);
		const marker = collect(a, 'marker', 1);
		await marker.ready;
		a.publish('gone', Uint8Array.of(1));
		a.publish('marker', Uint8Array.of(2));
		await marker.done;
		expect(heard).toBe(0);
	});
});

describe('the Redis bus across connections', () => {
	it('reports down when its subscriber connection is killed, comes back by itself and carries messages again', async () => {
		const name = `kill-${randomBytes(4).toString('hex')}`;
		const victim = await connectRedisBus({ url: redis.url, name });
		const sender = await connectRedisBus({ url: redis.url, name: `${name}-sender` });
		buses.push(victim, sender);
		const statuses: string[] = [];
		victim.onStatus((s) => statuses.push(s));
		const before = collect(victim, 'news', 1);
		await before.ready;
		await waitUp(sender);
		sender.publish('news', Uint8Array.of(1));
		expect([...(await before.done)[0]]).toEqual([1]);

		const admin = new Redis(redis.url);
		const list = await admin.client('LIST');
		const id = String(list)
			.split('\n')
			.find((line) => line.includes(`name=leadflow:${name}-sub `))
			?.match(/id=(\d+)/)?.[1];
		expect(id).toBeDefined();
		await admin.client('KILL', 'ID', id!);
		await admin.quit();

		await waitFor(() => statuses.includes('down') && victim.up, 'the bus went down and came back');
		expect(statuses.slice(-2)).toEqual(['down', 'up']);
		// Re-subscribed by itself: a message published now arrives.
		const after = collect(victim, 'news', 1);
		await after.ready;
		sender.publish('news', Uint8Array.of(2, 0, 255));
		expect([...(await after.done)[0]]).toEqual([2, 0, 255]);
	});

	it('keeps deployments on different db numbers apart (channels get the db as prefix)', async () => {
		const other = await freshRedis();
		try {
			const here = await connectRedisBus({ url: redis.url, name: 'apart-a' });
			const there = await connectRedisBus({ url: other.url, name: 'apart-b' });
			buses.push(here, there);
			let leaked = 0;
			await there.subscribe('shared-name', () => void leaked++);
			const own = collect(here, 'shared-name', 1);
			await own.ready;
			await waitUp(here);
			here.publish('shared-name', Uint8Array.of(7));
			await own.done;
			// `there` subscribed first and is on the same Redis server: one round trip later it would have it.
			await there.subscribe('sync', () => {});
			expect(leaked).toBe(0);
			await there.close();
		} finally {
			await other.release();
		}
	});
});

describe("the start-up check (every Redis connection, the bus's included)", () => {
	it('is up from the start for a Redis that answers', async () => {
		const bus = await connectRedisBus({ url: redis.url, name: 'start-ok' });
		buses.push(bus);
		expect(bus.up).toBe(true);
	});

	it.each([
		{
			what: 'a port nobody listens on',
			url: 'redis://user:s3cret-pw@127.0.0.1:1/4',
			start: /^Cannot start: Redis at redis:\/\/127\.0\.0\.1:1\/4 \(REDIS_URL\) is unreachable: /
		},
		{
			what: 'a host that does not resolve',
			url: 'redis://:s3cret-pw@no-such-host.invalid:6379/0',
			start: /^Cannot start: Redis at redis:\/\/no-such-host\.invalid:6379\/0 \(REDIS_URL\) is unreachable: /
		},
		{
			what: 'a password in the query (ioredis reads it there too)',
			url: 'redis://127.0.0.1:1/4?password=s3cret-pw&db=4',
			start: /^Cannot start: Redis at redis:\/\/127\.0\.0\.1:1\/4 \(REDIS_URL\) is unreachable: /
		},
		{
			what: 'a URL that is not one',
			url: 'not a url s3cret-pw',
			start: /^Cannot start: (Redis at an unreadable REDIS_URL|REDIS_URL is not a Redis URL)/
		}
	])('names Redis in one line, never the password: $what', async ({ url, start }) => {
		const attempts = [
			() => connectRedisBus({ url, name: 'start-bad' }).then((bus) => bus.close()),
			() => connectRedis(url, { name: 'start-bad', connectTimeoutMs: 2_000 }).then((r) => r.disconnect())
		];
		for (const attempt of attempts) {
			const error = await attempt().then(
				() => null,
				(e: unknown) => e as Error
			);
			expect(error).toBeInstanceOf(RedisStartError);
			expect(error?.message).toMatch(start);
			expect(error?.message).not.toContain('s3cret-pw');
			expect(error?.message.split('\n')).toHaveLength(1);
		}
	});
});

async function waitUp(bus: MessageBus): Promise<void> {
	if (!bus.up) await new Promise<void>((resolve) => bus.onStatus((s) => s === 'up' && resolve()));
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
	const started = Date.now();
	while (!check()) {
		if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting until ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}
