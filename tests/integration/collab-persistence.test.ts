/**
 * Rooms survive restarts: every relayed edit is already in SQLite, the log is compacted into a
 * snapshot (every N updates, when the last client leaves, and after loading a long log), and idle
 * rooms unload and reload unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createSqlitePersistence } from '../../server/collab/persistence';
import { openDatabase, type Db } from '../../server/store/db';
import { addBlock, docToWorkflow, setName, setParam, workflowToDoc } from '../../src/lib/workflow/doc';
import type { WorkflowInput } from '../../src/lib/workflow/schema';
import { startCollab, tempDbPath, waitConverged, waitFor, type CollabHarness } from '../helpers/collab';

const workflow: WorkflowInput = {
	name: 'Persisted',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
		{ id: 'f', type: 'filter', params: { expression: 'x == 1' } }
	]
};
const tokens = { tok: { workflowId: 'w', access: 'edit' as const } };

const open: CollabHarness[] = [];
const files: { remove: () => void }[] = [];
afterEach(async () => {
	for (const h of open.splice(0)) await h.close({ keepFile: true });
	for (const f of files.splice(0)) f.remove();
});

async function start(dbPath: string, limits: Parameters<typeof startCollab>[0]['limits'] = {}) {
	const h = await startCollab({ tokens, dbPath, limits });
	open.push(h);
	return h;
}

function tempFile() {
	const f = tempDbPath();
	files.push(f);
	return f.path;
}

function count(db: Db, table: 'doc_updates' | 'doc_snapshots'): number {
	return (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE workflow_id = 'w'`).get() as { n: number }).n;
}

/** What a brand-new process would load from the file right now. */
function loadFromDisk(dbPath: string): WorkflowInput {
	const db = openDatabase(dbPath);
	try {
		const doc = new Y.Doc();
		createSqlitePersistence(db).load('w', doc);
		return docToWorkflow(doc);
	} finally {
		db.close();
	}
}

describe('collab persistence', () => {
	it('a restarted server (same SQLite file) serves exactly the last state', async () => {
		const dbPath = tempFile();
		const h1 = await start(dbPath);
		const a = h1.connect('w', 'tok');
		await a.synced();
		workflowToDoc(workflow, a.doc);
		setParam(a.doc, 'f', 'expression', 'x == 10');
		await waitConverged([a.doc, await h1.collab.getDoc('w')]);
		const before = docToWorkflow(a.doc);
		await h1.close({ keepFile: true });
		open.splice(open.indexOf(h1), 1);

		const h2 = await start(dbPath);
		const b = h2.connect('w', 'tok');
		await b.synced();
		expect(docToWorkflow(b.doc)).toEqual(before);
		expect((before.blocks[1].params as { expression: string }).expression).toBe('x == 10');
	});

	it('an edit another client has received is already on disk (no graceful shutdown needed)', async () => {
		const dbPath = tempFile();
		const h = await start(dbPath);
		const [a, b] = [h.connect('w', 'tok'), h.connect('w', 'tok')];
		await Promise.all([a.synced(), b.synced()]);
		workflowToDoc(workflow, a.doc);
		setName(a.doc, 'Seen by B');
		await waitFor(() => docToWorkflow(b.doc).name === 'Seen by B', 'B receives the edit');
		// The server is still running and never compacted: the edit must be in the log already.
		expect(loadFromDisk(dbPath)).toEqual(docToWorkflow(b.doc));
	});

	it('compacts every N updates and when the last client leaves', async () => {
		const dbPath = tempFile();
		const h = await start(dbPath, { compactEvery: 10 });
		const a = h.connect('w', 'tok');
		await a.synced();
		const server = await h.collab.getDoc('w');
		for (let i = 0; i < 25; i++) {
			setName(a.doc, `name ${i}`);
			await waitFor(() => docToWorkflow(server).name === `name ${i}`, `edit ${i} reaches the server`);
		}
		expect(h.collab.stats().compactions).toBeGreaterThanOrEqual(2);
		expect(count(h.db, 'doc_snapshots')).toBe(1);
		expect(count(h.db, 'doc_updates')).toBeLessThan(10);
		expect(loadFromDisk(dbPath).name).toBe('name 24');

		a.destroy();
		await waitFor(() => h.collab.stats().connections === 0, 'client leaves');
		expect(count(h.db, 'doc_updates')).toBe(0);
		expect(loadFromDisk(dbPath).name).toBe('name 24');
	});

	it('loading a long log compacts it right away', async () => {
		const dbPath = tempFile();
		const db = openDatabase(dbPath);
		const persistence = createSqlitePersistence(db);
		const source = new Y.Doc();
		source.on('update', (update: Uint8Array) => persistence.appendUpdate('w', update));
		workflowToDoc(workflow, source);
		for (let i = 0; i < 300; i++) setParam(source, 'f', 'expression', `x == ${i}`);
		expect(count(db, 'doc_updates')).toBeGreaterThan(300);
		db.close();

		const h = await start(dbPath);
		const doc = await h.collab.getDoc('w');
		expect(docToWorkflow(doc)).toEqual(docToWorkflow(source));
		expect(count(h.db, 'doc_updates')).toBe(0);
		expect(count(h.db, 'doc_snapshots')).toBe(1);
	});

	it('idle rooms unload after persisting and come back unchanged', async () => {
		const dbPath = tempFile();
		const h = await start(dbPath, { idleEvictMs: 20 });
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
		const dbPath = tempFile();
		const h = await start(dbPath);
		const a = h.connect('w', 'tok');
		await a.synced();
		workflowToDoc(workflow, await h.collab.getDoc('w'));
		await waitFor(() => docToWorkflow(a.doc).blocks.length === 2, 'client receives the server edit');
		expect(docToWorkflow(a.doc)).toEqual(workflow);
		expect(loadFromDisk(dbPath)).toEqual(workflow);
	});
});
