/** Room.close() releases the doc and the awareness timer even when the store refuses compaction. */
import { describe, expect, it } from 'vitest';
import { createCounters, resolveLimits, type CollabLogger } from '../../server/collab/limits';
import type { DocPersistence } from '../../server/collab/persistence';
import { Room } from '../../server/collab/room';

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
