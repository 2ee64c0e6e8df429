/**
 * Process faults around shared documents (the server in a child process, real y-websocket clients):
 * - SIGKILL while one editor types and adds blocks: every edit another client had received
 *   (the server stores an update before relaying it) is in the document after the restart;
 * - SIGKILL right after the update log passed the compaction threshold (several compactions
 *   happened, the last just before the kill): the document opens with every acknowledged edit;
 * - SIGTERM with editors and live watchers connected: they are closed with 1001, the server
 *   exits 0, they reconnect to the restarted server (same port) and converge, offline edits
 *   included; a live watcher sees the same jobs as before.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import * as Y from 'yjs';
import { addBlock, docToWorkflow, getName, orderedBlockIds, setName } from '../../src/lib/workflow/doc';
import { waitConverged, waitFor } from '../helpers/collab';
import { freePort } from '../helpers/free-port';
import { LiveTestClient } from '../helpers/live';
import { createEditorSet, createSharedWorkflow, type SharedWorkflow } from '../helpers/process-editors';
import { spawnServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

/** The room server's default compaction interval (server/collab/limits.ts DEFAULT_LIMITS.compactEvery). */
const COMPACT_EVERY = 200;

const temps: TempDir[] = [];
const children: ServerProcess[] = [];
const editors = createEditorSet();
const editor = editors.open;
const watchers: LiveTestClient[] = [];

afterAll(async () => {
	editors.destroyAll();
	for (const w of watchers) w.ws.terminate();
	for (const p of children) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
	await Promise.all(children.map((p) => p.exited));
	for (const t of temps) await t.cleanup();
});

async function dataDir(): Promise<string> {
	const t = await makeTempDir('leadflow-collab-kill-');
	temps.push(t);
	return t.dir;
}

async function start(dir: string, port = 0): Promise<ServerProcess> {
	const p = await spawnServer(testServerEnv(dir, null, { PORT: String(port) }));
	children.push(p);
	return p;
}

const createWorkflow = (url: string, from?: unknown) => createSharedWorkflow(url, 'Crash doc', from);

/** What a brand-new client sees on the restarted server. */
async function freshView(url: string, wf: SharedWorkflow) {
	const carol = editor(url, wf);
	await carol.synced();
	const workflow = docToWorkflow(carol.doc);
	carol.destroy();
	return workflow;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SIGKILL during document edits', () => {
	it('every edit another client had received is in the document after the restart', async () => {
		const dir = await dataDir();
		const first = await start(dir);
		const wf = await createWorkflow(first.url);
		const alice = editor(first.url, wf);
		const bob = editor(first.url, wf);
		await Promise.all([alice.synced(), bob.synced()]);

		// Alice types into the name and adds a block now and then, ~100 updates a second.
		let typing = true;
		const typed = (async () => {
			for (let i = 0; typing; i++) {
				setName(alice.doc, `${getName(alice.doc)} e${i}`);
				if (i % 10 === 0) addBlock(alice.doc, { type: 'filter', id: `f${i}`, params: { expression: `n == ${i}` } });
				await sleep(10);
			}
		})();
		await waitFor(() => orderedBlockIds(bob.doc).length >= 8, 'bob has received a good part of the edits', 10_000);
		first.child.kill('SIGKILL');
		await first.exited;
		typing = false;
		await typed;
		await waitFor(() => !bob.provider.wsconnected, 'bob sees the server gone');
		const acknowledged = docToWorkflow(bob.doc);
		alice.destroy();
		bob.destroy();

		const second = await start(dir);
		const after = await freshView(second.url, wf);
		// Appends only: what bob saw is a prefix of what was stored, block for block.
		expect(after.name!.startsWith(acknowledged.name!)).toBe(true);
		const ids = after.blocks.map((b) => b.id);
		for (const block of acknowledged.blocks) expect(ids).toContain(block.id);
		expect(after.blocks.filter((b) => acknowledged.blocks.some((a) => a.id === b.id))).toEqual(acknowledged.blocks);
		expect(acknowledged.blocks.length).toBeGreaterThanOrEqual(8);
	});
});

