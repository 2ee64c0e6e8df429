/**
 * Rooms survive restarts: every relayed edit is already in the database (SQLite, and PostgreSQL
 * under `npm run test:scale`: a table of backends), the log is compacted into a
 * snapshot (every N updates, when the last client leaves, and after loading a long log), and idle
 * rooms unload and reload unchanged.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createDocPersistence } from '../../server/collab/persistence';
import type { Store } from '../../server/store/store';
import { testBackends } from '../helpers/backends';
import { addBlock, docToWorkflow, setName, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import type { WorkflowInput } from '../../src/lib/workflow/schema';
import { startCollab, waitConverged, waitFor, waitForAsync, type CollabHarness } from '../helpers/collab';

const workflow: WorkflowInput = {
	name: 'Persisted',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
		{ id: 'f', type: 'filter', params: { expression: 'x == 1' } }
	]
};
const tokens = { tok: { workflowId: 'w', access: 'edit' as const } };

describe.each(testBackends())('collab persistence on $name', (backend) => {
	const open: CollabHarness[] = [];
	let store: Store;
	beforeEach(async () => {
		store = await backend.open();
	});
	afterEach(async () => {
		for (const h of open.splice(0)) await h.close();
	});
	afterAll(() => backend.cleanup());

	async function start(on: Store, limits: Parameters<typeof startCollab>[0]['limits'] = {}) {
		const h = await startCollab({ tokens, store: on, limits });
		open.push(h);
		return h;
	}

	async function count(on: Store, table: 'doc_updates' | 'doc_snapshots'): Promise<number> {
		const row = await on.db
			.selectFrom(table)
			.select((eb) => eb.fn.countAll<number>().as('n'))
			.where('workflow_id', '=', 'w')
			.executeTakeFirstOrThrow();
		return Number(row.n);
	}

	/** What a brand-new process would load from the database right now. */
	async function loadFromDisk(): Promise<WorkflowInput> {
		const doc = new Y.Doc();
		await createDocPersistence(await backend.reopen()).load('w', doc);
		return docToWorkflow(doc);
	}

	it('a restarted server (same database) serves exactly the last state', async () => {
		const h1 = await start(store);
		const a = h1.connect('w', 'tok');
		await a.synced();
		workflowToDoc(workflow, a.doc);
		setParam(a.doc, 'f', 'expression', 'x == 10');
		await waitConverged([a.doc, await h1.collab.getDoc('w')]);
		const before = docToWorkflow(a.doc);
		await h1.close();
		open.splice(open.indexOf(h1), 1);

		const h2 = await start(await backend.reopen());
		const b = h2.connect('w', 'tok');
		await b.synced();
		expect(docToWorkflow(b.doc)).toEqual(before);
		expect((before.blocks[1].params as { expression: string }).expression).toBe('x == 10');
	});

	it('an edit another client has received is already on disk (no graceful shutdown needed)', async () => {
		const h = await start(store);
		const [a, b] = [h.connect('w', 'tok'), h.connect('w', 'tok')];
		await Promise.all([a.synced(), b.synced()]);
		workflowToDoc(workflow, a.doc);
		setName(a.doc, 'Seen by B');
		await waitFor(() => docToWorkflow(b.doc).name === 'Seen by B', 'B receives the edit');
		// The server is still running and never compacted: the edit must be in the log already.
		expect(await loadFromDisk()).toEqual(docToWorkflow(b.doc));
	});

	it('compacts every N updates and when the last client leaves', async () => {
		const h = await start(store, { compactEvery: 10 });
		const a = h.connect('w', 'tok');
		await a.synced();
		const server = await h.collab.getDoc('w');
		for (let i = 0; i < 25; i++) {
			setName(a.doc, `name ${i}`);
			await waitFor(() => docToWorkflow(server).name === `name ${i}`, `edit ${i} reaches the server`);
		}
		await waitFor(() => h.collab.stats().compactions >= 2, 'two compactions (every 10 updates)');
		// Applied on the server is not yet stored (only relayed is): wait for the store to catch up.
		await waitForAsync(async () => (await loadFromDisk()).name === 'name 24', 'every edit stored');
		expect(await count(store, 'doc_snapshots')).toBe(1);
		expect(await count(store, 'doc_updates')).toBeLessThan(10);

		a.destroy();
		await waitFor(() => h.collab.stats().connections === 0, 'client leaves');
		await waitForAsync(async () => (await count(store, 'doc_updates')) === 0, 'the log folded into the snapshot on leave');
		expect((await loadFromDisk()).name).toBe('name 24');
	});

	it('loading a long log compacts it right away', async () => {
		const persistence = createDocPersistence(store);
		const source = new Y.Doc();
		const appends: Promise<void>[] = [];
		source.on('update', (update: Uint8Array) => void appends.push(persistence.appendUpdate('w', update)));
		workflowToDoc(workflow, source);
		for (let i = 0; i < 300; i++) setParam(source, 'f', 'expression', `x == ${i}`);
		await Promise.all(appends);
		expect(await count(store, 'doc_updates')).toBeGreaterThan(300);

		const h = await start(await backend.reopen());
		const doc = await h.collab.getDoc('w');
		expect(docToWorkflow(doc)).toEqual(docToWorkflow(source));
		await waitFor(() => h.collab.stats().compactions >= 1, 'compaction after loading');
		expect(await count(store, 'doc_updates')).toBe(0);
		expect(await count(store, 'doc_snapshots')).toBe(1);
	});

	it('idle rooms unload after persisting and come back unchanged', async () => {
		const h = await start(store, { idleEvictMs: 20 });
		const a = h.connect('w', 'tok');
		await a.synced();
		workflowToDoc(workflow, a.doc);
		const id = addBlock(a.doc, { type: 'save_csv' });
		await waitConverged([a.doc, await h.collab.getDoc('w')]);
		const expected = docToWorkflow(a.doc);
		a.destroy();
		await waitFor(() => h.collab.stats().rooms === 0, 'room unloads');

		const b = h.connect('w', 'tok');
		await b.synced();
		expect(docToWorkflow(b.doc)).toEqual(expected);
		expect(docToWorkflow(b.doc).blocks.at(-1)?.id).toBe(id);
	});

	it('edits made through getDoc (e.g. seeding a new workflow) are stored and reach clients', async () => {
		const h = await start(store);
		const a = h.connect('w', 'tok');
		await a.synced();
		workflowToDoc(workflow, await h.collab.getDoc('w'));
		await waitFor(() => docToWorkflow(a.doc).blocks.length === 2, 'client receives the server edit');
		expect(docToWorkflow(a.doc)).toEqual(workflow);
		expect(await loadFromDisk()).toEqual(workflow);
	});
});
