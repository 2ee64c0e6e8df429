/**
 * The block catalogue as the UI reads it: labels by type id (any string, so a block type this
 * browser does not know yet still shows its id) and the palette's entries in catalogue order.
 */
import { BLOCKS } from '$lib/workflow/blocks';
import type { BlockType } from '$lib/workflow/schema';

interface Entry {
	type: BlockType;
	label: string;
	description: string;
	usesApi: boolean;
}

const entries: Entry[] = Object.values(BLOCKS).map((d) => ({
	type: d.type,
	label: d.label,
	description: d.description,
	usesApi: d.usesApi
}));
const byType = new Map<string, Entry>(entries.map((e) => [e.type, e]));

/** Every block type a person can add, in palette order. */
export const PALETTE: readonly Entry[] = entries;

/** "Enrich Lead" for `enrich_lead`; the id itself for an unknown type. */
export function blockLabel(type: string): string {
	return byType.get(type)?.label ?? type;
}

/** True when the block calls the paid API. */
export function blockUsesApi(type: string): boolean {
	return byType.get(type)?.usesApi ?? false;
}
