import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import { applySplice, diffText, transformPosition, type DeltaOp } from '../../src/lib/workflow/text-diff';

describe('diffText', () => {
	it.each([
		{ before: '', after: 'abc', caret: 3, splice: { index: 0, remove: 0, insert: 'abc' } },
		{ before: 'hello', after: 'help', caret: 4, splice: { index: 3, remove: 2, insert: 'p' } },
		{ before: 'abc', after: 'ac', caret: 1, splice: { index: 1, remove: 1, insert: '' } },
		// typing "a" into "aa" with the caret at the start inserts at the start, not at the end
		{ before: 'aa', after: 'aaa', caret: 1, splice: { index: 0, remove: 0, insert: 'a' } },
		{ before: 'aa', after: 'aaa', caret: 3, splice: { index: 2, remove: 0, insert: 'a' } },
		// backspace in a run of equal characters deletes at the caret
		{ before: 'xxxx', after: 'xxx', caret: 1, splice: { index: 1, remove: 1, insert: '' } },
		// select "b" and paste "XYZ"
		{ before: 'abc', after: 'aXYZc', caret: 4, splice: { index: 1, remove: 1, insert: 'XYZ' } },
		// never splits a surrogate pair (😀 is two UTF-16 units)
		{ before: 'a😀b', after: 'a😁b', caret: 3, splice: { index: 1, remove: 2, insert: '😁' } },
		// …and the common tail is kept even when the shared head was a surrogate half (smallest splice)
		{ before: '😀b😁', after: '😁', caret: undefined, splice: { index: 0, remove: 3, insert: '' } }
	])('$before → $after at $caret', ({ before, after, caret, splice }) => {
		expect(diffText(before, after, caret)).toEqual(splice);
		expect(applySplice(before, splice)).toBe(after);
	});

	it('returns null when nothing changed', () => {
		expect(diffText('same', 'same', 2)).toBeNull();
	});

	it('always reproduces the new value, whatever the caret hint', () => {
		fc.assert(
			fc.property(fc.string(), fc.string(), fc.option(fc.nat(50), { nil: undefined }), (before, after, caret) => {
				const splice = diffText(before, after, caret);
				expect(splice === null ? before : applySplice(before, splice)).toBe(after);
			})
		);
	});
});

describe('transformPosition', () => {
	it.each<{ name: string; position: number; delta: DeltaOp[]; expected: number }>([
		{ name: 'insert before the caret pushes it right', position: 5, delta: [{ retain: 2 }, { insert: 'abc' }], expected: 8 },
		{ name: 'insert after the caret leaves it', position: 2, delta: [{ retain: 4 }, { insert: 'abc' }], expected: 2 },
		{ name: 'insert at the caret lands to its right', position: 3, delta: [{ retain: 3 }, { insert: 'zz' }], expected: 3 },
		{ name: 'delete before the caret pulls it left', position: 6, delta: [{ retain: 1 }, { delete: 2 }], expected: 4 },
		{
			name: 'delete around the caret clamps to the start of the range',
			position: 4,
			delta: [{ retain: 2 }, { delete: 5 }],
			expected: 2
		},
		{ name: 'delete after the caret leaves it', position: 1, delta: [{ retain: 3 }, { delete: 2 }], expected: 1 },
		{ name: 'insert at the start', position: 0, delta: [{ insert: 'x' }], expected: 0 }
	])('$name', ({ position, delta, expected }) => {
		expect(transformPosition(position, delta)).toBe(expected);
	});
});

describe('two people typing in one Y.Text through diffText', () => {
	it('both edits survive and the documents converge', () => {
		const a = new Y.Doc();
		const b = new Y.Doc();
		const ta = a.getText('t');
		const tb = b.getText('t');
		ta.insert(0, 'name == "x"');
		Y.applyUpdate(b, Y.encodeStateAsUpdate(a));

		// A appends at the end, B edits the start: each computes a splice from what its field shows.
		const edit = (doc: Y.Doc, text: Y.Text, after: string, caret: number) => {
			const s = diffText(text.toString(), after, caret)!;
			doc.transact(() => {
				if (s.remove) text.delete(s.index, s.remove);
				if (s.insert) text.insert(s.index, s.insert);
			});
		};
		edit(a, ta, 'name == "x" and ok', 18);
		edit(b, tb, 'full_name == "x"', 5);
		Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
		Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
		expect(ta.toString()).toBe('full_name == "x" and ok');
		expect(tb.toString()).toBe(ta.toString());
	});

	it('moves the caret with a remote edit observed through a Y.Text delta', () => {
		const doc = new Y.Doc();
		const text = doc.getText('t');
		text.insert(0, 'hello world');
		let caret = 8; // inside "world"
		text.observe((e) => {
			caret = transformPosition(caret, e.delta as DeltaOp[]);
		});
		text.insert(0, '>> ');
		expect(caret).toBe(11);
		text.delete(0, 9); // ">> hello " removed
		expect(caret).toBe(2);
		expect(text.toString().slice(caret)).toBe('rld');
	});
});
