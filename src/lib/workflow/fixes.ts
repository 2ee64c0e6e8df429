/**
 * One-click fixes: a problem with one obvious remedy carries it as data (`Problem.fixes`), so the
 * editor can offer a button that applies it (apply-fix.ts) as one undoable edit of the shared
 * document. A fix is computed by the analysis from the workflow as it is now; applying one that
 * has gone stale (someone deleted the block meanwhile) changes nothing.
 *
 * Rules decided here:
 * - A fix only ever does what the problem's message already proposes, in the same words.
 * - At most two fixes per problem (the message's two alternatives, e.g. "set the row kind" or
 *   "use Enrich Lead"); none where the remedy needs a person's judgement (what to write in an
 *   empty description, which of several columns to map).
 */
import * as v from 'valibot';

/** A block id in a fix built inside a block's check: the analysis replaces it with the block's own. */
export const THIS_BLOCK = '';

const Label = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const Id = v.string();

export const FixSchema = v.variant('action', [
	/** Sets one param of a block (`value` absent: removes it). */
	v.object({ action: v.literal('set_param'), label: Label, block_id: Id, param: v.string(), value: v.optional(v.unknown()) }),
	/** Adds a block with its type's defaults (or `params`) at `index`. */
	v.object({
		action: v.literal('add_block'),
		label: Label,
		type: v.string(),
		index: v.number(),
		params: v.optional(v.record(v.string(), v.unknown()))
	}),
	/** Moves a block so it ends up at `to`. */
	v.object({ action: v.literal('move_block'), label: Label, block_id: Id, to: v.number() }),
	/** Turns a block into another type in place (same id and position), keeping the params both types know. */
	v.object({ action: v.literal('replace_block'), label: Label, block_id: Id, type: v.string() })
]);
export type Fix = v.InferOutput<typeof FixSchema>;

/** The most fixes one problem offers. */
export const MAX_FIXES = 2;

/** A fix that sets a param of the block being checked. */
export function setParamFix(label: string, param: string, value: unknown): Fix {
	return { action: 'set_param', label, block_id: THIS_BLOCK, param, value };
}

/** The fix with `THIS_BLOCK` replaced by `blockId`. */
export function ownedBy(fix: Fix, blockId: string): Fix {
	return 'block_id' in fix && fix.block_id === THIS_BLOCK ? { ...fix, block_id: blockId } : fix;
}

/**
 * A copy of `params` with the value at `segments` (below the params, e.g. `['input_columns', '1']`)
 * replaced; null when the path does not lead to a value of the params.
 */
export function withValueAt(params: unknown, segments: readonly string[], value: unknown): { param: string; value: unknown } | null {
	const [param, ...rest] = segments;
	if (param === undefined || typeof params !== 'object' || params === null) return null;
	const root = (params as Record<string, unknown>)[param];
	if (rest.length === 0) return { param, value };
	const copy = structuredClone(root);
	let at: unknown = copy;
	for (const [i, key] of rest.entries()) {
		if (typeof at !== 'object' || at === null || !Object.hasOwn(at, key)) return null;
		if (i === rest.length - 1) (at as Record<string, unknown>)[key] = value;
		else at = (at as Record<string, unknown>)[key];
	}
	return { param, value: copy };
}
