/**
 * What changed between two versions of a workflow, in terms people use: blocks added, removed,
 * moved, params changed, the name changed. Computed from the two Workflow JSONs (never from Yjs
 * internals), so it reads the same whatever the edits were; the history panel shows it and the
 * versions API answers it.
 *
 * Moves: of the blocks in both versions, the longest run that kept its relative order stayed; any
 * other common block moved. So dragging one block three places down is one move, not three.
 */
import * as v from 'valibot';
import { definitionOf } from './blocks';
import type { WorkflowInput } from './schema';

/** A param value as the diff carries it: any JSON. */
const Json = v.unknown();

/** One change, `from` (the older version) → `to` (the newer, e.g. the workflow now). */
export const WorkflowChangeSchema = v.variant('kind', [
	v.object({ kind: v.literal('name'), before: v.string(), after: v.string() }),
	v.object({ kind: v.literal('added'), block_id: v.string(), type: v.string(), index: v.number() }),
	v.object({ kind: v.literal('removed'), block_id: v.string(), type: v.string(), index: v.number() }),
	v.object({ kind: v.literal('moved'), block_id: v.string(), type: v.string(), from: v.number(), to: v.number() }),
	v.object({
		kind: v.literal('param'),
		block_id: v.string(),
		type: v.string(),
		key: v.string(),
		before: v.optional(Json),
		after: v.optional(Json)
	})
]);
export type WorkflowChange = v.InferOutput<typeof WorkflowChangeSchema>;

type Block = WorkflowInput['blocks'][number];

/**
 * The changes that turn `from` into `to`, in a stable order: name, removed, added, moved, then
 * params by block order in `to`.
 * @example diffWorkflows(version, now) // [{ kind: 'param', block_id: 'keep', key: 'expression', before: '…', after: '…' }]
 */
export function diffWorkflows(from: WorkflowInput, to: WorkflowInput): WorkflowChange[] {
	const changes: WorkflowChange[] = [];
	const beforeName = from.name ?? '';
	const afterName = to.name ?? '';
	if (beforeName !== afterName) changes.push({ kind: 'name', before: beforeName, after: afterName });

	// A block whose type changed under the same id is a different block: removed and added.
	const same = (a: Block | undefined, b: Block | undefined) => a !== undefined && b !== undefined && a.type === b.type;
	const oldById = new Map(from.blocks.map((b, i) => [b.id, { block: b, index: i }]));
	const newById = new Map(to.blocks.map((b, i) => [b.id, { block: b, index: i }]));
	from.blocks.forEach((b, index) => {
		if (!same(b, newById.get(b.id)?.block)) changes.push({ kind: 'removed', block_id: b.id, type: b.type, index });
	});
	to.blocks.forEach((b, index) => {
		if (!same(oldById.get(b.id)?.block, b)) changes.push({ kind: 'added', block_id: b.id, type: b.type, index });
	});

	const commonOld = from.blocks.filter((b) => same(b, newById.get(b.id)?.block)).map((b) => b.id);
	const commonNew = to.blocks.filter((b) => same(oldById.get(b.id)?.block, b)).map((b) => b.id);
	const stayed = longestCommonSubsequence(commonOld, commonNew);
	for (const id of commonNew) {
		if (stayed.has(id)) continue;
		const block = newById.get(id)!;
		changes.push({ kind: 'moved', block_id: id, type: block.block.type, from: oldById.get(id)!.index, to: block.index });
	}

	for (const id of commonNew) {
		const before = oldById.get(id)!.block;
		const after = newById.get(id)!.block;
		const a = (before.params ?? {}) as Record<string, unknown>;
		const b = (after.params ?? {}) as Record<string, unknown>;
		const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
		for (const key of keys) {
			if (jsonEqual(a[key], b[key])) continue;
			changes.push({
				kind: 'param',
				block_id: id,
				type: after.type,
				key,
				...(a[key] === undefined ? {} : { before: a[key] }),
				...(b[key] === undefined ? {} : { after: b[key] })
			});
		}
	}
	return changes;
}

/** The block's label and id as people see it: `Filter (keep)`. */
export function blockLabel(type: string, id: string): string {
	return `${definitionOf(type)?.label ?? type} (${id})`;
}

/** Longest a value is shown in a sentence before it is shortened with `…`. */
const SHOWN_CHARS = 60;
/** Characters kept on each side of the part of a long text that changed. */
const CONTEXT_CHARS = 16;

