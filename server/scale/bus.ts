/**
 * The message bus between processes (issue 11): rooms relay document and presence updates on it,
 * the live feeds their job events. Channels carry bytes, delivered at most once, in order per
 * publisher and channel, to every subscriber — the publishing process's own included (a receiver
 * that must skip its own messages tags them, see collab/relay.ts).
 *
 * Two implementations: `createMemoryBus` (one process; tests use one to stand for several), and
 * `connectRedisBus` (Redis pub/sub: one publishing connection, one dedicated subscriber, both
 * reconnecting by themselves; see redis.ts). Pub/sub keeps nothing for a subscriber that is away,
 * so the bus reports its state (`onStatus`): after `'down'` a user must assume it missed messages
 * and reload from the store once it is `'up'` again.
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './redis';

export type BusHandler = (payload: Uint8Array) => void;
export type BusStatus = 'up' | 'down';

export interface MessageBus {
	/** Sends `payload` to every subscriber of `channel` (fire and forget). */
	publish(channel: string, payload: Uint8Array): void;
	/** Starts delivering `channel` to `handler`; resolves once the subscription is in effect. */
	subscribe(channel: string, handler: BusHandler): Promise<void>;
	/** Stops delivering `channel` to `handler`. */
	unsubscribe(channel: string, handler: BusHandler): void;
	/** True while messages flow (always, in memory). */
	readonly up: boolean;
	/** Hears every change of `up`; returns the function that stops listening. */
	onStatus(listener: (status: BusStatus) => void): () => void;
	close(): Promise<void>;
}

/** Handlers per channel, shared by both implementations. */
class Subscribers {
	readonly #byChannel = new Map<string, Set<BusHandler>>();

	/** Adds `handler`; true if `channel` had no handler before. */
	add(channel: string, handler: BusHandler): boolean {
		let set = this.#byChannel.get(channel);
		const first = !set;
		if (!set) this.#byChannel.set(channel, (set = new Set()));
		set.add(handler);
		return first;
	}

	/** Removes `handler`; true if `channel` has no handler left. */
	remove(channel: string, handler: BusHandler): boolean {
		const set = this.#byChannel.get(channel);
		if (!set) return false;
		set.delete(handler);
		if (set.size > 0) return false;
		this.#byChannel.delete(channel);
		return true;
	}

	has(channel: string): boolean {
		return this.#byChannel.has(channel);
	}

	deliver(channel: string, payload: Uint8Array, onError: (error: unknown) => void): void {
		const set = this.#byChannel.get(channel);
		if (!set) return;
		for (const handler of [...set]) {
			try {
				handler(payload);
			} catch (error) {
				onError(error);
			}
		}
	}
}

/**
 * One process's bus: delivery is asynchronous (a later macrotask, in order), as over Redis, so
 * code tested on it does not come to rely on synchronous delivery.
 * @example const bus = createMemoryBus(); await bus.subscribe('c', (b) => …); bus.publish('c', new Uint8Array([1]))
 */
export function createMemoryBus(options: { onError?: (error: unknown) => void } = {}): MessageBus {
	const subscribers = new Subscribers();
	const onError = options.onError ?? (() => {});
	let closed = false;
	return {
		publish(channel, payload) {
			if (closed) return;
			const copy = payload.slice();
			setImmediate(() => subscribers.deliver(channel, copy, onError));
		},
		async subscribe(channel, handler) {
			subscribers.add(channel, handler);
		},
		unsubscribe(channel, handler) {
			subscribers.remove(channel, handler);
		},
		up: true,
		onStatus: () => () => {},
		async close() {
			closed = true;
		}
	};
}

export interface RedisBusOptions {
	url: string;
	/**
	 * Put before every channel name. Pub/sub channels are server-wide (not per db number), so the
	 * default, `leadflow:<db>:`, keeps deployments on different db numbers of one Redis apart.
	 */
	prefix?: string;
	/** Connection names are `leadflow:<name>-pub` / `-sub` in `CLIENT LIST` (default `bus-<pid>`). */
	name?: string;
	onError?: (error: unknown) => void;
}

