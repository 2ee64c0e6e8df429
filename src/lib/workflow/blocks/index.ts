/**
 * The block catalogue: the list of block definitions, in palette order. A block type is one file
 * here (its definition) plus one runner in server/blocks/ and one form in the editor's forms
 * registry; everything generic looks a type up in `BLOCKS` and never branches on it.
 */
import type * as v from 'valibot';
import { toJsonSchema } from '@valibot/to-json-schema';
import { enrichCompany } from './enrich-company';
import { enrichLead } from './enrich-lead';
import { filter } from './filter';
import { findEmail } from './find-email';
import { findPhone } from './find-phone';
import { readCsv } from './read-csv';
import { saveCsv } from './save-csv';
import type { BlockDefinition } from './types';

export type { BlockCategory, BlockDefinition, BlockRowKinds, CheckContext, CostModel, CollabRules, RowCount } from './types';
export { DEFAULT_LEAD_STRUCT, personFieldsOf } from './enrich-company';

/** Every block definition, in palette order. */
export const BLOCK_DEFINITIONS = [readCsv, filter, enrichCompany, enrichLead, findEmail, findPhone, saveCsv] as const;

type AnyDefinition = (typeof BLOCK_DEFINITIONS)[number];
/** Block type ids are part of the public API. */
export type BlockType = AnyDefinition['type'];

/** Every block type id, in palette order. */
export const BLOCK_TYPES = BLOCK_DEFINITIONS.map((d) => d.type) as readonly BlockType[] as readonly [BlockType, ...BlockType[]];

/** The definition of each block type. */
export const BLOCKS = Object.fromEntries(BLOCK_DEFINITIONS.map((d) => [d.type, d])) as {
	readonly [K in BlockType]: Extract<AnyDefinition, { type: K }>;
};

/** The params of a block of type K, parsed (defaults applied). */
export type ParamsOf<K extends BlockType> = v.InferOutput<(typeof BLOCKS)[K]['params']>;

/**
 * The definition of `type` seen through the generic interface (callbacks take `unknown` params),
 * or undefined for a type this catalogue does not know.
 */
export function definitionOf(type: unknown): BlockDefinition | undefined {
	return isBlockType(type) ? (BLOCKS[type] as unknown as BlockDefinition) : undefined;
}

export function isBlockType(type: unknown): type is BlockType {
	return typeof type === 'string' && Object.hasOwn(BLOCKS, type);
}

/** The columns a block adds with these params (none for blocks that pass columns on). */
export function addedColumnsOf<K extends BlockType>(type: K, params: ParamsOf<K>): string[] {
	return definitionOf(type)?.addedColumns?.(params) ?? [];
}

/** The catalogue as plain JSON, params as JSON Schema: for forms and `GET /api/workflows/blocks`. */
export function describeBlocks() {
	return BLOCK_TYPES.map((type) => {
		const def = definitionOf(type)!;
		return {
			type,
			label: def.label,
			description: def.description,
			category: def.category,
			uses_api: def.usesApi,
			// Every block's params are an object schema, so its defaults are an object.
			defaults: def.defaults() as Record<string, unknown>,
			/** With the default params; the column-flow analysis gives each block's actual kinds. */
			row_kinds: def.rowKinds(def.defaults()),
			params: toJsonSchema(def.params as v.GenericSchema, { errorMode: 'ignore' })
		};
	});
}

/** A block's progress counts, as the engine and /live report them. */
interface RowCounts {
	block_type: string;
	rows_in: number;
	rows_out: number;
}

/**
 * Rows a block has finished: the rows it read for a block that drops some (a filter), the rows it
 * passed on for every other.
 */
export function rowsDone(b: RowCounts): number {
	return definitionOf(b.block_type)?.rowCount === 'fewer' ? b.rows_in : b.rows_out;
}

/**
 * Rows an API block was given to answer: its rows in when one row may become many (Enrich Company
 * finding people), else the rows it finished. Requests per row are counted against these.
 */
export function rowsAnswered(b: RowCounts): number {
	return definitionOf(b.block_type)?.rowCount === 'varies' ? b.rows_in : rowsDone(b);
}
