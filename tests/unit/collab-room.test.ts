/**
 * Room.close() releases the doc and the awareness timer even when the store refuses compaction; a
 * joiner's first sync answer holds only stored edits.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { createCounters, resolveLimits, type CollabLogger } from '../../server/collab/limits';
import type { DocPersistence } from '../../server/collab/persistence';
import { Room, type CollabSocket } from '../../server/collab/room';

function failingPersistence(appended: Uint8Array[]): DocPersistence {
	return {
		load: async () => ({ replayed: 0, skipped: 0 }),
		appendUpdate: async (_id, update) => void appended.push(update),
		compact: async () => {
			throw new Error('SQLITE_BUSY: database is locked');
		},
		remove: async () => {},
		has: async () => appended.length > 0
	};
}

describe('Room with a store that refuses compaction', () => {
	it('close() does not reject, logs a warning and still destroys the awareness (its interval)', async () => {
		const appended: Uint8Array[] = [];
		const warnings: string[] = [];
		const log: CollabLogger = { info() {}, warn: (_o, msg) => void warnings.push(msg), error() {} };
		const counters = createCounters();
		const room = new Room({
			id: 'w',
			persistence: failingPersistence(appended),
			limits: resolveLimits({ compactEvery: 1 }),
			counters,
			log,
			onEmpty: () => {},
			onFailed: () => {}
		});
		let destroyed = false;
		room.awareness.on('destroy', () => (destroyed = true));
		room.doc.getMap('m').set('k', 1);
		await room.settled();
		expect(appended).toHaveLength(1);
		await expect(room.close()).resolves.toBeUndefined();
		expect(destroyed).toBe(true);
		expect(counters.compactions).toBe(0);
		expect(warnings.some((w) => /compact/i.test(w))).toBe(true);
	});
});

/** A socket that records what the room sent it. */
function recordingSocket(): CollabSocket & { sent: Uint8Array[] } {
	const sent: Uint8Array[] = [];
	return { sent, send: (data) => void sent.push(data), close() {}, bufferedAmount: 0, pause() {}, resume() {} };
}

function syncStep1(doc: Y.Doc): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, 0); // messageSync
	syncProtocol.writeSyncStep1(e, doc);
	return encoding.toUint8Array(e);
}

function syncUpdate(update: Uint8Array): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, 0);
	syncProtocol.writeUpdate(e, update);
	return encoding.toUint8Array(e);
}

describe('a joiner is sent only stored edits', () => {
	it('waits to answer its sync step 1 until the edits in the doc are stored (review: it got one whose write was still under way)', async () => {
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		const appended: Uint8Array[] = [];
		const persistence: DocPersistence = {
			load: async () => ({ replayed: 0, skipped: 0 }),
			appendUpdate: async (_id, update) => {
				await held;
				appended.push(update);
			},
			compact: async () => {},
			remove: async () => {},
			has: async () => appended.length > 0
		};
		const log: CollabLogger = { info() {}, warn() {}, error() {} };
		const room = new Room({
			id: 'w',
			persistence,
			limits: resolveLimits({}),
			counters: createCounters(),
			log,
			onEmpty: () => {},
			onFailed: () => {}
		});
		const writer = recordingSocket();
		room.join(writer, 'edit');
		const edit = new Y.Doc();
		edit.getText('t').insert(0, 'not stored yet');
		room.receive(writer, syncUpdate(Y.encodeStateAsUpdate(edit)));
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(room.doc.getText('t').toString()).toBe('not stored yet'); // applied, its append held

		const joiner = recordingSocket();
		room.join(joiner, 'view');
		const before = joiner.sent.length;
		room.receive(joiner, syncStep1(new Y.Doc()));
		await new Promise((resolve) => setTimeout(resolve, 20));
		const seen = new Y.Doc();
		const apply = (frames: Uint8Array[]) => {
			for (const frame of frames) {
				const d = decoding.createDecoder(frame);
				if (decoding.readVarUint(d) !== 0) continue;
				syncProtocol.readSyncMessage(d, encoding.createEncoder(), seen, null);
			}
		};
		apply(joiner.sent.slice(before));
		expect(seen.getText('t').toString()).toBe(''); // nothing unstored went out

		release();
		await room.settled();
		await new Promise((resolve) => setTimeout(resolve, 20));
		apply(joiner.sent.slice(before));
		expect(appended).toHaveLength(1);
		expect(seen.getText('t').toString()).toBe('not stored yet');
		await room.close();
	});
});
