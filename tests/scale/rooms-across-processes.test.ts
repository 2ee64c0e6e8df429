/**
 * Rooms and live feeds across web processes (issue 11, points 4 and 5): two `tsx server/index.ts`
 * processes share one DATA_DIR, one PostgreSQL database and one Redis; stock y-websocket clients
 * and `/live` watchers on either.
 * - two editors on different processes converge; presence shows both, stamped with their access;
 * - a view-only socket's edit is refused on its process and never reaches the other;
 * - a late joiner on either process gets the whole document;
 * - SIGKILL one process mid-edit behind a round-robin balancer: its editor reconnects to the other
 *   process; every edit the other editor had received is kept, and both converge;
 * - a `/live` watcher on process B sees a job started through process A's API, event for event,
 *   and a watcher joining B later gets it in its snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { addBlock, docToWorkflow, getName, orderedBlockIds, setName } from '../../src/lib/workflow/doc';
import { awarenessFrame, rawClient, waitConverged, waitFor } from '../helpers/collab';
import { LiveTestClient } from '../helpers/live';
import { createEditorSet, createSharedWorkflow, type Editor } from '../helpers/process-editors';
import { startRoundRobinProxy, type RoundRobinProxy } from '../helpers/round-robin-proxy';
import { freshPostgres, freshRedis, type TestPostgres, type TestRedis } from '../helpers/scale-services';
import { runServerToExit, spawnServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let redis: TestRedis;
let postgres: TestPostgres;
let temp: TempDir;
const children: ServerProcess[] = [];
const editors = createEditorSet();
const editor = editors.open;
const watchers: LiveTestClient[] = [];
const proxies: RoundRobinProxy[] = [];

beforeAll(async () => {
	[redis, postgres, temp] = await Promise.all([freshRedis(), freshPostgres(), makeTempDir('leadflow-scale-rooms-')]);
});

afterAll(async () => {
	editors.destroyAll();
	for (const w of watchers) w.ws.terminate();
	for (const p of proxies) await p.close();
	for (const p of children) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
	await Promise.all(children.map((p) => p.exited));
	await Promise.all([redis?.release(), postgres?.drop(), temp?.cleanup()]);
});

/** Web processes on one data dir and one Redis, started one after the other (migrations). */
async function startProcesses(count: number, dir = temp.dir): Promise<ServerProcess[]> {
	const started: ServerProcess[] = [];
	for (let i = 0; i < count; i++) {
		const p = await spawnServer(testServerEnv(dir, null, { REDIS_URL: redis.url, DATABASE_URL: postgres.url }));
		children.push(p);
		started.push(p);
	}
	return started;
}

const createWorkflow = (url: string, from?: unknown) => createSharedWorkflow(url, 'Across processes', from);

