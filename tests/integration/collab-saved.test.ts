/**
 * "n changes not yet saved" → "All changes saved" from the server's acknowledgement (issue 13):
 * the room sends `MESSAGE_SAVED` (server/collab/room.ts) after storing a client's frames, and the
 * browser's tracker (src/lib/collab/saved-tracker.ts, the editor's own code) counts the person's
 * edits it does not cover yet — online, offline, across a server restart. Bad input: a malformed
 * request closes only that socket, with 1007.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { InsertQueryNode, type KyselyPlugin } from 'kysely';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { openDatabase } from '../../server/store/db';
import { sqliteStore, type Store } from '../../server/store/store';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { trackSaved, type SavedTracker } from '../../src/lib/collab/saved-tracker';
import { MESSAGE_SAVED } from '../../src/lib/collab/saved-message';
import { COLLAB_CLOSE } from '../../src/lib/workflow/collab-close-codes';
import { docToWorkflow, removeBlock, setName, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import {
	connectProvider,
	rawClient,
	startCollab,
	tempDbPath,
	waitConverged,
	waitFor,
	type CollabClient,
	type CollabHarness
} from '../helpers/collab';

const tokens = { tok: { workflowId: 'w', access: 'edit' as const }, look: { workflowId: 'w', access: 'view' as const } };
const SEED = {
	name: 'Saved',
	blocks: [
		{ id: 'f', type: 'filter' as const, params: { expression: 'x == 0' } },
		{ id: 's', type: 'save_csv' as const, params: { filename: 'out.csv' } }
	]
};

const harnesses: CollabHarness[] = [];
const clients: CollabClient[] = [];
const files: { remove: () => void }[] = [];
afterEach(async () => {
	for (const c of clients.splice(0)) c.destroy();
	for (const h of harnesses.splice(0)) await h.close({ keepFile: true });
	for (const f of files.splice(0)) f.remove();
});

async function start(port?: number, dbPath?: string): Promise<CollabHarness> {
	const h = await startCollab({ tokens, port, dbPath });
	harnesses.push(h);
	return h;
}

/** A stock provider (not through the harness, so it outlives a server) with the editor's tracker. */
function editor(h: CollabHarness, token = 'tok'): { client: CollabClient; saved: SavedTracker } {
	const client = connectProvider(h.base, 'w', token);
	clients.push(client);
	const saved = trackSaved({ provider: client.provider, doc: client.doc, onChange: () => {} });
	return { client, saved };
}

async function seeded(): Promise<{ h: CollabHarness; client: CollabClient; saved: SavedTracker }> {
	const h = await start();
	const { client, saved } = editor(h);
	await client.synced();
	workflowToDoc(SEED, client.doc);
	await waitFor(() => saved.acknowledged && saved.unsaved === 0, 'the seed is acknowledged');
	return { h, client, saved };
}

