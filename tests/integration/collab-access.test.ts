/**
 * Access to rooms: refused upgrades get an HTTP status and no Yjs message; view links read and
 * show presence but cannot change the document (their updates are dropped and counted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docToWorkflow, setName, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import { rawClient, startCollab, waitConverged, waitFor, type CollabHarness } from '../helpers/collab';

let h: CollabHarness;

beforeAll(async () => {
	h = await startCollab({
		tokens: {
			'edit-a': { workflowId: 'a', access: 'edit' },
			'view-a': { workflowId: 'a', access: 'view' },
			'edit-b': { workflowId: 'b', access: 'edit' }
		},
		allowedOrigins: ['https://leads.example']
	});
});
afterAll(() => h.close());

describe('upgrade refusals', () => {
	it.each([
		['no token', 401, '/a', {}],
		['empty token', 401, '/a?token=', {}],
		['unknown token', 401, '/a?token=nope', {}],
		['a huge token', 401, `/a?token=${'x'.repeat(600)}`, {}],
		['a token of another workflow', 403, '/b?token=edit-a', {}],
		['a foreign browser origin', 403, '/a?token=edit-a', { Origin: 'https://evil.example' }],
		['an id with bad characters', 404, '/a%2F..?token=edit-a', {}],
		['no id', 404, '/?token=edit-a', {}]
	])('%s → %i, before any Yjs message', async (_label, status, path, headers) => {
		const before = h.collab.stats().refusedUpgrades;
		const client = rawClient(`${h.base}${path}`, headers);
		let opened = false;
		client.opened.then(() => (opened = true));
		expect(await client.refused).toBe(status);
		await client.closed;
		expect(opened).toBe(false);
		expect(client.messages).toHaveLength(0);
		expect(h.collab.stats().refusedUpgrades).toBe(before + 1);
	});

	it('an allowed origin, or none (non-browser clients), is let in', async () => {
		for (const headers of [{ Origin: 'https://leads.example' }, {}] as Record<string, string>[]) {
			const client = rawClient(`${h.base}/a?token=edit-a`, headers);
			await client.opened;
			await waitFor(() => client.messages.length > 0, 'server sends sync step 1');
			client.ws.close();
			await client.closed;
		}
	});

	it('paths outside the prefix are left to other handlers', () => {
		const req = { url: '/live/a?token=edit-a', headers: {} } as never;
		expect(h.collab.handleUpgrade(req, {} as never, Buffer.alloc(0))).toBe(false);
	});
});

describe('view links', () => {
	it('receive edits and presence but cannot change the document', async () => {
		const editor = h.connect('a', 'edit-a');
		const viewer = h.connect('a', 'view-a');
		await Promise.all([editor.synced(), viewer.synced()]);
		workflowToDoc({ name: 'Owned', blocks: [{ id: 'f', type: 'filter', params: { expression: 'x == 1' } }] }, editor.doc);
		const server = await h.collab.getDoc('a');
		await waitConverged([editor.doc, viewer.doc, server]);
		const stored = docToWorkflow(server);

		const dropped = h.collab.stats().droppedViewUpdates;
		setName(viewer.doc, 'Hijacked');
		setParam(viewer.doc, 'f', 'expression', 'true');
		viewer.provider.awareness.setLocalStateField('user', { name: 'Viewer' });
		await waitFor(() => editor.provider.awareness.getStates().get(viewer.doc.clientID)?.user?.name === 'Viewer', 'viewer presence');
		await waitFor(() => h.collab.stats().droppedViewUpdates >= dropped + 2, 'view updates dropped');

		// The editor's next edit arrives after the viewer's would have: the viewer's never came.
		setParam(editor.doc, 'f', 'column', 'x');
		await waitFor(() => (docToWorkflow(server).blocks[0].params as { column?: string }).column === 'x', 'editor edit');
		await waitFor(() => (docToWorkflow(viewer.doc).blocks[0].params as { column?: string }).column === 'x', 'viewer gets it');
		expect(docToWorkflow(server)).toEqual({
			...stored,
			blocks: [{ ...stored.blocks[0], params: { expression: 'x == 1', column: 'x' } }]
		});
		expect(docToWorkflow(editor.doc)).toEqual(docToWorkflow(server));

		// A reconnecting viewer re-sends its state in sync step 2: still dropped.
		viewer.provider.disconnect();
		viewer.provider.connect();
		await viewer.synced();
		await waitFor(() => h.collab.stats().droppedViewUpdates >= dropped + 3, 'step 2 of the viewer dropped');
		expect(docToWorkflow(server).name).toBe('Owned');
		editor.destroy();
		viewer.destroy();
	});
});
