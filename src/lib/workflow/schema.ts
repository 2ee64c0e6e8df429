/**
 * The workflow model shared by browser, server and CLI: valibot schemas are the single source of
 * truth; every type is inferred from them.
 */
import * as v from 'valibot';
import { CSV_DELIMITERS, CSV_ENCODINGS, OUTPUT_FORMATS } from './source-file';

/** Block type ids are part of the public API. */
export const BLOCK_TYPES = ['read_csv', 'filter', 'enrich_company', 'enrich_lead', 'find_email', 'save_csv'] as const;
export type BlockType = (typeof BLOCK_TYPES)[number];

const MAX_TEXT = 20_000;

export const FILTER_OPERATORS = [
	'equals',
	'not_equals',
	'contains',
	'not_contains',
	'starts_with',
	'ends_with',
	'gt',
	'gte',
	'lt',
	'lte',
	'is_empty',
	'is_not_empty'
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** Struct field types Sixtyfour accepts for `struct` entries. */
export const STRUCT_FIELD_TYPES = [
	'str',
	'string',
	'int',
	'integer',
	'float',
	'bool',
	'boolean',
	'list',
	'dict',
	'list[str]',
	'list[int]',
	'list[float]'
] as const;

export const TIERS = ['low', 'medium', 'high', 'xhigh'] as const;

/**
 * What a row describes: a person (`lead`), a company, or `any` table. Blocks declare the kind they
 * need and the kind they produce, so a chain that cannot work (Enrich Company on people) is refused
 * before a run is paid for.
 */
export const ROW_KINDS = ['lead', 'company', 'any'] as const;
export type RowKind = (typeof ROW_KINDS)[number];

/** Read CSV's row kind: `auto` infers it from the file's columns. */
export const READ_CSV_KINDS = ['auto', 'lead', 'company'] as const;

/** The keys of Sixtyfour's `target_company` that Enrich Company fills from columns. */
export const COMPANY_KEYS = ['company_name', 'website', 'domain', 'linkedin_url'] as const;
export type CompanyKey = (typeof COMPANY_KEYS)[number];

const ColumnName = v.pipe(v.string(), v.trim(), v.minLength(1, 'Column name is empty'), v.maxLength(200));

/** Output field name of a struct: becomes a column, so it must be a plain identifier-like name. */
const StructFieldName = v.pipe(
	v.string(),
	v.regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'Field names start with a letter and use letters, digits and _')
);

export const StructFieldSchema = v.union([
	v.pipe(v.string(), v.maxLength(2_000)),
	v.strictObject({
		description: v.pipe(v.string(), v.maxLength(2_000)),
		type: v.optional(v.picklist(STRUCT_FIELD_TYPES))
	})
]);
export type StructField = v.InferOutput<typeof StructFieldSchema>;

export const StructSchema = v.pipe(
	v.record(StructFieldName, StructFieldSchema),
	v.check((s) => Object.keys(s).length <= 50, 'At most 50 struct fields')
);

/** Per-API-block concurrency override (rows in flight for this block). */
const Concurrency = v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000)));

export const ReadCsvParams = v.strictObject({
	path: v.pipe(v.string(), v.trim(), v.minLength(1, 'Choose a CSV file'), v.maxLength(1_000)),
	/** What each row of the file describes; unset or `auto` = inferred from the columns. */
	kind: v.optional(v.picklist(READ_CSV_KINDS)),
	/** Field delimiter; unset or `auto` = detected from the first rows. */
	delimiter: v.optional(v.picklist(CSV_DELIMITERS)),
	/** Text encoding; unset or `auto` = detected from the first bytes. */
	encoding: v.optional(v.picklist(CSV_ENCODINGS)),
	/** For an .xlsx file: the sheet to read by name; unset = the first sheet. */
	sheet: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(200)))
});

export const FilterParams = v.pipe(
	v.strictObject({
		expression: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT))),
		column: v.optional(ColumnName),
		operator: v.optional(v.picklist(FILTER_OPERATORS)),
		value: v.optional(v.union([v.pipe(v.string(), v.maxLength(MAX_TEXT)), v.number(), v.boolean()]))
	}),
	v.check(
		(p) => (p.expression?.trim() ? true : Boolean(p.column && p.operator)),
		'Give an expression, or a column and an operator'
	)
);

export const EnrichLeadParams = v.strictObject({
	struct: StructSchema,
	research_plan: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT))),
	input_columns: v.optional(v.pipe(v.array(ColumnName), v.maxLength(500))),
	tier: v.optional(v.picklist(TIERS)),
	concurrency: Concurrency
});