/** A param value in a sentence: text in quotes (line breaks as ⏎), long ones shortened, others as compact JSON. */
export function showValue(value: unknown): string {
	if (value === undefined) return 'nothing';
	const text = typeof value === 'string' ? `“${value.replace(/\r?\n/g, '⏎')}”` : (JSON.stringify(value) ?? String(value));
	return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS - 1)}…` : text;
}

/**
 * Two texts in a sentence, `“before” → “after”`; when either is long, only the part that changed
 * with a little context on each side (`“…pages.” → “…pages. Then the alumni list.”`).
 */
export function showTextChange(before: string, after: string): string {
	if (before.length <= SHOWN_CHARS - 2 && after.length <= SHOWN_CHARS - 2) return `${showValue(before)} → ${showValue(after)}`;
	let start = 0;
	while (start < before.length && start < after.length && before[start] === after[start]) start++;
	let end = 0;
	while (end < before.length - start && end < after.length - start && before[before.length - 1 - end] === after[after.length - 1 - end])
		end++;
	const excerpt = (text: string) => {
		const from = Math.max(0, start - CONTEXT_CHARS);
		const to = Math.min(text.length, text.length - end + CONTEXT_CHARS);
		const middle = text.slice(from, to).replace(/\r?\n/g, '⏎');
		const shown = middle.length > SHOWN_CHARS ? `${middle.slice(0, SHOWN_CHARS - 1)}…` : middle;
		return `“${from > 0 ? '…' : ''}${shown}${to < text.length && !shown.endsWith('…') ? '…' : ''}”`;
	};
	return `${excerpt(before)} → ${excerpt(after)}`;
}

/**
 * One change as a sentence, read as "since the older version": `Added Filter (keep) at 2`,
 * `Filter (keep): expression "a" → "b"`. Positions are 1-based, as the editor numbers cards.
 */
export function describeChange(change: WorkflowChange): string {
	switch (change.kind) {
		case 'name':
			return `Renamed ${showValue(change.before)} → ${showValue(change.after)}`;
		case 'added':
			return `Added ${blockLabel(change.type, change.block_id)} at ${change.index + 1}`;
		case 'removed':
			return `Removed ${blockLabel(change.type, change.block_id)} from ${change.index + 1}`;
		case 'moved':
			return `Moved ${blockLabel(change.type, change.block_id)} from ${change.from + 1} to ${change.to + 1}`;
		case 'param': {
			const values =
				typeof change.before === 'string' && typeof change.after === 'string'
					? showTextChange(change.before, change.after)
					: `${showValue(change.before)} → ${showValue(change.after)}`;
			return `${blockLabel(change.type, change.block_id)}: ${change.key} ${values}`;
		}
	}
}

/** Counts per kind, for a one-line summary (`2 params changed, 1 block added`). */
export function summarizeChanges(changes: readonly WorkflowChange[]): string {
	if (changes.length === 0) return 'No changes';
	const count = (kind: WorkflowChange['kind']) => changes.filter((c) => c.kind === kind).length;
	const parts: string[] = [];
	const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
	if (count('name')) parts.push('renamed');
	if (count('added')) parts.push(`${plural(count('added'), 'block', 'blocks')} added`);
	if (count('removed')) parts.push(`${plural(count('removed'), 'block', 'blocks')} removed`);
	if (count('moved')) parts.push(`${plural(count('moved'), 'block', 'blocks')} moved`);
	if (count('param')) parts.push(`${plural(count('param'), 'setting', 'settings')} changed`);
	return parts.join(', ');
}

function jsonEqual(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	const ka = Object.keys(a);
	const kb = Object.keys(b);
	if (ka.length !== kb.length) return false;
	return ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The ids of a longest common subsequence of `a` and `b` (each id occurs once in each). */
function longestCommonSubsequence(a: readonly string[], b: readonly string[]): Set<string> {
	const n = a.length;
	const m = b.length;
	// lengths[i][j]: LCS of a[i..] and b[j..]; at most 100 × 100 blocks.
	const lengths = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
	for (let i = n - 1; i >= 0; i--)
		for (let j = m - 1; j >= 0; j--)
			lengths[i]![j] = a[i] === b[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
	const kept = new Set<string>();
	let i = 0;
	let j = 0;
	while (i < n && j < m) {
		if (a[i] === b[j]) {
			kept.add(a[i]!);
			i++;
			j++;
		} else if (lengths[i + 1]![j]! >= lengths[i]![j + 1]!) i++;
		else j++;
	}
	return kept;
}