describe('SIGKILL during compaction of the update log', () => {
	it('kills right after the log passed the threshold several times; the document opens with every acknowledged edit', async () => {
		const dir = await dataDir();
		const first = await start(dir);
		const wf = await createWorkflow(first.url);
		const writers = [editor(first.url, wf), editor(first.url, wf), editor(first.url, wf)];
		const watcher = editor(first.url, wf);
		await Promise.all([...writers, watcher].map((e) => e.synced()));

		// Every update the watcher receives was stored first; count them as they come.
		let received = 0;
		watcher.doc.on('update', () => void received++);
		// Three writers, each under the per-connection message limit, each appending to its own block.
		// (Into a research plan, long free text kept as a Y.Text; an expression is a whole value, issue 13.)
		writers.forEach((w, n) => addBlock(w.doc, { type: 'enrich_lead', id: `w${n}`, params: { struct: {}, research_plan: '' } }));
		let writing = true;
		const loops = writers.map(async (w, n) => {
			for (let i = 0; writing; i++) {
				w.doc.transact(() => {
					const block = w.doc.getMap('blocks').get(`w${n}`) as Y.Map<Y.Map<unknown>> | undefined;
					const text = block?.get('params')?.get('research_plan');
					if (text instanceof Y.Text) text.insert(text.length, `${n}.${i};`);
				});
				await sleep(8);
			}
		});
		// Kill just after the count passes a multiple of the threshold (the third or later).
		await waitFor(() => received >= 3 * COMPACT_EVERY && received % COMPACT_EVERY < 15, 'the log passes the threshold again', 20_000);
		first.child.kill('SIGKILL');
		await first.exited;
		writing = false;
		await Promise.all(loops);
		await waitFor(() => !watcher.provider.wsconnected, 'the watcher sees the server gone');
		const acknowledged = docToWorkflow(watcher.doc);
		for (const e of [...writers, watcher]) e.destroy();

		// Compaction really happened before the kill: a snapshot exists and the log is short.
		const db = new Database(join(dir, 'app.db'), { readonly: true, fileMustExist: true });
		try {
			const snapshot = db.prepare('SELECT COUNT(*) AS n FROM doc_snapshots WHERE workflow_id = ?').get(wf.id) as { n: number };
			const log = db.prepare('SELECT COUNT(*) AS n FROM doc_updates WHERE workflow_id = ?').get(wf.id) as { n: number };
			expect(snapshot.n).toBe(1);
			expect(log.n).toBeLessThan(received);
		} finally {
			db.close();
		}

		const second = await start(dir);
		const after = await freshView(second.url, wf);
		for (const block of acknowledged.blocks) {
			const stored = after.blocks.find((b) => b.id === block.id) as { params: { research_plan: string } } | undefined;
			expect(stored, block.id).toBeDefined();
			expect(stored!.params.research_plan.startsWith((block as { params: { research_plan: string } }).params.research_plan)).toBe(
				true
			);
		}
		expect(received).toBeGreaterThanOrEqual(3 * COMPACT_EVERY);
	});
});

describe('SIGTERM with editors and live watchers connected', () => {
	it('closes them with 1001, exits 0; they reconnect to the restarted server and converge', async () => {
		const dir = await dataDir();
		const port = await freePort();
		const first = await start(dir, port);
		const wf = await createWorkflow(first.url, {
			name: 'Graceful',
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
				{ id: 'save', type: 'save_csv', params: { filename: 'graceful' } }
			]
		});
		const alice = editor(first.url, wf);
		const bob = editor(first.url, wf);
		await Promise.all([alice.synced(), bob.synced()]);
		const livePath = `${first.url.replace(/^http/, 'ws')}/live/${wf.id}?token=${wf.view_token}`;
		const watcher = new LiveTestClient(livePath);
		watchers.push(watcher);
		await watcher.untilType('snapshot');

		// A finished job the watchers know about.
		const run = await fetch(`${first.url}/api/workflows/run`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${wf.edit_token}` },
			body: JSON.stringify({ workflow_id: wf.id })
		});
		expect(run.status).toBe(200);
		await watcher.untilType('job_finished', 1, 10_000);
		const jobsBefore = watcher.jobs.list();
		setName(alice.doc, 'Graceful, edited');
		await waitFor(() => docToWorkflow(bob.doc).name === 'Graceful, edited', 'bob sees alice');

		first.child.kill('SIGTERM');
		expect((await first.exited).code).toBe(0);
		await waitFor(() => alice.closeCodes.length > 0 && bob.closeCodes.length > 0, 'editors told');
		expect(alice.closeCodes[0]).toBe(1001);
		expect(bob.closeCodes[0]).toBe(1001);
		await watcher.until(() => watcher.closed !== null, 5_000, 'watcher closed');
		expect(watcher.closed!.code).toBe(1001);

		// Both keep editing while the server is away.
		setName(alice.doc, 'Graceful, edited offline');
		addBlock(bob.doc, { type: 'filter', id: 'offline', params: { expression: 'employees >= 10' }, index: 1 });

		const second = await start(dir, port);
		expect(second.url).toBe(first.url);
		await waitFor(() => alice.provider.wsconnected && bob.provider.wsconnected, 'editors reconnect', 15_000);
		await Promise.all([alice.synced(), bob.synced()]);
		const converged = await waitConverged([alice.doc, bob.doc], 10_000);
		expect(converged.name).toBe('Graceful, edited offline');
		expect(converged.blocks.map((b) => b.id)).toEqual(['read', 'offline', 'save']);
		expect(await freshView(second.url, wf)).toEqual(converged);

		const again = new LiveTestClient(livePath);
		watchers.push(again);
		await again.untilType('snapshot');
		// The same jobs, blocks and results. Known gap (reported): the job manager stores started_at
		// from its own clock read while runJob stamps job_started.at from another, so a watcher who
		// joins later can see a started_at a millisecond or two off.
		const sameButStart = (jobs: typeof jobsBefore) => jobs.map(({ started_at, ...job }) => ({ ...job, started: started_at !== null }));
		expect(sameButStart(again.jobs.list())).toEqual(sameButStart(jobsBefore));
		expect(Math.abs(again.jobs.list()[0].started_at! - jobsBefore[0].started_at!)).toBeLessThan(100);
	});
});
