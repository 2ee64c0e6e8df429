/**
 * Version storage (issue 13): every version rebuilds exactly the workflow it was taken of — through
 * delta chains, keyframes, deletions that the room's garbage collection has already dropped, and a
 * document replaced under it — and automatic versions come after a pause in the edits (fake timers),
 * naming the people whose edits went in. Also measures what a version costs on a typical workflow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import {
	createVersionHistory,
	VERSION_IDLE_MS,
	VERSION_MAX_WAIT_MS,
	type VersionHistoryOptions
} from '../../server/history/version-history';
import { openDatabase, type Db } from '../../server/store/db';
import { createSqliteVersionStore } from '../../server/store/version-store';
import {
	addBlock,
	docToWorkflow,
	getBlock,
	getParamText,
	isTextParam,
	moveBlock,
	removeBlock,
	setParam,
	workflowToDoc
} from '../../src/lib/workflow/doc';
import type { WorkflowInput } from '../../src/lib/workflow/schema';

const FILTERED = JSON.parse(readFileSync(join(import.meta.dirname, '../../data/examples/filtered.json'), 'utf8')) as WorkflowInput & {
	description?: string;
};
const { description: _description, ...TYPICAL } = FILTERED;

let db: Db;
beforeEach(() => {
	db = openDatabase(':memory:');
});
afterEach(() => {
	vi.useRealTimers();
	db.close();
});

function history(doc: Y.Doc | null, options: Partial<VersionHistoryOptions> = {}) {
	return createVersionHistory({
		store: createSqliteVersionStore(db),
		getDoc: async () => {
			if (!doc) throw new Error('no doc');
			return doc;
		},
		...options
	});
}

/**
 * One keystroke, as the editor makes it: into the Y.Text of a long text param (research plan), or a
 * whole new value of a short field (an expression is replaced whole on every keystroke).
 */
function keystroke(doc: Y.Doc, blockId: string, key: string, at: number, remove: number, insert: string) {
	doc.transact(() => {
		const block = getBlock(doc, blockId);
		if (isTextParam(block?.type, key)) {
			const text = getParamText(doc, blockId, key);
			if (remove) text.delete(at, remove);
			if (insert) text.insert(at, insert);
		} else {
			const value = String((block?.params as Record<string, unknown> | undefined)?.[key] ?? '');
			setParam(doc, blockId, key, value.slice(0, at) + insert + value.slice(at + remove));
		}
	});
}

/** Types `text` one keystroke per transaction, as a person does. */
function type(doc: Y.Doc, blockId: string, key: string, at: number, text: string) {
	for (let i = 0; i < text.length; i++) keystroke(doc, blockId, key, at + i, 0, text[i]!);
}

function backspace(doc: Y.Doc, blockId: string, key: string, at: number, count: number) {
	for (let i = 0; i < count; i++) keystroke(doc, blockId, key, at - i - 1, 1, '');
}

