/**
 * The workflow model shared by browser, server and CLI: valibot schemas are the single source of
 * truth; every type is inferred from them. A block's params schema lives in its definition
 * (blocks/); the block union is built from the definitions.
 */
import * as v from 'valibot';
import { BLOCK_DEFINITIONS } from './blocks';
import { Concurrency } from './params';

export * from './params';
export { BLOCK_TYPES, type BlockType, type ParamsOf } from './blocks';

const BlockId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'Block ids use letters, digits, _ and - (at most 64)'));

function blockVariant<T extends string, P extends v.GenericSchema>(definition: { type: T; params: P }) {
	return v.object({ id: BlockId, type: v.literal(definition.type), params: definition.params });
}

/** One `{ id, type, params }` object schema per definition, as a tuple (so the union is inferred). */
type VariantsOf<D extends readonly unknown[]> = {
	-readonly [I in keyof D]: D[I] extends { type: infer T extends string; params: infer P extends v.GenericSchema }
		? ReturnType<typeof blockVariant<T, P>>
		: never;
};

export const BlockSchema = v.variant(
	'type',
	BLOCK_DEFINITIONS.map((d) => blockVariant<string, v.GenericSchema>(d)) as unknown as VariantsOf<typeof BLOCK_DEFINITIONS>
);
export type Block = v.InferOutput<typeof BlockSchema>;
export type BlockOf<K extends Block['type']> = Extract<Block, { type: K }>;

export const MAX_BLOCKS = 100;

export const WorkflowSchema = v.pipe(
	v.object({
		name: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(200)), 'Untitled workflow'),
		blocks: v.pipe(v.array(BlockSchema), v.maxLength(MAX_BLOCKS, `At most ${MAX_BLOCKS} blocks`))
	}),
	v.check((w) => new Set(w.blocks.map((b) => b.id)).size === w.blocks.length, 'Block ids must be unique')
);
export type Workflow = v.InferOutput<typeof WorkflowSchema>;
/** A workflow as people write it (defaults not yet applied). */
export type WorkflowInput = v.InferInput<typeof WorkflowSchema>;

/** Most rows one run or retry may select (a retry of failed rows takes the first this many). */
export const MAX_SELECTED_ROWS = 10_000;

/** Input rows by index (0 = the first data row): a selection in the grid, the failed rows, one row to retry. */
export const RowSelectionSchema = v.pipe(
	v.array(
		v.pipe(
			v.number('Each row is a number'),
			v.integer('Each row is a whole number'),
			v.minValue(0, 'Rows count from 0'),
			v.maxValue(100_000_000, 'No file has that many rows')
		)
	),
	v.minLength(1, 'Give at least one row'),
	v.maxLength(MAX_SELECTED_ROWS, 'Give at most 10,000 rows (run the first N rows for more)'),
	v.check((rows) => new Set(rows).size === rows.length, 'Each row may be given once')
);

export const RunOptionsSchema = v.strictObject({
	/** Run only the first N rows of the input: try a workflow cheaply. */
	row_limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
	/** Rows in flight per API block, unless the block sets its own. */
	concurrency: Concurrency,
	/** Run only these rows of the input (0 = the first data row), e.g. the rows selected in the grid or the failed ones. */
	rows: v.optional(RowSelectionSchema)
});
export type RunOptions = v.InferOutput<typeof RunOptionsSchema>;