/** The presence states `e` sees, by name. */
function presence(e: Editor): Map<string, { access?: string; mark?: number }> {
	const out = new Map<string, { access?: string; mark?: number }>();
	for (const [id, state] of e.provider.awareness.getStates()) {
		if (id === e.doc.clientID) continue;
		const s = state as { user?: { name?: string }; access?: string; mark?: number };
		if (s.user?.name) out.set(s.user.name, { access: s.access, mark: s.mark });
	}
	return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rooms across two web processes', () => {
	let a: ServerProcess;
	let b: ServerProcess;
	beforeAll(async () => {
		[a, b] = await startProcesses(2);
	});

	it('two editors on different processes converge, and see each other present', async () => {
		const wf = await createWorkflow(a.url);
		const alice = editor(a.url, wf);
		const bob = editor(b.url, wf);
		await Promise.all([alice.synced(), bob.synced()]);
		expect(docToWorkflow(bob.doc).name).toBe('Across processes');

		setName(alice.doc, 'Edited on A');
		addBlock(bob.doc, { type: 'filter', id: 'from-b', params: { expression: 'employees > 5' } });
		const converged = await waitConverged([alice.doc, bob.doc], 10_000);
		expect(converged.name).toBe('Edited on A');
		expect(converged.blocks.map((x) => x.id)).toContain('from-b');

		alice.provider.awareness.setLocalStateField('user', { name: 'Alice' });
		bob.provider.awareness.setLocalStateField('user', { name: 'Bob' });
		await waitFor(() => presence(alice).has('Bob') && presence(bob).has('Alice'), 'each sees the other', 10_000);
		// The access stamp comes from the process that judged the connection.
		expect(presence(alice).get('Bob')?.access).toBe('edit');
		expect(presence(bob).get('Alice')?.access).toBe('edit');

		// A third editor opening the room on B later sees Alice (held by A) at once: B asked A.
		const carol = editor(b.url, wf);
		await carol.synced();
		await waitFor(() => presence(carol).has('Alice') && presence(carol).has('Bob'), 'carol sees both', 10_000);

		// Leaving clears the entry on the other process too.
		alice.destroy();
		await waitFor(() => !presence(bob).has('Alice') && !presence(carol).has('Alice'), 'alice gone everywhere', 10_000);
	});

	it('a process shutting down (SIGTERM) tells the others its people left; what they typed stays', async () => {
		const [c] = await startProcesses(1);
		const wf = await createWorkflow(a.url);
		const dana = editor(c.url, wf);
		const bob = editor(b.url, wf);
		await Promise.all([dana.synced(), bob.synced()]);
		dana.provider.awareness.setLocalStateField('user', { name: 'Dana' });
		await waitFor(() => presence(bob).has('Dana'), 'bob sees dana', 10_000);
		setName(dana.doc, 'Typed on C');
		await waitFor(() => docToWorkflow(bob.doc).name === 'Typed on C', 'bob has dana’s edit', 10_000);
		c.child.kill('SIGTERM');
		expect((await c.exited).code).toBe(0);
		// Well before the 30 s presence timeout: C said so as it closed the room.
		await waitFor(() => !presence(bob).has('Dana'), 'dana’s entry gone from B', 5_000);
		expect(dana.closeCodes[0]).toBe(1001);
		dana.destroy();
		const late = editor(b.url, wf);
		await late.synced();
		expect(docToWorkflow(late.doc).name).toBe('Typed on C');
		late.destroy();
	});

	it('refuses a view-only socket’s edits on its process; they never reach the other', async () => {
		const wf = await createWorkflow(a.url);
		const alice = editor(a.url, wf);
		const viewer = editor(b.url, wf, wf.view_token);
		await Promise.all([alice.synced(), viewer.synced()]);

		setName(viewer.doc, 'Forged by a view link');
		addBlock(viewer.doc, { type: 'filter', id: 'forged', params: { expression: 'x' } });
		// Presence after the edits, on the same socket: B handles the socket's frames in order, and
		// stores and publishes an accepted edit before anything that follows, so once Alice sees this
		// presence she would already have the edit.
		viewer.provider.awareness.setLocalStateField('user', { name: 'Viewer' });
		await waitFor(() => presence(alice).has('Viewer'), 'alice sees the viewer', 10_000);
		expect(presence(alice).get('Viewer')?.access).toBe('view');
		expect(docToWorkflow(alice.doc).name).toBe('Across processes');
		expect(orderedBlockIds(alice.doc)).not.toContain('forged');

		// Nor was it stored: a late joiner on either process gets the document without it.
		for (const url of [a.url, b.url]) {
			const late = editor(url, wf);
			await late.synced();
			expect(docToWorkflow(late.doc).name).toBe('Across processes');
			expect(orderedBlockIds(late.doc)).not.toContain('forged');
			late.destroy();
		}
	});

	it('presence caps hold across processes: a connection on B shows one entry on A, whatever ids it names', async () => {
		const wf = await createWorkflow(a.url);
		const alice = editor(a.url, wf);
		await alice.synced();
		const mallory = rawClient(`${b.url.replace(/^http/, 'ws')}/yjs/${wf.id}?token=${wf.view_token}`);
		await mallory.opened;
		// Five ids in one frame (the cap is two per connection, one shown at a time)…
		const ids = [1001, 1002, 1003, 1004, 1005];
		mallory.ws.send(
			awarenessFrame(ids.map((clientId) => ({ clientId, clock: 1, state: JSON.stringify({ user: { name: `M${clientId}` } }) })))
		);
		// …then its own id once more, marked: B handles a socket's frames in order and publishes in order.
		mallory.ws.send(awarenessFrame([{ clientId: 1001, clock: 2, state: JSON.stringify({ user: { name: 'M-done' } }) }]));
		await waitFor(() => presence(alice).has('M-done'), 'alice sees mallory’s last presence', 10_000);
		const shown = [...presence(alice).keys()].filter((name) => name.startsWith('M'));
		expect(shown).toEqual(['M-done']);
		expect(presence(alice).get('M-done')?.access).toBe('view');
		mallory.ws.close();
		await waitFor(() => !presence(alice).has('M-done'), 'mallory’s entry leaves with her socket', 10_000);
	});

	it('a late joiner on either process gets the whole document', async () => {
		const wf = await createWorkflow(a.url);
		const alice = editor(a.url, wf);
		const bob = editor(b.url, wf);
		await Promise.all([alice.synced(), bob.synced()]);
		for (let i = 0; i < 20; i++) {
			const who = i % 2 === 0 ? alice : bob;
			addBlock(who.doc, { type: 'filter', id: `b${i}`, params: { expression: `n == ${i}` } });
			setName(who.doc, getName(who.doc) + ` ${i}`);
		}
		const converged = await waitConverged([alice.doc, bob.doc], 10_000);
		expect(converged.blocks).toHaveLength(20);
		for (const url of [a.url, b.url]) {
			const late = editor(url, wf);
			await late.synced();
			expect(docToWorkflow(late.doc)).toEqual(converged);
			late.destroy();
		}
	});

	it('Redis lost by one process: its room sockets close with 1013, reconnect, and nothing is lost', async () => {
		const wf = await createWorkflow(a.url);
		const alice = editor(a.url, wf);
		const bob = editor(b.url, wf);
		await Promise.all([alice.synced(), bob.synced()]);
		setName(alice.doc, 'Before the cut');
		await waitConverged([alice.doc, bob.doc], 10_000);
		const livePath = `${a.url.replace(/^http/, 'ws')}/live/${wf.id}?token=${wf.view_token}`;
		const watcher = new LiveTestClient(livePath);
		watchers.push(watcher);
		await watcher.untilType('snapshot');

		// Cut A's bus connections (publisher and subscriber) the way a network blip does.
		const admin = new Redis(redis.url);
		const list = String(await admin.client('LIST'));
		const ids = list
			.split('\n')
			.filter((line) => line.includes(`name=leadflow:bus-${a.child.pid}-`))
			.map((line) => line.match(/id=(\d+)/)?.[1]);
		expect(ids).toHaveLength(2);
		for (const id of ids) await admin.client('KILL', 'ID', id!);
		await admin.quit();

		await waitFor(() => alice.closeCodes.includes(1013), 'alice is told to retry (1013)', 10_000);
		expect(bob.closeCodes).toEqual([]);
		// The live watcher on A too (it may have missed events): it reconnects and gets a snapshot.
		await watcher.until(() => watcher.closed !== null, 10_000, 'watcher closed');
		expect(watcher.closed?.code).toBe(1013);
		// Edits on both sides while A's room is away: alice's wait in her tab, bob's go through B.
		addBlock(alice.doc, { type: 'filter', id: 'during-cut-a', params: { expression: 'a > 1' } });
		addBlock(bob.doc, { type: 'filter', id: 'during-cut-b', params: { expression: 'b > 1' } });
		await waitFor(() => alice.provider.wsconnected && alice.provider.synced, 'alice reconnects to A', 20_000);
		const converged = await waitConverged([alice.doc, bob.doc], 20_000);
		expect(converged.blocks.map((x) => x.id)).toEqual(expect.arrayContaining(['during-cut-a', 'during-cut-b']));
		// A's room reloaded from the store and relays again.
		setName(bob.doc, 'After the cut');
		await waitFor(() => docToWorkflow(alice.doc).name === 'After the cut', 'alice hears bob again', 10_000);
		const late = editor(a.url, wf);
		await late.synced();
		expect(docToWorkflow(late.doc)).toEqual(docToWorkflow(bob.doc));
		late.destroy();
		const again = new LiveTestClient(livePath);
		watchers.push(again);
		await again.untilType('snapshot');
	});
});

