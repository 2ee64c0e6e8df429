/**
 * The edit-latency loop shared by the room benchmarks (`collab.ts`, `scale-edits.ts`): stock
 * y-websocket clients, each remembering the highest edit sequence number it has applied, and
 * `timeEdit`, which makes one edit on a sender (its change plus `bench.seq` in one transaction)
 * and times its arrival at every receiver. Kept in one place so both benchmarks measure the same
 * thing the same way.
 */
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

export interface EditClient {
	doc: Y.Doc;
	provider: WebsocketProvider;
	/** Highest edit sequence number this client has applied. */
	seen: number;
}

/** A stock provider on `room` at `wsBase` (e.g. `ws://127.0.0.1:1234/yjs`). */
export function connectEditClient(wsBase: string, room: string, token: string): EditClient {
	const doc = new Y.Doc();
	const provider = new WebsocketProvider(wsBase, room, doc, {
		params: { token },
		WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
		disableBc: true
	});
	const client: EditClient = { doc, provider, seen: 0 };
	doc.on('update', () => {
		const seq = doc.getMap('bench').get('seq');
		if (typeof seq === 'number' && seq > client.seen) {
			client.seen = seq;
			doc.emit('bench-seq' as never, [seq] as never);
		}
	});
	return client;
}

/**
 * `sender` makes edit number `seq` (`edit`, plus `bench.seq`, in one transaction); resolves with
 * each receiver's latency in ms, in `receivers` order, or null where it did not arrive within
 * `timeoutMs` (lost).
 */
export async function timeEdit(
	sender: EditClient,
	receivers: EditClient[],
	seq: number,
	edit: (doc: Y.Doc) => void,
	timeoutMs = 5_000
): Promise<(number | null)[]> {
	const sentAt = performance.now();
	const arrivals = receivers.map((c) =>
		arrival(c, seq, timeoutMs).then(
			(at) => at - sentAt,
			() => null
		)
	);
	sender.doc.transact(() => {
		edit(sender.doc);
		sender.doc.getMap('bench').set('seq', seq);
	});
	sender.seen = seq;
	return Promise.all(arrivals);
}

/** Resolves with the time client `c` applied edit `seq`. */
function arrival(c: EditClient, seq: number, timeoutMs: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			c.doc.off('bench-seq' as never, on as never);
			reject(new Error('lost'));
		}, timeoutMs);
		function on(got: number) {
			if (got < seq) return;
			clearTimeout(timer);
			c.doc.off('bench-seq' as never, on as never);
			resolve(performance.now());
		}
		c.doc.on('bench-seq' as never, on as never);
	});
}

export function destroyClients(clients: EditClient[]): void {
	for (const c of clients) {
		c.provider.destroy();
		c.doc.destroy();
	}
}

/** The q-quantile of ascending `sorted` (0 when empty). */
export function quantile(sorted: number[], q: number): number {
	if (sorted.length === 0) return 0;
	return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

export const round1 = (x: number): number => Math.round(x * 10) / 10;

export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
	const start = Date.now();
	while (!predicate()) {
		if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}
