/**
 * The room server survives a store that refuses compaction (disk full, SQLITE_BUSY): compaction is
 * only an optimisation, so edits keep being logged, the room is still evicted and reloads with every
 * edit. And presence belongs to the connection that owns a client id: nobody else can spoof or
 * clear it.
 */
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createSqlitePersistence } from '../../server/collab/persistence';
import { MESSAGE_AWARENESS } from '../../server/collab/room';
import { openDatabase } from '../../server/store/db';
import { docToWorkflow, setName, workflowToDoc } from '../../src/lib/workflow/doc';
import { startCollab, waitFor, waitForAsync, type CollabHarness } from '../helpers/collab';

const open: CollabHarness[] = [];
afterEach(async () => {
	for (const h of open.splice(0)) await h.close();
});

function failSnapshots(h: CollabHarness, on: boolean): void {
	if (on) {
		h.db
			.exec(`CREATE TRIGGER fail_snapshot_insert BEFORE INSERT ON doc_snapshots BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
		           CREATE TRIGGER fail_snapshot_update BEFORE UPDATE ON doc_snapshots BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
	} else {
		h.db.exec('DROP TRIGGER fail_snapshot_insert; DROP TRIGGER fail_snapshot_update;');
	}
}

async function loadFromDisk(h: CollabHarness, id: string) {
	const db = openDatabase(h.dbPath);
	try {
		const doc = new Y.Doc();
		await createSqlitePersistence(db).load(id, doc);
		return docToWorkflow(doc);
	} finally {
		db.close();
	}
}

describe('a failing compaction', () => {
	it('does not crash the process; edits stay logged, the room is evicted and reloads with every edit', async () => {
		const h = await startCollab({
			tokens: { tok: { workflowId: 'w', access: 'edit' } },
			limits: { compactEvery: 3, idleEvictMs: 30 }
		});
		open.push(h);
		failSnapshots(h, true);
		const a = h.connect('w', 'tok');
		const b = h.connect('w', 'tok');
		await Promise.all([a.synced(), b.synced()]);
		workflowToDoc({ name: 'start', blocks: [{ id: 'f', type: 'filter', params: { expression: 'x == 1' } }] }, a.doc);
		// Past the threshold several times: each queued (microtask) compaction fails.
		for (let i = 0; i < 10; i++) {
			setName(a.doc, `name ${i}`);
			await waitFor(() => docToWorkflow(b.doc).name === `name ${i}`, `edit ${i} relayed`);
		}
		expect(h.collab.stats().compactions).toBe(0);
		expect(h.collab.stats().persistFailures).toBe(0);
		expect((await loadFromDisk(h, 'w')).name).toBe('name 9');

		// The last editors leave (compaction on leave fails) and a message from a closing client
		// may still arrive: nothing throws, and the idle room is still evicted.
		b.destroy();
		setName(a.doc, 'last word');
		await waitForAsync(async () => (await loadFromDisk(h, 'w')).name === 'last word', 'last edit logged');
		a.destroy();
		await waitFor(() => h.collab.stats().connections === 0, 'clients leave');
		await waitFor(() => h.collab.stats().rooms === 0, 'idle room evicted');

		// Reloading replays the whole log (and its compaction fails too): still served.
		const c = h.connect('w', 'tok');
		await c.synced();
		expect(docToWorkflow(c.doc).name).toBe('last word');
		expect(await loadFromDisk(h, 'w')).toEqual(docToWorkflow(c.doc));

		// Once the store recovers, compaction works again.
		failSnapshots(h, false);
		// One at a time: edits arriving together are merged into one append (flow control).
		for (let i = 0; i < 4; i++) {
			setName(c.doc, `after ${i}`);
			await waitForAsync(async () => (await loadFromDisk(h, 'w')).name === `after ${i}`, `edit ${i} after recovery stored`);
		}
		await waitFor(() => h.collab.stats().compactions > 0, 'compaction resumes');
		await waitForAsync(async () => (await loadFromDisk(h, 'w')).name === 'after 3', 'edits after recovery stored');
		c.destroy();
	});
});

/** A raw y-websocket awareness message setting `clientId`'s presence to `state` at `clock`. */
function presenceFrame(clientId: number, state: string, clock: number): Uint8Array {
	const update = encoding.createEncoder();
	encoding.writeVarUint(update, 1);
	encoding.writeVarUint(update, clientId);
	encoding.writeVarUint(update, clock);
	encoding.writeVarString(update, state);
	const message = encoding.createEncoder();
	encoding.writeVarUint(message, MESSAGE_AWARENESS);
	encoding.writeVarUint8Array(message, encoding.toUint8Array(update));
	return encoding.toUint8Array(message);
}

describe('presence ownership', () => {
	it('a connection cannot set or clear another client’s presence', async () => {
		const h = await startCollab({
			tokens: {
				edit: { workflowId: 'p', access: 'edit' },
				view: { workflowId: 'p', access: 'view' }
			}
		});
		open.push(h);
		const victim = h.connect('p', 'edit');
		const observer = h.connect('p', 'edit');
		const attacker = h.connect('p', 'view');
		await Promise.all([victim.synced(), observer.synced(), attacker.synced()]);
		const victimId = victim.doc.clientID;
		victim.provider.awareness.setLocalStateField('user', { name: 'Victim' });
		const seen = () => observer.provider.awareness.getStates().get(victimId)?.user?.name;
		await waitFor(() => seen() === 'Victim', 'observer sees the victim');

		const ws = attacker.provider.ws!;
		ws.send(presenceFrame(victimId, JSON.stringify({ user: { name: 'Evil' } }), 1_000));
		ws.send(presenceFrame(victimId, 'null', 2_000));
		// The attacker's own presence after the spoofs: once the observer has it, the spoofs were handled.
		attacker.provider.awareness.setLocalStateField('user', { name: 'Attacker' });
		await waitFor(
			() => observer.provider.awareness.getStates().get(attacker.doc.clientID)?.user?.name === 'Attacker',
			'attacker presence relayed'
		);
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(seen()).toBe('Victim');
		expect(observer.provider.awareness.meta.get(victimId)!.clock).toBeLessThan(1_000);

		// The victim still controls its own presence, and its leaving still clears it.
		victim.provider.awareness.setLocalStateField('user', { name: 'Victim 2' });
		await waitFor(() => seen() === 'Victim 2', 'victim updates its presence');
		victim.destroy();
		await waitFor(() => !observer.provider.awareness.getStates().has(victimId), 'victim presence cleared');
		observer.destroy();
		attacker.destroy();
	});
	it('an editor back from a dropped connection takes its presence over with a newer state; an echo does not', async () => {
		const h = await startCollab({ tokens: { edit: { workflowId: 'q', access: 'edit' } } });
		open.push(h);
		const first = h.connect('q', 'edit'); // the old connection, never closed (a half-open socket)
		const second = h.connect('q', 'edit'); // the same person, reconnected
		const observer = h.connect('q', 'edit');
		await Promise.all([first.synced(), second.synced(), observer.synced()]);
		const id = first.doc.clientID;
		first.provider.awareness.setLocalStateField('user', { name: 'Before' });
		const seen = () => observer.provider.awareness.getStates().get(id)?.user?.name;
		await waitFor(() => seen() === 'Before', 'observer sees the first state');
		const clock = observer.provider.awareness.meta.get(id)!.clock;
		// An echo (same clock, as other clients relay it) changes nothing.
		second.provider.ws!.send(presenceFrame(id, JSON.stringify({ user: { name: 'Echo' } }), clock));
		// The reconnected client's newer state wins.
		second.provider.ws!.send(presenceFrame(id, JSON.stringify({ user: { name: 'After' } }), clock + 1));
		await waitFor(() => seen() === 'After', 'observer sees the newer state');
		expect(observer.provider.awareness.meta.get(id)!.clock).toBe(clock + 1);
		first.destroy();
		second.destroy();
		observer.destroy();
	});
});