describe('start-up without Redis', () => {
	it('exits 1 with one line naming Redis, never the password', async () => {
		const env = testServerEnv(temp.dir, null, { REDIS_URL: 'redis://:pw-s3cret@127.0.0.1:1/2', DATABASE_URL: postgres.url });
		const { code, stderr } = await runServerToExit(env);
		expect(code).toBe(1);
		const lines = stderr.trim().split('\n');
		expect(lines).toHaveLength(1);
		// The queue's connection (scale-out.ts) is the first to reach for Redis: its one line, as rate-limits.test.ts has it.
		expect(lines[0]).toMatch(/^Cannot start: Redis at redis:\/\/127\.0\.0\.1:1\/2 \(REDIS_URL\) is unreachable/);
		expect(stderr).not.toContain('pw-s3cret');
	});
});

describe('SIGKILL of a web process mid-edit', () => {
	it('its editor reconnects to the other process; no edit the other editor had received is lost', async () => {
		const dir = (await makeTempDir('leadflow-scale-kill-')).dir;
		const [a, b] = await startProcesses(2, dir);
		const lb = await startRoundRobinProxy([a.url, b.url]);
		proxies.push(lb);
		const wf = await createWorkflow(b.url);
		// Through the balancer: alice lands on A, bob on B.
		const alice = editor(lb.url, wf);
		await alice.synced();
		const bob = editor(lb.url, wf);
		await bob.synced();
		expect(lb.counts).toEqual([1, 1]);

		let typing = true;
		const typed = (async () => {
			for (let i = 0; typing; i++) {
				setName(alice.doc, getName(alice.doc) + ` e${i}`);
				if (i % 10 === 0) addBlock(alice.doc, { type: 'filter', id: `f${i}`, params: { expression: `n == ${i}` } });
				await sleep(10);
			}
		})();
		await waitFor(() => orderedBlockIds(bob.doc).length >= 8, 'bob has received a good part of the edits', 20_000);
		a.child.kill('SIGKILL');
		await a.exited;
		// What bob holds now was stored by A before A relayed it to B.
		const acknowledged = docToWorkflow(bob.doc);
		await waitFor(() => alice.closeCodes.length > 0, 'alice sees A gone', 10_000);
		typing = false;
		await typed;
		const aliceFinal = docToWorkflow(alice.doc);

		// The balancer skips the dead process: alice's provider reconnects to B and re-syncs.
		await waitFor(() => alice.provider.wsconnected && alice.provider.synced, 'alice reconnects (to B)', 20_000);
		const converged = await waitConverged([alice.doc, bob.doc], 20_000);
		expect(converged).toEqual(aliceFinal);
		expect(converged.name!.startsWith(acknowledged.name!)).toBe(true);
		for (const block of acknowledged.blocks) expect(converged.blocks).toContainEqual(block);
		expect(acknowledged.blocks.length).toBeGreaterThanOrEqual(8);

		// And it is stored: a brand-new client on B gets all of it.
		const late = editor(b.url, wf);
		await late.synced();
		expect(docToWorkflow(late.doc)).toEqual(converged);
		late.destroy();
	});
});

