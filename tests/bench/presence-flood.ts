/**
 * A view link floods presence with made-up client ids (the stock client's socket, frames under the
 * 64 KiB presence limit): what the room server keeps, what an editor beside it receives, and the
 * heap it costs (server and both clients share this process). Run alone:
 * `node --expose-gc --import tsx tests/bench/presence-flood.ts [ids]` (default 800,000 ids).
 */
import type { WebSocket } from 'ws';
import { awarenessFrame, startCollab, waitFor } from '../helpers/collab';

const PER_FRAME = 5_000;

export interface PresenceFloodResult {
	ids: number;
	seconds: number;
	serverEntries: number;
	editorMostEntries: number;
	relayedToEditorBytes: number;
	heapGrowthMb: number;
	flooderClosedWith: number | null;
}

export async function benchPresenceFlood(ids = 800_000): Promise<PresenceFloodResult> {
	const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
	const h = await startCollab({ tokens: { edit: { workflowId: 'w', access: 'edit' }, view: { workflowId: 'w', access: 'view' } } });
	try {
		const editor = h.connect('w', 'edit');
		const viewer = h.connect('w', 'view');
		await Promise.all([editor.synced(), viewer.synced()]);
		let most = editor.provider.awareness.getStates().size;
		editor.provider.awareness.on('change', () => (most = Math.max(most, editor.provider.awareness.getStates().size)));
		let relayed = 0;
		(editor.provider.ws as unknown as WebSocket).on('message', (data: Buffer) => (relayed += data.byteLength));
		const ws = viewer.provider.ws as unknown as WebSocket;
		let closedWith: number | null = null;
		ws.once('close', (code) => (closedWith = code));
		gc();
		const heapBefore = process.memoryUsage().heapUsed;
		const started = performance.now();
		for (let sent = 0; sent < ids && ws.readyState === ws.OPEN; sent += PER_FRAME) {
			const n = Math.min(PER_FRAME, ids - sent);
			ws.send(awarenessFrame(Array.from({ length: n }, (_, i) => ({ clientId: 1_000_000 + sent + i, clock: 1, state: '{}' }))));
			// Let the frames be handled as they come, as over a real network.
			if ((sent / PER_FRAME) % 20 === 19) await new Promise((r) => setTimeout(r, 0));
		}
		// Done when the server has held (and the editor received) all it is going to.
		let last = -1;
		await waitFor(
			() => {
				const now = relayed;
				const settled = now === last;
				last = now;
				return settled && ws.bufferedAmount === 0;
			},
			'flood handled',
			120_000
		);
		await new Promise((r) => setTimeout(r, 200));
		const seconds = (performance.now() - started) / 1000;
		const serverEntries = h.collab.stats().presenceEntries;
		gc();
		const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
		editor.destroy();
		viewer.destroy();
		return {
			ids,
			seconds,
			serverEntries,
			editorMostEntries: most,
			relayedToEditorBytes: relayed,
			heapGrowthMb,
			flooderClosedWith: closedWith
		};
	} finally {
		await h.close();
	}
}

export function formatPresenceFlood(r: PresenceFloodResult): string {
	return [
		'| ids sent | server keeps | editor saw at most | relayed to editor | heap growth | flooder |',
		'|---:|---:|---:|---:|---:|---|',
		`| ${r.ids.toLocaleString('en')} | ${r.serverEntries} | ${r.editorMostEntries} | ${(r.relayedToEditorBytes / 1024).toFixed(1)} KiB | ${r.heapGrowthMb.toFixed(1)} MB | ${r.flooderClosedWith === null ? 'open' : `closed ${r.flooderClosedWith}`} |`
	].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const ids = Number(process.argv[2] ?? 800_000);
	console.log(formatPresenceFlood(await benchPresenceFlood(ids)));
	process.exit(0);
}
