/**
 * Group commit of the update log (server/collab/group-commit.ts) and the document store around
 * it: appends made in one turn of the event loop share one statement, each settles only once that
 * statement has, a failed statement rejects exactly its own appends, and compaction still leaves
 * out a log entry that does not decode (now looked for only when merging everything fails).
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createGroupCommit, ROWS_PER_INSERT, type LogRow } from '../../server/collab/group-commit';
import { createSqlitePersistence } from '../../server/collab/persistence';
import { openDatabase } from '../../server/store/db';

const row = (workflowId: string, byte = 1): LogRow => ({ workflowId, update: Uint8Array.of(byte) });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('createGroupCommit', () => {
	it('writes the appends of one turn in one statement, and settles each only after it', async () => {
		const statements: string[][] = [];
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const append = createGroupCommit(async (rows) => {
			statements.push(rows.map((r) => r.workflowId));
			await gate;
		});
		const settled: string[] = [];
		const all = ['a', 'b', 'c'].map((id) => append(row(id)).then(() => void settled.push(id)));
		await nextTurn();
		await nextTurn();
		expect(statements).toEqual([['a', 'b', 'c']]);
		expect(settled).toEqual([]); // not stored yet: nobody may relay or acknowledge
		release();
		await Promise.all(all);
		expect(settled).toEqual(['a', 'b', 'c']);
	});

	it('starts a new statement for appends of a later turn', async () => {
		const statements: string[][] = [];
		const append = createGroupCommit(async (rows) => void statements.push(rows.map((r) => r.workflowId)));
		await append(row('a'));
		await Promise.all([append(row('b')), append(row('c'))]);
		expect(statements).toEqual([['a'], ['b', 'c']]);
	});

	it(`splits a large group into statements of at most ${ROWS_PER_INSERT} rows`, async () => {
		const sizes: number[] = [];
		const append = createGroupCommit(async (rows) => void sizes.push(rows.length));
		await Promise.all(Array.from({ length: ROWS_PER_INSERT * 2 + 3 }, (_, i) => append(row(`w${i}`))));
		expect(sizes).toEqual([ROWS_PER_INSERT, ROWS_PER_INSERT, 3]);
	});

	it('a failed statement rejects exactly its appends; later ones are written', async () => {
		let fail = true;
		const written: string[] = [];
		const append = createGroupCommit(async (rows) => {
			if (fail) throw new Error('disk full');
			written.push(...rows.map((r) => r.workflowId));
		});
		const results = await Promise.allSettled([append(row('a')), append(row('b'))]);
		expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
		fail = false;
		await append(row('c'));
		expect(written).toEqual(['c']);
	});

	it('an insert that throws synchronously rejects the appends, never the process', async () => {
		const append = createGroupCommit((() => {
			throw new Error('bad statement');
		}) as unknown as (rows: LogRow[]) => Promise<void>);
		await expect(append(row('a'))).rejects.toThrow('bad statement');
	});
});

describe('the document store with group commit (SQLite)', () => {
	it('appends of several workflows in one turn are each stored, in order per workflow', async () => {
		const db = openDatabase(':memory:');
		const persistence = createSqlitePersistence(db);
		const docs = ['w1', 'w2'].map(() => new Y.Doc());
		const appends: Promise<void>[] = [];
		docs.forEach((doc, i) => doc.on('update', (u: Uint8Array) => void appends.push(persistence.appendUpdate(`w${i + 1}`, u))));
		for (const doc of docs) for (const ch of 'abc') doc.getText('t').insert(doc.getText('t').length, ch);
		await Promise.all(appends);
		for (const id of ['w1', 'w2']) {
			const loaded = new Y.Doc();
			expect(await persistence.load(id, loaded)).toEqual({ replayed: 3, skipped: 0 });
			expect(loaded.getText('t').toString()).toBe('abc');
		}
		db.close();
	});

	it('compaction leaves out a log entry that does not decode and keeps every other edit', async () => {
		const db = openDatabase(':memory:');
		const persistence = createSqlitePersistence(db);
		const doc = new Y.Doc();
		doc.on('update', (u: Uint8Array) => void persistence.appendUpdate('w', u));
		doc.getText('t').insert(0, 'kept');
		await nextTurn();
		await persistence.appendUpdate('w', Uint8Array.of(0xff, 0xff, 0xff, 0x01));
		doc.getText('t').insert(4, '!');
		await nextTurn();
		await persistence.compact('w', doc);
		const loaded = new Y.Doc();
		expect(await persistence.load('w', loaded)).toEqual({ replayed: 0, skipped: 0 });
		expect(loaded.getText('t').toString()).toBe('kept!');
		db.close();
	});
});