describe('live feeds across web processes', () => {
	it('a watcher on B sees every event of a job started through A; a late joiner on B gets it in the snapshot', async () => {
		const dir = (await makeTempDir('leadflow-scale-live-')).dir;
		const [a, b] = await startProcesses(2, dir);
		const wf = await createWorkflow(a.url, {
			name: 'Live across',
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
				{ id: 'save', type: 'save_csv', params: { filename: 'across' } }
			]
		});
		const livePath = (url: string) => `${url.replace(/^http/, 'ws')}/live/${wf.id}?token=${wf.view_token}`;
		const onB = new LiveTestClient(livePath(b.url));
		const onA = new LiveTestClient(livePath(a.url));
		watchers.push(onB, onA);
		await Promise.all([onB.untilType('snapshot'), onA.untilType('snapshot')]);
		expect(onB.jobs.list()).toEqual([]);

		const run = await fetch(`${a.url}/api/workflows/run`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${wf.edit_token}` },
			body: JSON.stringify({ workflow_id: wf.id })
		});
		expect(run.status).toBe(200);
		const { job_id: jobId } = (await run.json()) as { job_id: string };
		await Promise.all([onB.untilType('job_finished', 1, 30_000), onA.untilType('job_finished', 1, 30_000)]);
		expect(onB.invalid).toEqual([]);
		// Every event but progress (which is coalesced per client) arrives on B as on A, in order.
		const notProgress = (c: LiveTestClient) =>
			c.messages.map((m) => m.message).filter((m) => m.type !== 'block_progress' && m.type !== 'hello');
		expect(notProgress(onB)).toEqual(notProgress(onA));
		expect(onB.of('job_created').map((e) => e.job_id)).toEqual([jobId]);
		expect(onB.jobs.list()).toEqual(onA.jobs.list());
		const finished = onB.jobs.list()[0];
		expect(finished.status).toBe('completed');

		// A watcher joining B now: the snapshot (from the shared store) holds the finished job.
		const late = new LiveTestClient(livePath(b.url));
		watchers.push(late);
		await late.untilType('snapshot');
		const job = late.jobs.list().find((j) => j.job_id === jobId);
		expect(job?.status).toBe('completed');
		expect(job?.blocks.map((x) => x.status)).toEqual(finished.blocks.map((x) => x.status));
		expect(job?.output_path).toBe(finished.output_path);
	});
});