/**
 * The bus over Redis pub/sub, once both its connections answer (rejects with a `RedisStartError`
 * otherwise). Payloads are bytes end to end (Buffer channels, no string decoding). Commands wait
 * for a lost connection to come back rather than fail: the bus reports 'down' meanwhile.
 * @example const bus = await connectRedisBus({ url: config.scaleOut.redisUrl }); bus.onStatus((s) => …)
 */
export async function connectRedisBus(
	options: RedisBusOptions
): Promise<MessageBus & { readonly connections: { pub: Redis; sub: Redis } }> {
	const prefix = options.prefix ?? `leadflow:${redisDb(options.url)}:`;
	const onError = options.onError ?? (() => {});
	const name = options.name ?? `bus-${process.pid}`;
	const [pub, sub] = await Promise.allSettled([
		connectRedis(options.url, { name: `${name}-pub`, whileDown: 'wait' }),
		connectRedis(options.url, { name: `${name}-sub`, whileDown: 'wait' })
	]).then((results) => {
		const failed = results.find((r) => r.status === 'rejected');
		if (!failed) return results.map((r) => (r as PromiseFulfilledResult<Redis>).value);
		for (const r of results) if (r.status === 'fulfilled') r.value.disconnect();
		throw (failed as PromiseRejectedResult).reason;
	});
	const subscribers = new Subscribers();
	/** Channel → its SUBSCRIBE command, for callers joining a channel another handler opened. */
	const subscribing = new Map<string, Promise<unknown>>();
	const statusListeners = new Set<(status: BusStatus) => void>();
	// Both answered PING: up from the start.
	let pubReady = pub.status === 'ready';
	let subReady = sub.status === 'ready';
	let up = pubReady && subReady;
	let closed = false;

	const update = () => {
		const now = pubReady && subReady && !closed;
		if (now === up) return;
		up = now;
		for (const listener of [...statusListeners]) listener(now ? 'up' : 'down');
	};
	for (const [conn, set] of [
		[pub, (v: boolean) => (pubReady = v)],
		[sub, (v: boolean) => (subReady = v)]
	] as const) {
		// ioredis re-subscribes by itself before 'ready' on a reconnect.
		conn.on('ready', () => {
			set(true);
			update();
		});
		conn.on('close', () => {
			set(false);
			update();
		});
		conn.on('error', (error) => onError(error));
	}
	sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
		const name = channel.toString('utf8');
		if (!name.startsWith(prefix)) return;
		subscribers.deliver(name.slice(prefix.length), new Uint8Array(message.buffer, message.byteOffset, message.byteLength), onError);
	});

	return {
		connections: { pub, sub },
		publish(channel, payload) {
			if (closed) return;
			pub.publish(prefix + channel, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)).catch(onError);
		},
		async subscribe(channel, handler) {
			if (subscribers.add(channel, handler)) subscribing.set(channel, sub.subscribe(prefix + channel));
			await subscribing.get(channel);
		},
		unsubscribe(channel, handler) {
			if (subscribers.remove(channel, handler) && !closed) {
				subscribing.delete(channel);
				sub.unsubscribe(prefix + channel).catch(onError);
			}
		},
		get up() {
			return up;
		},
		onStatus(listener) {
			statusListeners.add(listener);
			return () => statusListeners.delete(listener);
		},
		async close() {
			if (closed) return;
			closed = true;
			update();
			await Promise.allSettled([pub.quit(), sub.quit()]);
		}
	};
}

/** The db number of a Redis URL (`redis://host:port/3` → 3; default 0). */
function redisDb(url: string): number {
	try {
		const db = Number(new URL(url).pathname.replace(/^\//, '') || '0');
		return Number.isInteger(db) ? db : 0;
	} catch {
		return 0;
	}
}