describe('version storage', () => {
	it('rebuilds every version exactly, through deltas and keyframes (round trip)', async () => {
		const doc = workflowToDoc(TYPICAL);
		const versions = history(doc, { keyframeEvery: 4 });
		const expected = new Map<number, WorkflowInput>();
		const take = async () => {
			const v = await versions.record('w', { kind: 'auto' });
			expected.set(v.id, docToWorkflow(doc));
			return v;
		};
		const edits: ((d: Y.Doc) => void)[] = [
			(d) => type(d, 'only_ariglad', 'expression', 0, 'lower('),
			(d) => backspace(d, 'only_ariglad', 'expression', 6, 6),
			(d) => addBlock(d, { type: 'find_email', id: 'email', index: 4 }),
			(d) => moveBlock(d, 'email', 1),
			(d) => d.transact(() => setParam(d, 'save', 'bom', true)),
			(d) => removeBlock(d, 'american_only'),
			(d) => type(d, 'education', 'research_plan', 0, 'Start with the university site. '),
			(d) => d.transact(() => setParam(d, 'save', 'filename', 'renamed')),
			(d) => removeBlock(d, 'email')
		];
		await take();
		for (const edit of edits) {
			edit(doc);
			await take();
		}
		// Keyframes every 4th version, deltas between them.
		const states = await Promise.all([...expected.keys()].map((id) => createSqliteVersionStore(db).state('w', id)));
		expect(states.map((s) => s!.depth)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
		for (const [id, workflow] of expected) expect(await versions.workflowAt('w', id), `version ${id}`).toEqual(workflow);
	});

	it('a deletion the room has garbage-collected is still undone by an older version', async () => {
		const doc = workflowToDoc(TYPICAL);
		expect(doc.gc).toBe(true);
		const versions = history(doc);
		const before = await versions.record('w', { kind: 'named', name: 'Before' });
		removeBlock(doc, 'education');
		backspace(doc, 'only_ariglad', 'expression', 10, 10);
		const after = await versions.record('w', { kind: 'auto' });
		expect(await versions.workflowAt('w', before.id)).toEqual(TYPICAL);
		expect(await versions.workflowAt('w', after.id)).toEqual(docToWorkflow(doc));
		expect((await versions.workflowAt('w', after.id))!.blocks.map((b) => b.id)).not.toContain('education');
	});

	it('a document replaced by one that does not hold the last version starts a new keyframe', async () => {
		let doc = workflowToDoc(TYPICAL);
		const versions = createVersionHistory({ store: createSqliteVersionStore(db), getDoc: async () => doc });
		await versions.record('w', { kind: 'auto' });
		doc = workflowToDoc({ name: 'Other', blocks: [{ id: 'read', type: 'read_csv', params: { path: 'samples/x.csv' } }] });
		const v = await versions.record('w', { kind: 'auto' });
		expect((await createSqliteVersionStore(db).state('w', v.id))!.baseId).toBeNull();
		expect(await versions.workflowAt('w', v.id)).toEqual(docToWorkflow(doc));
	});

	it('answers null for a version of another workflow or none at all', async () => {
		const doc = workflowToDoc(TYPICAL);
		const versions = history(doc);
		const v = await versions.record('w', { kind: 'auto' });
		expect(await versions.workflowAt('other', v.id)).toBeNull();
		expect(await versions.workflowAt('w', v.id + 1)).toBeNull();
		expect(await versions.get('other', v.id)).toBeNull();
	});

	it('costs little per version on a typical workflow (measured)', async () => {
		const doc = workflowToDoc(TYPICAL);
		const versions = history(doc, { keyframeEvery: 1000 });
		const full = await versions.record('w', { kind: 'auto' });
		// A typical pause-to-pause edit: a few words typed in a filter.
		type(doc, 'only_ariglad', 'expression', 0, 'lower(');
		const typed = await versions.record('w', { kind: 'auto' });
		doc.transact(() => setParam(doc, 'save', 'bom', true));
		const setting = await versions.record('w', { kind: 'auto' });
		addBlock(doc, { type: 'find_email', id: 'email' });
		const added = await versions.record('w', { kind: 'auto' });
		const run = await versions.record('w', { kind: 'run', jobId: 'job' });
		const json = JSON.stringify(docToWorkflow(doc)).length;
		console.info(
			`version bytes on the 5-block example (${json} B of JSON): keyframe ${full.bytes}, typed 6 chars ${typed.bytes}, ` +
				`one setting ${setting.bytes}, block added ${added.bytes}, run with no edit ${run.bytes}`
		);
		expect(full.bytes).toBeLessThan(json * 1.5);
		for (const v of [typed, setting, added, run]) expect(v.bytes).toBeLessThan(full.bytes / 3);
	});
});

describe('automatic versions', () => {
	it(`are taken ${VERSION_IDLE_MS / 1000} s after the last edit, naming the people whose edits went in`, async () => {
		vi.useFakeTimers();
		const doc = workflowToDoc(TYPICAL);
		const versions = history(doc, { now: () => Date.now() });
		versions.noteEdit('w', doc, 'Ada');
		await vi.advanceTimersByTimeAsync(VERSION_IDLE_MS - 1_000);
		versions.noteEdit('w', doc, 'Grace');
		versions.noteEdit('w', doc, null);
		await vi.advanceTimersByTimeAsync(VERSION_IDLE_MS - 1_000);
		expect(await versions.list('w', { limit: 10 })).toEqual([]);
		expect(versions.pending().get('w')).toEqual(['Ada', 'Grace']);
		await vi.advanceTimersByTimeAsync(1_000);
		const [version, ...rest] = await versions.list('w', { limit: 10 });
		expect(rest).toEqual([]);
		expect(version).toMatchObject({ kind: 'auto', authors: ['Ada', 'Grace'], name: null });
		expect(versions.pending().size).toBe(0);
		// Nothing more without new edits.
		await vi.advanceTimersByTimeAsync(10 * VERSION_IDLE_MS);
		expect(await versions.list('w', { limit: 10 })).toHaveLength(1);
	});

	it(`a room edited without a pause still gets one every ${VERSION_MAX_WAIT_MS / 60_000} minutes`, async () => {
		vi.useFakeTimers();
		const doc = workflowToDoc(TYPICAL);
		const versions = history(doc, { now: () => Date.now() });
		for (let t = 0; t < VERSION_MAX_WAIT_MS + 10_000; t += 10_000) {
			versions.noteEdit('w', doc, 'Ada');
			await vi.advanceTimersByTimeAsync(10_000);
		}
		expect(await versions.list('w', { limit: 10 })).toHaveLength(1);
	});

	it('a named version takes the pending edits (and their authors) with it; flush records the rest', async () => {
		vi.useFakeTimers();
		const a = workflowToDoc(TYPICAL);
		const b = workflowToDoc(TYPICAL);
		const versions = createVersionHistory({ store: createSqliteVersionStore(db), getDoc: async (id) => (id === 'a' ? a : b) });
		versions.noteEdit('a', a, 'Ada');
		versions.noteEdit('b', b, 'Grace');
		const named = await versions.record('a', { kind: 'named', name: 'Checkpoint', createdBy: 'Linus' });
		expect(named).toMatchObject({ authors: ['Ada'], createdBy: 'Linus', name: 'Checkpoint' });
		await versions.flush();
		expect(await versions.list('b', { limit: 5 })).toMatchObject([{ kind: 'auto', authors: ['Grace'] }]);
		await vi.advanceTimersByTimeAsync(2 * VERSION_IDLE_MS);
		expect(await versions.list('a', { limit: 5 })).toHaveLength(1);
	});

	it('a version that cannot be stored keeps its edits pending', async () => {
		const doc = workflowToDoc(TYPICAL);
		const store = createSqliteVersionStore(db);
		const versions = createVersionHistory({
			store: { ...store, add: () => Promise.reject(new Error('disk full')) },
			getDoc: async () => doc
		});
		versions.noteEdit('w', doc, 'Ada');
		await expect(versions.record('w', { kind: 'auto' })).rejects.toThrow('disk full');
		expect(versions.pending().get('w')).toEqual(['Ada']);
	});
});
