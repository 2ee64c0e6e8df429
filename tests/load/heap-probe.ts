/**
 * Reads another Node process's live memory through its inspector (the process must be started with
 * `--inspect=127.0.0.1:0`): a full garbage collection, then the bytes still used — JS heap plus
 * external memory (Buffers, ArrayBuffers: socket frames live there). RSS mixes live data with
 * garbage not yet collected and pages the allocator keeps; memory in use after a full GC grows only
 * when something is really retained, so it tells a leak from a sawtooth.
 */
import { WebSocket } from 'ws';

export interface HeapProbe {
	/** Forces a full GC in the target and returns its heap used + external memory afterwards, in bytes. */
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
	const send = (method: string, params?: Record<string, unknown>) =>
		new Promise<unknown>((resolve, reject) => {
			const id = nextId++;
			pending.set(id, { resolve, reject });
			ws.send(JSON.stringify({ id, method, params }));
		});
	return {
		async usedAfterGc() {
			await send('HeapProfiler.collectGarbage');
			const answer = (await send('Runtime.evaluate', {
				expression: 'JSON.stringify(process.memoryUsage())',
				returnByValue: true
			})) as { result: { value: string } };
			const usage = JSON.parse(answer.result.value) as { heapUsed: number; external: number };
			return usage.heapUsed + usage.external;
		},
		close: () => ws.terminate()
	};
}