describe('the server acknowledges stored edits', () => {
	it('counts each edit until the server has stored it, deletions included; then it is on disk', async () => {
		const file = tempDbPath();
		files.push(file);
		const h = await start(undefined, file.path);
		const { client, saved } = editor(h);
		await client.synced();
		workflowToDoc(SEED, client.doc);
		for (let i = 1; i <= 20; i++) setParam(client.doc, 'f', 'expression', `x == ${i}`);
		removeBlock(client.doc, 's'); // a deletion only: no new item, still an edit to confirm
		// 22 transactions were made in this tick; none can have been acknowledged yet.
		expect(saved.unsaved).toBe(22);
		await waitFor(() => saved.unsaved === 0, 'every edit acknowledged');
		expect(saved.acknowledged).toBe(true);

		// Acknowledged means stored: a fresh server on the same file has all of it.
		harnesses.splice(harnesses.indexOf(h), 1);
		await h.close({ keepFile: true });
		const again = await start(undefined, file.path);
		const stored = docToWorkflow(await again.collab.getDoc('w'));
		expect(stored.blocks.map((b) => b.id)).toEqual(['f']);
		expect((stored.blocks[0].params as { expression: string }).expression).toBe('x == 20');
	});

	it('offline edits stay counted (nothing acknowledges them) until a reconnect stores them', async () => {
		const { h, client, saved } = await seeded();
		client.provider.disconnect();
		for (let i = 0; i < 5; i++) setName(client.doc, `offline ${i}`);
		expect(saved.unsaved).toBe(5);
		// A second client edits meanwhile and is acknowledged; ours still are not.
		const other = editor(h);
		await other.client.synced();
		setParam(other.client.doc, 'f', 'expression', 'y == 1');
		await waitFor(() => other.saved.unsaved === 0, 'the other editor is acknowledged');
		expect(saved.unsaved).toBe(5);

		client.provider.connect();
		await waitFor(() => saved.unsaved === 0, 'the offline edits are acknowledged after the reconnect');
		const server = docToWorkflow(await h.collab.getDoc('w'));
		expect(server.name).toBe('offline 4');
		expect((server.blocks[0].params as { expression: string }).expression).toBe('y == 1');
	});

	it('edits made while the server is down are confirmed by the restarted server, not before', async () => {
		const file = tempDbPath();
		files.push(file);
		const h = await start(undefined, file.path);
		const { port } = h.server.address() as AddressInfo;
		const { client, saved } = editor(h);
		await client.synced();
		workflowToDoc(SEED, client.doc);
		await waitFor(() => saved.unsaved === 0, 'the seed is acknowledged');
		harnesses.splice(harnesses.indexOf(h), 1);
		await h.close({ keepFile: true });
		await waitFor(() => !client.provider.wsconnected, 'the client sees the server gone');
		setParam(client.doc, 'f', 'expression', 'while down');
		expect(saved.unsaved).toBe(1);

		const again = await start(port, file.path);
		await waitFor(() => saved.unsaved === 0, 'acknowledged by the new server', 15_000);
		expect((docToWorkflow(await again.collab.getDoc('w')).blocks[0].params as { expression: string }).expression).toBe('while down');
	});

	it('a view link is never told its edits are saved (they are dropped)', async () => {
		const { h } = await seeded();
		const viewer = editor(h, 'look');
		await viewer.client.synced();
		setName(viewer.client.doc, 'not allowed');
		await waitFor(() => viewer.saved.acknowledged, 'the viewer got an acknowledgement');
		await waitFor(() => h.collab.stats().droppedViewUpdates > 0, 'the room dropped the view link’s update');
		expect(viewer.saved.unsaved).toBe(1);
		expect(docToWorkflow(await h.collab.getDoc('w')).name).toBe('Saved');
	});

	it('a stock client that did not ask never receives the message', async () => {
		const { h, client } = await seeded();
		const stock = connectProvider(h.base, 'w', 'tok');
		clients.push(stock);
		let received = 0;
		stock.provider.messageHandlers[MESSAGE_SAVED] = () => received++;
		await stock.synced();
		setParam(stock.doc, 'f', 'expression', 'stock edit');
		await waitConverged([stock.doc, client.doc, await h.collab.getDoc('w')]);
		expect(received).toBe(0);
	});
});

/**
 * A store whose appends to the document log wait for `open()` (the write happens, its completion
 * is held back), or fail: the store writes are async, so the room must acknowledge after them.
 */
function gatedStore(): { store: Store; open(): void; fail(): void; held(): number; close(): Promise<void> } {
	const base = sqliteStore(openDatabase(':memory:'));
	const logAppends = new Set<unknown>();
	let release!: () => void;
	const gate = new Promise<void>((resolve) => (release = resolve));
	let failing = false;
	let held = 0;
	const plugin: KyselyPlugin = {
		transformQuery({ node, queryId }) {
			if (InsertQueryNode.is(node) && node.into?.table.identifier.name === 'doc_updates') logAppends.add(queryId);
			return node;
		},
		async transformResult({ result, queryId }) {
			if (!logAppends.delete(queryId)) return result;
			held++;
			await gate;
			held--;
			if (failing) throw new Error('disk full');
			return result;
		}
	};
	const db = base.db.withPlugin(plugin);
	const store: Store = {
		dialect: base.dialect,
		db,
		sqlite: base.sqlite,
		get open() {
			return base.open;
		},
		close: () => base.close()
	};
	return {
		store,
		open: () => release(),
		fail() {
			failing = true;
			release();
		},
		held: () => held,
		close: async () => {
			release();
			await base.close();
		}
	};
}