/** Which column holds each `target_company` key; unset = detected from the column names. */
export const CompanyColumnsSchema = v.pipe(
	v.strictObject({
		company_name: v.optional(ColumnName),
		website: v.optional(ColumnName),
		domain: v.optional(ColumnName),
		linkedin_url: v.optional(ColumnName)
	}),
	v.check(
		(m) => Object.values(m).some((c) => c !== undefined),
		'Map at least one company column, or leave Company columns unset to detect them by name'
	)
);

export const EnrichCompanyParams = v.strictObject({
	company_columns: v.optional(CompanyColumnsSchema),
	/** Company fields to find: one column each. May be empty only when `find_people` is on. */
	struct: StructSchema,
	research_plan: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT))),
	/** Turn each company row into one row per person found there (rows become leads). */
	find_people: v.optional(v.boolean(), false),
	people_focus_prompt: v.optional(v.pipe(v.string(), v.maxLength(MAX_TEXT))),
	/** Person fields to find for each person (default name, title, linkedin): one column each. */
	lead_struct: v.optional(StructSchema),
	tier: v.optional(v.picklist(TIERS)),
	concurrency: Concurrency
});

export const FindEmailParams = v.strictObject({
	mode: v.optional(v.picklist(['PROFESSIONAL', 'PERSONAL']), 'PROFESSIONAL'),
	only_missing: v.optional(v.boolean(), true),
	concurrency: Concurrency
});

export const SaveCsvParams = v.strictObject({
	filename: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(200))),
	/** `csv` (unset) or an Excel workbook. */
	format: v.optional(v.picklist(OUTPUT_FORMATS)),
	/** CSV only: start the file with a UTF-8 byte order mark, so Excel opens accents correctly. */
	bom: v.optional(v.boolean())
});

export const PARAMS_SCHEMAS = {
	read_csv: ReadCsvParams,
	filter: FilterParams,
	enrich_company: EnrichCompanyParams,
	enrich_lead: EnrichLeadParams,
	find_email: FindEmailParams,
	save_csv: SaveCsvParams
} as const satisfies Record<BlockType, v.GenericSchema>;

export type ParamsOf<K extends BlockType> = v.InferOutput<(typeof PARAMS_SCHEMAS)[K]>;

const BlockId = v.pipe(
	v.string(),
	v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'Block ids use letters, digits, _ and - (at most 64)')
);

function blockVariant<K extends BlockType>(type: K) {
	return v.object({ id: BlockId, type: v.literal(type), params: PARAMS_SCHEMAS[type] });
}

export const BlockSchema = v.variant('type', [
	blockVariant('read_csv'),
	blockVariant('filter'),
	blockVariant('enrich_company'),
	blockVariant('enrich_lead'),
	blockVariant('find_email'),
	blockVariant('save_csv')
]);
export type Block = v.InferOutput<typeof BlockSchema>;
export type BlockOf<K extends BlockType> = Extract<Block, { type: K }>;

export const MAX_BLOCKS = 100;

export const WorkflowSchema = v.pipe(
	v.object({
		name: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(200)), 'Untitled workflow'),
		blocks: v.pipe(v.array(BlockSchema), v.maxLength(MAX_BLOCKS, `At most ${MAX_BLOCKS} blocks`))
	}),
	v.check(
		(w) => new Set(w.blocks.map((b) => b.id)).size === w.blocks.length,
		'Block ids must be unique'
	)
);
export type Workflow = v.InferOutput<typeof WorkflowSchema>;
/** A workflow as people write it (defaults not yet applied). */
export type WorkflowInput = v.InferInput<typeof WorkflowSchema>;

export const RunOptionsSchema = v.strictObject({
	/** Run only the first N rows of the input: try a workflow cheaply. */
	row_limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
	/** Rows in flight per API block, unless the block sets its own. */
	concurrency: Concurrency
});
export type RunOptions = v.InferOutput<typeof RunOptionsSchema>;

/** One cell of a row. Lists and objects from the API are stored as JSON text. */
export type Cell = string | number | boolean | null;
/** A row: column → value. */
export type Row = Record<string, Cell>;

/** Columns whose names start with `_` are bookkeeping (`_error`, `_confidence`), never API input. */
export const ERROR_COLUMN = '_error';
export const CONFIDENCE_COLUMN = '_confidence';
/** Enrich Company with Find people: how many people were found at the row's company (0 = nobody). */
export const PEOPLE_FOUND_COLUMN = '_people_found';
