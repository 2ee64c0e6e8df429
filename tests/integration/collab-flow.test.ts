/**
 * Flow control, not disconnection (issue 13): a stock y-websocket client making 5,000 transactions
 * as fast as it can is slowed down by the room (its frames wait their turn, its socket is no longer
 * read while too many wait), never closed; another client receives every one, and all are stored.
 * How fast is measured in `tests/bench/collab-flood.ts`, not asserted here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { docToWorkflow, getParamText, workflowToDoc } from '../../src/lib/workflow/doc';
import type { AddressInfo } from 'node:net';
import { connectProvider, startCollab, tempDbPath, waitFor, type CollabHarness } from '../helpers/collab';

const TRANSACTIONS = 5_000;
const tokens = { tok: { workflowId: 'fast', access: 'edit' as const } };

const open: CollabHarness[] = [];
const files: { remove: () => void }[] = [];
afterEach(async () => {
	for (const h of open.splice(0)) await h.close({ keepFile: true });
	for (const f of files.splice(0)) f.remove();
});

async function start(dbPath: string, port?: number): Promise<CollabHarness> {
	// Production limits: the point is what a stock client meets.
	const h = await startCollab({ tokens, dbPath, port });
	open.push(h);
	return h;
}

/** The research plan (free text, a Y.Text), '' until the block has arrived. */
const expression = (doc: Y.Doc) => (docToWorkflow(doc).blocks.length > 0 ? getParamText(doc, 'f', 'research_plan').toString() : '');
/** Transaction i appends the digit i % 10, so the text proves that each one arrived, in order. */
const expected = Array.from({ length: TRANSACTIONS }, (_, i) => String(i % 10)).join('');

describe('a client sending faster than the room applies', () => {
	it('is slowed, not closed: a second client gets all 5,000 transactions and a restarted server has them', async () => {
		const file = tempDbPath();
		files.push(file);
		const h = await start(file.path);
		const writer = h.connect('fast', 'tok');
		const reader = h.connect('fast', 'tok');
		await Promise.all([writer.synced(), reader.synced()]);
		workflowToDoc({ name: 'Fast', blocks: [{ id: 'f', type: 'enrich_lead', params: { struct: {}, research_plan: '' } }] }, writer.doc);
		await waitFor(() => reader.doc.getMap('blocks').size === 1, 'reader has the block');
		const closes: (number | undefined)[] = [];
		writer.provider.on('connection-close', (event) => closes.push(event?.code));

		const text = getParamText(writer.doc, 'f', 'research_plan');
		for (let i = 0; i < TRANSACTIONS; i++) writer.doc.transact(() => text.insert(text.length, String(i % 10)));

		await waitFor(
			() => expression(reader.doc).length === TRANSACTIONS || closes.length > 0,
			'the reader gets the last transaction',
			90_000
		);
		expect(closes).toEqual([]);
		expect(expression(reader.doc)).toBe(expected);
		const stats = h.collab.stats();
		// The burst went beyond the pace (so this exercised flow control), and nobody was closed for it.
		expect(stats.throttledFrames).toBeGreaterThan(0);
		expect(stats.floods).toBe(0);

		// Restart right away; the clients are gone, so only what the server stored can come back.
		writer.destroy();
		reader.destroy();
		open.splice(open.indexOf(h), 1);
		await h.close({ keepFile: true });
		const again = await start(file.path);
		expect(expression(await again.collab.getDoc('fast'))).toBe(expected);
		const late = again.connect('fast', 'tok');
		await late.synced();
		expect(expression(late.doc)).toBe(expected);
	}, 120_000);

	it('keeps every transaction across a restart in the middle of the burst: the client reconnects and resends', async () => {
		const file = tempDbPath();
		files.push(file);
		const h = await start(file.path);
		const { port } = h.server.address() as AddressInfo;
		// Not opened through the harness, so it outlives the first server and reconnects to the next.
		const writer = connectProvider(h.base, 'fast', 'tok');
		await writer.synced();
		workflowToDoc({ name: 'Fast', blocks: [{ id: 'f', type: 'enrich_lead', params: { struct: {}, research_plan: '' } }] }, writer.doc);
		await waitFor(() => h.collab.stats().updatesPersisted > 0, 'the seed is stored');
		const text = getParamText(writer.doc, 'f', 'research_plan');
		for (let i = 0; i < TRANSACTIONS; i++) writer.doc.transact(() => text.insert(text.length, String(i % 10)));

		// Restart while the room works through the burst (seed + two turns stored; ~40 turns to go):
		// most of it is still queued in the room or unread in the socket.
		await waitFor(() => h.collab.stats().updatesPersisted >= 3, 'the room is working through the burst');
		expect(expression(await h.collab.getDoc('fast')).length).toBeLessThan(TRANSACTIONS);
		open.splice(open.indexOf(h), 1);
		await h.close({ keepFile: true });
		const again = await start(file.path, port);
		try {
			const reader = again.connect('fast', 'tok');
			await waitFor(() => expression(reader.doc).length === TRANSACTIONS, 'the reader gets the last transaction', 90_000);
			expect(expression(reader.doc)).toBe(expected);
			expect(expression(await again.collab.getDoc('fast'))).toBe(expected);
		} finally {
			writer.destroy();
		}
	}, 120_000);
});
