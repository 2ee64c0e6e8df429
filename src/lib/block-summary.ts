/**
 * The one-line summary a block card shows in its header, from the block's (possibly half-edited)
 * params: what the block does with these settings, in words (each block's `summary`).
 */
import { definitionOf } from '$lib/workflow/blocks';
import type { BlockInput } from '$lib/workflow/doc';

/**
 * @param fileNames display names of uploaded files by path (the stored name is a random id)
 * @example summarizeBlock({ id: 'f', type: 'filter', params: { column: 'country', operator: 'equals', value: 'US' } })
 * // 'country = "US"'
 */
export function summarizeBlock(block: BlockInput, fileNames: ReadonlyMap<string, string> = new Map()): string {
	const p = (block.params ?? {}) as Record<string, unknown>;
	return definitionOf(block.type)?.summary(p, { fileNames }) ?? '';
}
