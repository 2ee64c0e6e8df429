/**
 * Presence (awareness) cannot be abused from a link: on the real server, a view-only stock
 * y-websocket client that names hundreds of thousands of client ids keeps at most its own entry,
 * the editors see only the people really there and receive next to nothing of the flood, and
 * every entry says (stamped by the server, whatever the client claimed) whether it is view-only.
 * A moderate excess of presence changes is dropped, not punished with a close.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/index';
import { COLLAB_CLOSE, describeCollabClose } from '../../src/lib/workflow/collab-close-codes';
import { awarenessFrame, connectProvider, startCollab, waitFor, type CollabClient, type CollabHarness } from '../helpers/collab';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let temp: TempDir;
let server: RunningServer;
const clients: CollabClient[] = [];
const harnesses: CollabHarness[] = [];

beforeAll(async () => {
	temp = await makeTempDir();
	server = await startTestServer(testServerEnv(temp.dir, null));
});
afterEach(async () => {
	for (const c of clients.splice(0)) c.destroy();
	for (const h of harnesses.splice(0)) await h.close();
});
afterAll(async () => {
	await server?.close();
	await temp?.cleanup();
});

async function createWorkflow(): Promise<{ id: string; edit: string; view: string }> {
	const res = await fetch(`${server.url}/api/workflows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
	expect(res.status).toBe(201);
	const body = (await res.json()) as { id: string; edit_token: string; view_token: string };
	return { id: body.id, edit: body.edit_token, view: body.view_token };
}

function join(workflowId: string, token: string): CollabClient {
	const client = connectProvider(`${server.url.replace(/^http/, 'ws')}/yjs`, workflowId, token);
	clients.push(client);
	return client;
}

const socketOf = (client: CollabClient) => client.provider.ws as unknown as WebSocket;

/**
 * Sends sync step 1 on `client`'s socket and resolves when the server answered it (step 2) or
 * closed the socket: either way, everything sent before it on that socket has been handled, and
 * everything the server relayed to this client before has arrived.
 */
function roundTrip(client: CollabClient): Promise<{ closed: number | null }> {
	const ws = socketOf(client);
	return new Promise((resolve) => {
		const onMessage = (data: Buffer) => {
			const decoder = decoding.createDecoder(new Uint8Array(data));
			if (decoding.readVarUint(decoder) !== 0 || decoding.readVarUint(decoder) !== syncProtocol.messageYjsSyncStep2) return;
			done({ closed: null });
		};
		const onClose = (code: number) => done({ closed: code });
		const done = (result: { closed: number | null }) => {
			ws.off('message', onMessage);
			ws.off('close', onClose);
			resolve(result);
		};
		ws.on('message', onMessage);
		ws.on('close', onClose);
		if (ws.readyState !== ws.OPEN) return done({ closed: -1 });
		const step1 = encoding.createEncoder();
		encoding.writeVarUint(step1, 0);
		syncProtocol.writeSyncStep1(step1, new Y.Doc());
		ws.send(encoding.toUint8Array(step1));
	});
}

type PresenceState = { user?: { name?: string }; access?: unknown } | undefined;
const stateOf = (observer: CollabClient, client: CollabClient) =>
	observer.provider.awareness.getStates().get(client.doc.clientID) as PresenceState;

describe('a view link flooding presence ids (real server)', () => {
	it('keeps at most one entry for that connection: the editor sees only the real people and little of the flood', async () => {
		const wf = await createWorkflow();
		const editor = join(wf.id, wf.edit);
		const viewer = join(wf.id, wf.view);
		await Promise.all([editor.synced(), viewer.synced()]);
		editor.provider.awareness.setLocalStateField('user', { name: 'Ada' });
		viewer.provider.awareness.setLocalStateField('user', { name: 'Ada' });
		await waitFor(() => stateOf(editor, viewer)?.user?.name === 'Ada', 'the editor sees the viewer');

		let most = 0;
		const count = () => (most = Math.max(most, editor.provider.awareness.getStates().size));
		editor.provider.awareness.on('change', count);
		let bytes = 0;
		socketOf(editor).on('message', (data: Buffer) => (bytes += data.byteLength));

		// 200,000 made-up ids in frames under the 64 KiB presence limit, over the stock client's socket.
		const FRAMES = 40;
		const PER_FRAME = 5_000;
		const ws = socketOf(viewer);
		const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
		for (let f = 0; f < FRAMES && ws.readyState === ws.OPEN; f++) {
			const entries = Array.from({ length: PER_FRAME }, (_, i) => ({
				clientId: 1_000_000 + f * PER_FRAME + i,
				clock: 1,
				state: '{}'
			}));
			ws.send(awarenessFrame(entries));
		}
		const viewerEnd = await roundTrip(viewer);
		await roundTrip(editor);
		count();

		expect(most, 'presence entries the editor ever held').toBeLessThanOrEqual(2);
		expect(bytes, 'bytes relayed to the editor while the viewer flooded').toBeLessThan(16 * 1024);
		const ids = [...editor.provider.awareness.getStates().keys()].filter((id) => id !== editor.doc.clientID);
		expect(
			ids.every((id) => id === viewer.doc.clientID),
			'no made-up id reached the editor'
		).toBe(true);
		const metrics = await (await fetch(`${server.url}/metrics`)).text();
		const entries = Number(/^leadflow_collab_presence_entries (\d+)/m.exec(metrics)?.[1]);
		expect(entries, 'presence entries the server holds').toBeLessThanOrEqual(2);
		if (viewerEnd.closed !== null) {
			// Clear abuse: closed with a code the stock provider does not reconnect on.
			expect(await closed).toBe(COLLAB_CLOSE.PRESENCE_FLOOD);
			expect(describeCollabClose(COLLAB_CLOSE.PRESENCE_FLOOD).retry).toBe(false);
			await waitFor(() => !editor.provider.awareness.getStates().has(viewer.doc.clientID), 'the flooder leaves the room');
		}
	});
});

