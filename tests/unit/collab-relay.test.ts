/**
 * Rooms relayed between processes (server/collab/relay.ts), deterministically: two room registries
 * — two "processes" — on one SQLite file and one in-process bus.
 * - an edit made in one converges in the other and is stored exactly once;
 * - frames on the bus that do not decode (garbage, a bad update, a bad presence) are dropped and
 *   logged, and the room goes on relaying;
 * - after the bus was away, a reload makes every room re-read the store (pub/sub keeps nothing);
 * - compaction by one process never drops an update another process logged that it has not
 *   received yet (the snapshot folds in every log entry it replaces).
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createCounters, resolveLimits, type CollabLogger } from '../../server/collab/limits';
import { createSqlitePersistence } from '../../server/collab/persistence';
import { encodeRelayFrame, RELAY_AWARENESS, RELAY_UPDATE, RELOAD_CHANNEL, roomChannel } from '../../server/collab/relay';
import type { Room } from '../../server/collab/room';
import { RelayUnavailableError, RoomRegistry } from '../../server/collab/rooms';
import { HttpError } from '../../server/http-error';
import { collabWorkflowDocs } from '../../server/routes/workflow-docs';
import { createMemoryBus, type MessageBus } from '../../server/scale/bus';
import { openDatabase, type Db } from '../../server/store/db';
import { tempDbPath } from '../helpers/collab';

const cleanups: (() => void)[] = [];
afterEach(() => {
	for (const c of cleanups.splice(0)) c();
});

interface FakeProcess {
	db: Db;
	registry: RoomRegistry;
	warnings: string[];
}

function twoProcesses(): { p1: FakeProcess; p2: FakeProcess; bus: MessageBus; dbPath: string } {
	const temp = tempDbPath();
	const bus = createMemoryBus();
	const make = (): FakeProcess => {
		const db = openDatabase(temp.path);
		const warnings: string[] = [];
		const log: CollabLogger = { info() {}, warn: (_o, msg) => void warnings.push(msg), error: (_o, msg) => void warnings.push(msg) };
		const registry = new RoomRegistry({
			persistence: createSqlitePersistence(db),
			limits: resolveLimits({ idleEvictMs: 60_000 }),
			counters: createCounters(),
			log,
			bus
		});
		return { db, registry, warnings };
	};
	const p1 = make();
	const p2 = make();
	cleanups.push(() => {
		for (const p of [p1, p2]) {
			p.registry.closeAll();
			p.db.close();
		}
		temp.remove();
	});
	return { p1, p2, bus, dbPath: temp.path };
}

async function until(check: () => boolean, what: string): Promise<void> {
	for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setImmediate(r));
	if (!check()) throw new Error(`never happened: ${what}`);
}

const logRows = (db: Db, id: string) =>
	(db.prepare('SELECT COUNT(*) AS n FROM doc_updates WHERE workflow_id = ?').get(id) as { n: number }).n;

describe('rooms relayed between two processes', () => {
	it('an edit in one converges in the other and is stored once', async () => {
		const { p1, p2 } = twoProcesses();
		const [r1, r2] = (await Promise.all([p1.registry.get('w'), p2.registry.get('w')])) as Room[];
		r1.doc.getText('t').insert(0, 'hello');
		await until(() => r2.doc.getText('t').toString() === 'hello', 'p2 has the edit');
		r2.doc.getText('t').insert(5, ' world');
		await until(() => r1.doc.getText('t').toString() === 'hello world', 'p1 has the edit');
		// One row per edit, written by the process that made it; the receiver stored nothing.
		expect(logRows(p1.db, 'w')).toBe(2);
	});

	it('drops frames that do not decode and goes on relaying', async () => {
		const { p1, p2, bus } = twoProcesses();
		const [r1, r2] = (await Promise.all([p1.registry.get('w'), p2.registry.get('w')])) as Room[];
		bus.publish(roomChannel('w'), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
		bus.publish(roomChannel('w'), encodeRelayFrame('someone', RELAY_UPDATE, Uint8Array.of(1, 2, 3, 250)));
		bus.publish(roomChannel('w'), encodeRelayFrame('someone', RELAY_AWARENESS, Uint8Array.of(9, 9, 9)));
		r1.doc.getText('t').insert(0, 'still here');
		await until(() => r2.doc.getText('t').toString() === 'still here', 'p2 has the edit');
		expect(p2.warnings.filter((w) => /undecodable relayed/.test(w)).length).toBe(2);
		expect(r1.doc.getText('t').toString()).toBe('still here');
		expect(logRows(p1.db, 'w')).toBe(1);
	});
});

describe('catching up after the bus was away', () => {
	it('on reload, a room re-reads the store: an update whose publish was lost arrives, and is not stored again', async () => {
		const { p1, p2, bus } = twoProcesses();
		const r2 = (await p2.registry.get('w')) as Room;
		// Stored by "process 1", its publish lost (Redis dropped it).
		const other = new Y.Doc();
		other.getText('t').insert(0, 'stored, never relayed');
		createSqlitePersistence(p1.db).appendUpdate('w', Y.encodeStateAsUpdate(other));
		expect(r2.doc.getText('t').toString()).toBe('');
		bus.publish(RELOAD_CHANNEL, new Uint8Array(0));
		await until(() => r2.doc.getText('t').toString() === 'stored, never relayed', 'p2 caught up');
		expect(logRows(p2.db, 'w')).toBe(1);
	});
});

describe('compaction with several processes on one log', () => {
	it('keeps an update another process logged that this doc has not received yet', async () => {
		const temp = tempDbPath();
		const [dbA, dbB] = [openDatabase(temp.path), openDatabase(temp.path)];
		cleanups.push(() => {
			dbA.close();
			dbB.close();
			temp.remove();
		});
		const [storeA, storeB] = [createSqlitePersistence(dbA), createSqlitePersistence(dbB)];
		const docA = new Y.Doc();
		const appends: Promise<void>[] = [];
		docA.on('update', (u: Uint8Array) => void appends.push(storeA.appendUpdate('w', u)));
		docA.getText('t').insert(0, 'A');
		await Promise.all(appends);
		// B logs an edit; it has not reached A (still on the bus) when A compacts.
		const docB = new Y.Doc();
		docB.getMap('m').set('from', 'B');
		await storeB.appendUpdate('w', Y.encodeStateAsUpdate(docB));
		await storeA.compact('w', docA);

		const loaded = new Y.Doc();
		await storeA.load('w', loaded);
		expect(loaded.getText('t').toString()).toBe('A');
		expect(loaded.getMap('m').get('from')).toBe('B');
		expect(logRows(dbA, 'w')).toBe(0);
	});
});

describe('documents for the HTTP routes while the relay is away', () => {
	it('answer 503 (retry), not 500', async () => {
		const docs = collabWorkflowDocs({ getDoc: () => Promise.reject(new RelayUnavailableError()) });
		const error = await docs.snapshot('w').then(
			() => null,
			(e: unknown) => e
		);
		expect(error).toBeInstanceOf(HttpError);
		expect((error as HttpError).status).toBe(503);
		expect((error as HttpError).code).toBe('unavailable');
		// Anything else is still the server's own failure.
		const broken = collabWorkflowDocs({ getDoc: () => Promise.reject(new Error('disk')) });
		await expect(broken.snapshot('w')).rejects.toThrow('disk');
	});
});
