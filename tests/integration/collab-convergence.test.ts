/**
 * Rooms by convergence, with the real y-websocket client: people edit at once (and offline), and
 * every replica, the server's included, ends with the same workflow — no block duplicated or lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
	addBlock,
	docToWorkflow,
	getBlock,
	getParamText,
	moveBlock,
	orderedBlockIds,
	removeBlock,
	setName,
	setParam,
	setStructField,
	workflowToDoc
} from '../../src/lib/workflow/doc';
import type { WorkflowInput } from '../../src/lib/workflow/schema';
import { startCollab, waitConverged, waitFor, type CollabClient, type CollabHarness } from '../helpers/collab';

const seedWorkflow: WorkflowInput = {
	name: 'Shared',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
		{ id: 'us', type: 'filter', params: { expression: 'country == "US"' } },
		{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title', company: 'Company' } } },
		{ id: 'save', type: 'save_csv', params: {} }
	]
};

const rooms = ['two', 'five', 'presence', 'random-1', 'random-2', 'random-3'];
let h: CollabHarness;

beforeAll(async () => {
	h = await startCollab({
		tokens: Object.fromEntries(rooms.map((id) => [`edit-${id}`, { workflowId: id, access: 'edit' as const }]))
	});
});
afterAll(() => h.close());

async function join(room: string, n: number): Promise<CollabClient[]> {
	const clients = Array.from({ length: n }, () => h.connect(room, `edit-${room}`));
	await Promise.all(clients.map((c) => c.synced()));
	return clients;
}

async function serverDoc(room: string) {
	return h.collab.getDoc(room);
}

describe('rooms converge', () => {
	it('two clients: concurrent moves, deletes, edits and adds', async () => {
		const [a, b] = await join('two', 2);
		workflowToDoc(seedWorkflow, a.doc);
		await waitConverged([a.doc, b.doc]);

		// All in one tick: neither has seen the other's edits, so they are truly concurrent.
		moveBlock(a.doc, 'read', 3);
		moveBlock(b.doc, 'read', 1);
		removeBlock(a.doc, 'us');
		setParam(b.doc, 'us', 'expression', 'country == "DE"');
		getParamText(b.doc, 'enrich', 'research_plan').insert(0, 'Read the site. ');
		setStructField(a.doc, 'enrich', 'title', { description: 'Job title', type: 'str' });
		setStructField(b.doc, 'enrich', 'company', 'Employer');
		const x = addBlock(a.doc, { type: 'find_email', index: 1 });
		const y = addBlock(b.doc, { type: 'find_email', index: 1 });
		setName(a.doc, 'Shared by A');

		const result = await waitConverged([a.doc, b.doc, await serverDoc('two')]);
		expect(result.name).toBe('Shared by A');
		expect(result.blocks.map((blk) => blk.id).sort()).toEqual(['enrich', 'read', 'save', x, y].sort());
		expect(result.blocks.find((blk) => blk.id === 'enrich')?.params).toEqual({
			struct: { title: { description: 'Job title', type: 'str' }, company: 'Employer' },
			research_plan: 'Read the site. '
		});
	});

	it('five clients, one of them editing offline and reconnecting', async () => {
		const clients = await join('five', 5);
		workflowToDoc(seedWorkflow, clients[0].doc);
		await waitConverged(clients.map((c) => c.doc));

		const offline = clients[4];
		offline.provider.disconnect();
		moveBlock(offline.doc, 'save', 0);
		setParam(offline.doc, 'us', 'expression', 'employees > 10');
		const offlineBlock = addBlock(offline.doc, { type: 'filter', index: 2 });
		removeBlock(offline.doc, 'read');

		moveBlock(clients[1].doc, 'save', 2);
		const negated = `not ${(getBlock(clients[2].doc, 'us')?.params as { expression: string }).expression}`;
		setParam(clients[2].doc, 'us', 'expression', negated);
		const onlineBlock = addBlock(clients[3].doc, { type: 'save_csv' });
		setParam(clients[0].doc, 'read', 'path', 'samples/other.csv');
		await waitConverged(clients.slice(0, 4).map((c) => c.doc));

		offline.provider.connect();
		await offline.synced();
		const result = await waitConverged([...clients.map((c) => c.doc), await serverDoc('five')]);
		const ids = result.blocks.map((blk) => blk.id);
		expect(ids.sort()).toEqual(['enrich', 'save', 'us', offlineBlock, onlineBlock].sort());
		const expression = (result.blocks.find((blk) => blk.id === 'us')?.params as { expression: string }).expression;
		// An expression is a whole value (issue 13): one of the two people's, never a mix of both.
		expect(['employees > 10', negated]).toContain(expression);
	});

	it('presence: name, colour and the block being edited reach others, and vanish when a socket drops', async () => {
		const [a, b] = await join('presence', 2);
		a.provider.awareness.setLocalStateField('user', { name: 'Ada', color: '#e91e63' });
		a.provider.awareness.setLocalStateField('editing', { blockId: 'us', field: 'expression' });
		await waitFor(() => b.provider.awareness.getStates().get(a.doc.clientID)?.editing?.blockId === 'us', 'presence arrives');
		expect(b.provider.awareness.getStates().get(a.doc.clientID)?.user).toEqual({ name: 'Ada', color: '#e91e63' });

		// The tab dies without a goodbye: only the server can tell the others.
		a.provider.shouldConnect = false;
		(a.provider.ws as unknown as WebSocket).terminate();
		// Well before y-protocols' own 30 s awareness timeout: the server said so when the socket closed.
		await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID), 'presence cleared', 10_000);
	});
});

/** mulberry32: small, seedable, good enough to pick operations. */
function prng(seed: number): () => number {
	let t = seed >>> 0;
	return () => {
		t = (t + 0x6d2b79f5) >>> 0;
		let r = Math.imul(t ^ (t >>> 15), 1 | t);
		r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
		return ((r ^ (r >>> 14)) >>> 0) / 4_294_967_296;
	};
}

