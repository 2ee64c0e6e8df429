/**
 * Drag-and-drop payload types of the editor: a palette item carries a block type, a card carries
 * its block id. Custom MIME types keep other drags (files, text) from being taken for blocks.
 */
export const BLOCK_TYPE_MIME = 'application/x-leadflow-block-type';
export const BLOCK_ID_MIME = 'application/x-leadflow-block-id';

/**
 * Where a drop at `y` lands among cards whose vertical extents are `rects`: the index of the first
 * card whose middle is below the pointer (the end when none is).
 */
export function dropIndex(y: number, rects: readonly { top: number; height: number }[]): number {
	const i = rects.findIndex((r) => y < r.top + r.height / 2);
	return i === -1 ? rects.length : i;
}
