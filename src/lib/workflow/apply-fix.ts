/**
 * Applies a one-click fix (fixes.ts) to the shared document. The caller wraps it in one
 * transaction with its origin (`CollabSession.editStep`), so the fix is one undo step and every
 * collaborator sees it at once.
 */
import type * as Y from 'yjs';
import { definitionOf, isBlockType } from './blocks';
import { addBlock, getBlock, moveBlock, orderedBlockIds, removeBlock, setParam, WorkflowDocError } from './doc';
import type { Fix } from './fixes';

/**
 * Applies `fix` to `doc`; returns the id of the block it changed or added (to bring into view).
 * @throws WorkflowDocError when the block it names is gone or the type is unknown (nothing changed).
 */
export function applyFix(doc: Y.Doc, fix: Fix): string {
	switch (fix.action) {
		case 'set_param':
			setParam(doc, fix.block_id, fix.param, fix.value);
			return fix.block_id;
		case 'add_block':
			if (!isBlockType(fix.type)) throw new WorkflowDocError(`Unknown block type: ${fix.type}`);
			return addBlock(doc, { type: fix.type, index: fix.index, ...(fix.params ? { params: fix.params } : {}) });
		case 'move_block':
			moveBlock(doc, fix.block_id, fix.to);
			return fix.block_id;
		case 'replace_block': {
			const block = getBlock(doc, fix.block_id);
			if (!block) throw new WorkflowDocError(`No block ${fix.block_id}`);
			if (!isBlockType(fix.type)) throw new WorkflowDocError(`Unknown block type: ${fix.type}`);
			const type = fix.type;
			const index = orderedBlockIds(doc).indexOf(fix.block_id);
			const params = { ...(definitionOf(type)!.defaults() as object), ...keptParams(type, block.params as Record<string, unknown>) };
			doc.transact(() => {
				removeBlock(doc, fix.block_id);
				addBlock(doc, { type, id: fix.block_id, index, params });
			});
			return fix.block_id;
		}
	}
}

/**
 * The params of a block of type `from` that a block of type `to` keeps when one is turned into
 * the other: those its params schema names (e.g. Enrich Company → Enrich Lead keeps the fields to
 * find, the research plan, tier and concurrency; it drops the company columns and Find people).
 */
export function keptParams(to: string, params: Record<string, unknown>): Record<string, unknown> {
	const schema = definitionOf(to)?.params as { entries?: Record<string, unknown> } | undefined;
	const known = schema?.entries ? Object.keys(schema.entries) : [];
	return Object.fromEntries(Object.entries(params).filter(([key, value]) => known.includes(key) && value !== undefined));
}