describe('acknowledgements follow the (async) store write', () => {
	async function gatedHarness() {
		const gated = gatedStore();
		const h = await startCollab({ tokens, store: gated.store });
		const raw = rawClient(`${h.base}/w?token=tok`);
		const acks = () =>
			raw.messages.flatMap((m) => {
				const d = decoding.createDecoder(m);
				return decoding.readVarUint(d) === MESSAGE_SAVED ? [decoding.readVarUint(d)] : [];
			});
		await raw.opened;
		raw.ws.send(frame(MESSAGE_SAVED, 1));
		await waitFor(() => acks().length === 1, 'the opt-in answer', 20_000);
		return { gated, h, raw, acks };
	}
	/**
	 * One client's successive renames, each frame the update since the one before: the room's name is
	 * then the last one sent. (Frames from separate docs would be concurrent sets of one map key, won
	 * by client id, not by arrival.)
	 */
	const renames = () => {
		const writer = new Y.Doc();
		return (name: string) => {
			const before = Y.encodeStateVector(writer);
			setName(writer, name);
			const e = encoding.createEncoder();
			encoding.writeVarUint(e, 0); // MESSAGE_SYNC
			encoding.writeVarUint(e, syncProtocol.messageYjsUpdate);
			encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(writer, before));
			return encoding.toUint8Array(e);
		};
	};

	it('no acknowledgement while the append is in flight; then one per turn, in order, counting every frame', async () => {
		const { gated, h, raw, acks } = await gatedHarness();
		const updateFrame = renames();
		try {
			expect(acks()).toEqual([0]);
			raw.ws.send(updateFrame('one'));
			await waitFor(() => gated.held() === 1, 'the append is written, its completion held', 20_000);
			raw.ws.send(updateFrame('two'));
			raw.ws.send(updateFrame('three'));
			// The room has applied them, but none is stored yet: nothing is acknowledged.
			const room = await h.collab.getDoc('w');
			await waitFor(() => docToWorkflow(room).name === 'three', 'the room applied all three', 20_000);
			expect(acks()).toEqual([0]);
			gated.open();
			await waitFor(() => acks().at(-1) === 3, 'all three acknowledged once stored', 20_000);
			const seen = acks();
			expect([...seen].sort((a, b) => a - b)).toEqual(seen); // never going back
			expect(seen.slice(1).every((n) => n >= 1)).toBe(true);
		} finally {
			raw.ws.close();
			gated.open(); // a failed check must not leave the room's close waiting on a held append
			await h.close();
			await gated.close();
		}
	});

	it('a failed append is never acknowledged: the socket closes with 1011 instead', async () => {
		const { gated, h, raw, acks } = await gatedHarness();
		const updateFrame = renames();
		try {
			raw.ws.send(updateFrame('lost'));
			await waitFor(() => gated.held() === 1, 'the append is in flight', 20_000);
			gated.fail();
			const closed = await raw.closed;
			expect(closed.code).toBe(COLLAB_CLOSE.INTERNAL);
			expect(acks()).toEqual([0]);
		} finally {
			gated.open();
			await h.close();
			await gated.close();
		}
	});
});

const frame = (...values: number[]) => {
	const e = encoding.createEncoder();
	for (const v of values) encoding.writeVarUint(e, v);
	return encoding.toUint8Array(e);
};

describe('bad input: a malformed acknowledgement request', () => {
	it.each([
		['no version', frame(MESSAGE_SAVED)],
		['an unknown version', frame(MESSAGE_SAVED, 2)],
		['trailing bytes', frame(MESSAGE_SAVED, 1, 7)]
	])('%s → close 1007; the server stays up and the others keep editing', async (_label, data) => {
		const { h, client, saved } = await seeded();
		const before = h.collab.stats().malformed;
		const raw = rawClient(`${h.base}/w?token=tok`);
		await raw.opened;
		raw.ws.send(data);
		const closed = await raw.closed;
		expect(closed.code).toBe(COLLAB_CLOSE.MALFORMED);
		expect(h.collab.stats().malformed).toBe(before + 1);
		setName(client.doc, 'still here');
		await waitFor(() => saved.unsaved === 0, 'the editor is still acknowledged');
		expect(docToWorkflow(await h.collab.getDoc('w')).name).toBe('still here');
	});
});
