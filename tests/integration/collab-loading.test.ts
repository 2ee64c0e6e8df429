/**
 * While a room loads (a slow database, a slow Redis subscription when scaled out), a client's
 * frames wait in the kernel, not in the server's memory: the socket is paused until the room is
 * there (review finding: they were buffered without any limit). The server then takes them in
 * order, and everyone else is served as before.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryBus, type MessageBus } from '../../server/scale/bus';
import { docToWorkflow, setName } from '../../src/lib/workflow/doc';
import { rawClient, startCollab, waitFor, type CollabHarness } from '../helpers/collab';

/** A bus whose subscriptions (which a room awaits before it loads) wait until `open()`. */
function gatedBus(): { bus: MessageBus; open: () => void } {
	const inner = createMemoryBus();
	let open!: () => void;
	const gate = new Promise<void>((resolve) => (open = resolve));
	const bus: MessageBus = {
		publish: (channel, payload) => inner.publish(channel, payload),
		subscribe: async (channel, handler) => {
			await gate;
			return inner.subscribe(channel, handler);
		},
		unsubscribe: (channel, handler) => inner.unsubscribe(channel, handler),
		get up() {
			return inner.up;
		},
		onStatus: (listener) => inner.onStatus(listener),
		close: () => inner.close()
	};
	return { bus, open };
}

const FRAME_BYTES = 1_500_000;
const FRAMES = 24; // 36 MB: far more than loopback's socket buffers hold

let h: CollabHarness;
afterAll(() => h?.close());

describe('frames sent while a room loads', () => {
	it('wait in the kernel (the client is slowed), then the room serves everyone', async () => {
		const gated = gatedBus();
		h = await startCollab({ tokens: { t: { workflowId: 'slow', access: 'edit' } }, bus: gated.bus });
		const client = rawClient(`${h.base}/slow?token=t`);
		await client.opened;
		for (let i = 0; i < FRAMES; i++) client.ws.send(new Uint8Array(FRAME_BYTES));
		// The room is still loading: the server reads no more than one socket read ahead, so most of
		// what was sent is still on the client's side.
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(client.ws.bufferedAmount).toBeGreaterThan((FRAMES * FRAME_BYTES) / 2);

		gated.open();
		// Those frames were junk: once the room is there they are read, and only that socket is closed.
		const closed = await client.closed;
		expect(closed.code).toBeGreaterThanOrEqual(1000);
		const editor = h.connect('slow', 't');
		const other = h.connect('slow', 't');
		await Promise.all([editor.synced(), other.synced()]);
		setName(editor.doc, 'after the load');
		await waitFor(() => docToWorkflow(other.doc).name === 'after the load', 'the room serves the others');
	}, 30_000);
});
