/**
 * Reads another Node process's live heap through its inspector (the process must be started with
 * `--inspect=127.0.0.1:0`): a full garbage collection, then the bytes still used. RSS mixes live
 * data with garbage not yet collected and pages the allocator keeps; the heap after a full GC is
 * the figure that grows only when something is really retained, so it tells a leak from a sawtooth.
 */
import { WebSocket } from 'ws';

export interface HeapProbe {
	/** Forces a full GC in the target and returns its used heap afterwards, in bytes. */
	usedAfterGc(): Promise<number>;
	close(): void;
}

/** The inspector's WebSocket URL from the target's stderr line "Debugger listening on ws://…". */
export function inspectorUrl(lines: readonly string[]): string | null {
	for (const line of lines) {
		const match = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(line);
		if (match) return match[1];
	}
	return null;
}

/** Connects to the inspector at `url`. */
export async function connectHeapProbe(url: string): Promise<HeapProbe> {
	const ws = new WebSocket(url);
	await new Promise<void>((resolve, reject) => {
		ws.once('open', () => resolve());
		ws.once('error', reject);
	});
	let nextId = 1;
	const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
	ws.on('message', (data) => {
		const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
		if (message.id === undefined) return;
		const waiter = pending.get(message.id);
		pending.delete(message.id);
		if (message.error) waiter?.reject(new Error(message.error.message));
		else waiter?.resolve(message.result);
	});
	ws.on('close', () => {
		for (const waiter of pending.values()) waiter.reject(new Error('inspector closed'));
		pending.clear();
	});
	const send = (method: string) =>
		new Promise<unknown>((resolve, reject) => {
			const id = nextId++;
			pending.set(id, { resolve, reject });
			ws.send(JSON.stringify({ id, method }));
		});
	return {
		async usedAfterGc() {
			await send('HeapProfiler.collectGarbage');
			const usage = (await send('Runtime.getHeapUsage')) as { usedSize: number };
			return usage.usedSize;
		},
		close: () => ws.terminate()
	};
}
