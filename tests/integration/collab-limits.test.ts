/**
 * Limits close only the offending socket, with a clear close code, and never touch the stored
 * document or anyone else's session.
 */
import * as encoding from 'lib0/encoding';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLAB_CLOSE, describeCollabClose } from '../../src/lib/workflow/collab-close-codes';
import { docToWorkflow, setName, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import { rawClient, startCollab, waitFor, type CollabClient, type CollabHarness } from '../helpers/collab';

const LIMITS = {
	maxPayloadBytes: 64 * 1024,
	maxDocBytes: 50_000,
	messagesPerSecond: 50,
	messageBurst: 50,
	inboxPauseFrames: 100,
	inboxPauseBytes: 64 * 1024,
	inboxMaxFrames: 1_000,
	inboxMaxBytes: 256 * 1024,
	maxAwarenessBytes: 4_096
};

let h: CollabHarness;
let alice: CollabClient;
let bob: CollabClient;

beforeAll(async () => {
	h = await startCollab({
		tokens: { tok: { workflowId: 'lim', access: 'edit' }, big: { workflowId: 'big', access: 'edit' } },
		limits: LIMITS
	});
	alice = h.connect('lim', 'tok');
	bob = h.connect('lim', 'tok');
	await Promise.all([alice.synced(), bob.synced()]);
	workflowToDoc({ name: 'Limits', blocks: [{ id: 'f', type: 'filter', params: { expression: 'x == 1' } }] }, alice.doc);
	await waitFor(() => docToWorkflow(bob.doc).blocks.length === 1, 'bob has the workflow');
});
afterAll(() => h.close());

function frame(write: (e: encoding.Encoder) => void): Uint8Array {
	const e = encoding.createEncoder();
	write(e);
	return encoding.toUint8Array(e);
}

const storedUpdates = () => (h.db.prepare(`SELECT COUNT(*) AS n FROM doc_updates WHERE workflow_id = 'lim'`).get() as { n: number }).n;

/** Alice and Bob still edit together, and the stored doc only changed by their edit. */
async function othersUnaffected(label: string): Promise<void> {
	setName(alice.doc, `after ${label}`);
	await waitFor(() => docToWorkflow(bob.doc).name === `after ${label}`, `bob sees alice after ${label}`);
}

describe('limits close only the offending socket', () => {
	const cases: [string, number, string, (send: (data: Uint8Array | string) => void) => void][] = [
		['a frame over maxPayload', COLLAB_CLOSE.TOO_BIG, 'tooBig', (send) => send(new Uint8Array(70 * 1024))],
		['an empty frame', COLLAB_CLOSE.MALFORMED, 'malformed', (send) => send(new Uint8Array(0))],
		['a truncated sync frame', COLLAB_CLOSE.MALFORMED, 'malformed', (send) => send(Uint8Array.of(0, 2, 0xff, 0xff, 0x03))],
		[
			'an update of garbage bytes',
			COLLAB_CLOSE.MALFORMED,
			'malformed',
			(send) =>
				send(
					frame((e) => {
						encoding.writeVarUint(e, 0);
						encoding.writeVarUint(e, 2);
						encoding.writeVarUint8Array(e, Uint8Array.of(3, 200, 17, 99, 4, 250, 1, 1, 9));
					})
				)
		],
		['an unknown sync message', COLLAB_CLOSE.MALFORMED, 'malformed', (send) => send(Uint8Array.of(0, 9, 0))],
		['an unknown message type', COLLAB_CLOSE.UNSUPPORTED, 'unsupported', (send) => send(Uint8Array.of(7))],
		['a text frame', COLLAB_CLOSE.UNSUPPORTED, 'unsupported', (send) => send('hello')],
		[
			'presence that is not JSON',
			COLLAB_CLOSE.MALFORMED,
			'malformed',
			(send) =>
				send(
					frame((e) => {
						encoding.writeVarUint(e, 1);
						const inner = encoding.createEncoder();
						encoding.writeVarUint(inner, 1);
						encoding.writeVarUint(inner, 123456);
						encoding.writeVarUint(inner, 1);
						encoding.writeVarString(inner, '{not json');
						encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
					})
				)
		],
		[
			'presence over maxAwarenessBytes',
			COLLAB_CLOSE.TOO_BIG,
			'tooBig',
			(send) =>
				send(
					frame((e) => {
						encoding.writeVarUint(e, 1);
						encoding.writeVarUint8Array(e, new Uint8Array(5_000));
					})
				)
		]
	];

	it.each(cases)('%s → close %i', async (label, code, counter, misbehave) => {
		const before = docToWorkflow(await h.collab.getDoc('lim'));
		const stored = storedUpdates();
		const countBefore = h.collab.stats()[counter as keyof ReturnType<typeof h.collab.stats>];
		const client = rawClient(`${h.base}/lim?token=tok`);
		await client.opened;
		misbehave((data) => client.ws.send(data));
		const closed = await client.closed;
		expect(closed.code).toBe(code);
		// `ws` itself closes over-long frames, with the standard code and no reason text.
		if (label !== 'a frame over maxPayload') expect(closed.reason.length).toBeGreaterThan(0);
		expect(h.collab.stats()[counter as keyof ReturnType<typeof h.collab.stats>]).toBeGreaterThan(countBefore);
		expect(docToWorkflow(await h.collab.getDoc('lim'))).toEqual(before);
		expect(storedUpdates()).toBe(stored);
		expect(describeCollabClose(code).retry).toBe(false);
		await othersUnaffected(label);
	});

	it('frames faster than the pace wait their turn: every one is answered and the socket stays open', async () => {
		const before = h.collab.stats();
		const client = rawClient(`${h.base}/lim?token=tok`);
		await client.opened;
		let closed = false;
		void client.closed.then(() => (closed = true));
		// 300 awareness queries at once: six times the burst, each answered in turn (50 a second).
		for (let i = 0; i < 300; i++) client.ws.send(Uint8Array.of(3));
		const answers = () => client.messages.filter((m) => m[0] === 1).length;
		await waitFor(() => answers() >= 300, '300 answers', 30_000);
		expect(closed).toBe(false);
		const after = h.collab.stats();
		expect(after.throttledFrames).toBeGreaterThan(before.throttledFrames);
		expect(after.floods).toBe(before.floods);
		client.ws.close();
		await client.closed;
		await othersUnaffected('a burst');
	}, 40_000);

	it('a flood past the inbox bound (more than a paused socket can deliver) closes with 4529, which clients retry', async () => {
		const before = docToWorkflow(await h.collab.getDoc('lim'));
		const stored = storedUpdates();
		const floods = h.collab.stats().floods;
		const client = rawClient(`${h.base}/lim?token=tok`);
		await client.opened;
		// 5,000 frames in one TCP write: the server reads them in one go, past any pause.
		const socket = (client.ws as unknown as { _socket: Socket })._socket;
		socket.cork();
		for (let i = 0; i < 5_000; i++) client.ws.send(Uint8Array.of(3));
		socket.uncork();
		const closed = await client.closed;
		expect(closed.code).toBe(COLLAB_CLOSE.FLOODED);
		expect(closed.reason.length).toBeGreaterThan(0);
		expect(h.collab.stats().floods).toBe(floods + 1);
		expect(describeCollabClose(closed.code).retry).toBe(true);
		// y-websocket gives up only on 4400–4499; 4529 is in its "try again later" range.
		expect(closed.code >= 4400 && closed.code < 4500).toBe(false);
		expect(docToWorkflow(await h.collab.getDoc('lim'))).toEqual(before);
		expect(storedUpdates()).toBe(stored);
		await othersUnaffected('a flood');
	});

	it('an edit that would grow the document past maxDocBytes is refused (4413); the stored doc is unchanged', async () => {
		const writer = h.connect('big', 'big');
		const reader = h.connect('big', 'big');
		await Promise.all([writer.synced(), reader.synced()]);
		workflowToDoc({ blocks: [{ id: 'f', type: 'filter', params: { expression: '' } }] }, writer.doc);
		await waitFor(() => docToWorkflow(reader.doc).blocks.length === 1, 'reader has the block');
		const stored = docToWorkflow(await h.collab.getDoc('big'));

		const closed = new Promise<{ code: number }>((resolve) => writer.provider.on('closed', (event) => resolve(event)));
		setParam(writer.doc, 'f', 'expression', 'x'.repeat(60_000));
		expect((await closed).code).toBe(COLLAB_CLOSE.DOC_TOO_LARGE);
		// The stock provider treats 44xx as final: it does not reconnect and re-send in a loop.
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(writer.provider.wsconnected).toBe(false);
		expect(h.collab.stats().refusedDocTooLarge).toBe(1);

		expect(docToWorkflow(await h.collab.getDoc('big'))).toEqual(stored);
		expect(docToWorkflow(reader.doc)).toEqual(stored);
		setParam(reader.doc, 'f', 'expression', 'small edits still work');
		const server = await h.collab.getDoc('big');
		await waitFor(
			() => (docToWorkflow(server).blocks[0].params as { expression: string }).expression === 'small edits still work',
			'reader edits'
		);
		writer.destroy();
		reader.destroy();
	});
});