describe('randomized convergence (seeded)', () => {
	it.each([
		['random-1', 1],
		['random-2', 42],
		['random-3', 20260101]
	])('%s: 3 clients, 150 random operations with disconnects (seed %i)', async (room, seed) => {
		const rand = prng(seed);
		const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];
		const clients = await join(room, 3);
		workflowToDoc(seedWorkflow, clients[0].doc);
		await waitConverged(clients.map((c) => c.doc));
		const created = new Set(seedWorkflow.blocks.map((b) => b.id));
		const removed = new Set<string>();

		for (let step = 0; step < 150; step++) {
			const client = pick(clients);
			const ids = orderedBlockIds(client.doc);
			const r = rand();
			if (r < 0.2 && ids.length < 30) {
				created.add(
					addBlock(client.doc, {
						type: pick(['filter', 'save_csv', 'enrich_lead'] as const),
						index: Math.floor(rand() * (ids.length + 1))
					})
				);
			} else if (r < 0.4 && ids.length) {
				moveBlock(client.doc, pick(ids), Math.floor(rand() * ids.length));
			} else if (r < 0.5 && ids.length) {
				const id = pick(ids);
				if (removeBlock(client.doc, id)) removed.add(id);
			} else if (r < 0.7) {
				const filters = ids.filter((id) => docToWorkflow(client.doc).blocks.find((b) => b.id === id)?.type === 'filter');
				if (filters.length) {
					const id = pick(filters);
					const current = (getBlock(client.doc, id)?.params as { expression?: string }).expression ?? '';
					setParam(client.doc, id, 'expression', current + pick(['a', 'b ', ' == 1', '(', ')']));
				}
			} else if (r < 0.8) {
				setName(client.doc, `name ${step}`);
			} else if (r < 0.9) {
				if (client.provider.shouldConnect) client.provider.disconnect();
				else client.provider.connect();
			} else {
				await new Promise((resolve) => setTimeout(resolve, Math.floor(rand() * 5)));
			}
		}

		for (const c of clients) if (!c.provider.shouldConnect) c.provider.connect();
		await Promise.all(clients.map((c) => c.synced()));
		const result = await waitConverged([...clients.map((c) => c.doc), await serverDoc(room)], 10_000);
		const expected = [...created].filter((id) => !removed.has(id)).sort();
		expect(result.blocks.map((b) => b.id).sort()).toEqual(expected);
	});
});