describe('presence says who is view-only', () => {
	it('stamps every entry with its connection’s access, whatever the client claimed', async () => {
		const wf = await createWorkflow();
		const editor = join(wf.id, wf.edit);
		const other = join(wf.id, wf.edit);
		const viewer = join(wf.id, wf.view);
		await Promise.all([editor.synced(), other.synced(), viewer.synced()]);
		// The viewer poses as the editor, claiming edit access; the editor claims nothing.
		viewer.provider.awareness.setLocalState({ user: { name: 'Ada', color: '#ff0000' }, access: 'edit' });
		editor.provider.awareness.setLocalState({ user: { name: 'Ada', color: '#ff0000' } });
		await waitFor(() => stateOf(other, viewer)?.user?.name === 'Ada' && stateOf(other, editor)?.user?.name === 'Ada', 'both relayed');
		expect(stateOf(other, viewer)?.access).toBe('view');
		expect(stateOf(other, editor)?.access).toBe('edit');
		expect(stateOf(viewer, editor)?.access).toBe('edit');
		expect(stateOf(editor, viewer)?.access).toBe('view');
	});
});

describe('stock clients are never penalised', () => {
	it('a room of stock clients (each echoing everyone’s presence) keeps everyone, and nobody is closed', async () => {
		const wf = await createWorkflow();
		const people = [join(wf.id, wf.edit), join(wf.id, wf.edit), join(wf.id, wf.view), join(wf.id, wf.edit), join(wf.id, wf.view)];
		const closes: number[] = [];
		for (const p of people) p.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code));
		await Promise.all(people.map((p) => p.synced()));
		people.forEach((p, i) => p.provider.awareness.setLocalStateField('user', { name: `Person ${i}` }));
		const everyoneSeesEveryone = () => people.every((p) => people.every((q) => stateOf(p, q)?.user?.name !== undefined));
		await waitFor(everyoneSeesEveryone, 'everyone sees everyone');
		// A few focus changes each, as people click around.
		for (let round = 0; round < 5; round++) {
			people.forEach((p, i) => p.provider.awareness.setLocalStateField('editing', { block_id: `b${round}`, field: `f${i}` }));
		}
		for (const p of people) await roundTrip(p);
		expect(closes).toEqual([]);
		expect(people.every((p) => p.provider.awareness.getStates().size === people.length)).toBe(true);
	});
});

describe('presence rate', () => {
	it('drops a moderate excess of presence changes instead of closing the socket', async () => {
		const h = await startCollab({
			tokens: { edit: { workflowId: 'r', access: 'edit' } },
			limits: { awarenessPerSecond: 1, awarenessBurst: 5 }
		});
		harnesses.push(h);
		const fast = h.connect('r', 'edit');
		const observer = h.connect('r', 'edit');
		await Promise.all([fast.synced(), observer.synced()]);
		let changes = 0;
		observer.provider.awareness.on('change', ({ added, updated }: { added: number[]; updated: number[] }) => {
			if ([...added, ...updated].includes(fast.doc.clientID)) changes++;
		});
		// 100 changes of its own presence at once: within the message budget, far over the presence rate.
		for (let i = 0; i < 100; i++) fast.provider.awareness.setLocalStateField('editing', { block_id: `b${i}`, field: null });
		const end = await roundTrip(fast);
		await roundTrip(observer);
		expect(end.closed).toBeNull();
		expect(h.collab.stats().droppedAwareness).toBeGreaterThan(0);
		expect(changes).toBeLessThan(100);
		// Still a working connection: its edits and presence get through.
		fast.doc.getMap('probe').set('after', true);
		await waitFor(() => observer.doc.getMap('probe').get('after') === true, 'an edit after the burst');
	});
});
