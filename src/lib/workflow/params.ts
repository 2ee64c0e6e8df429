/**
 * The pieces block params are built from (column names, structs, tiers, row kinds) and the row
 * model. Block definitions (blocks/) build their params schemas from these; `schema.ts` re-exports
 * them all, so the rest of the code keeps one import.
 */
import * as v from 'valibot';

export const MAX_TEXT = 20_000;

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

/** The keys of Sixtyfour's `target_company` that Enrich Company fills from columns. */
export const COMPANY_KEYS = ['company_name', 'website', 'domain', 'linkedin_url'] as const;
export type CompanyKey = (typeof COMPANY_KEYS)[number];

export const ColumnName = v.pipe(v.string(), v.trim(), v.minLength(1, 'Column name is empty'), v.maxLength(200));

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
export const Concurrency = v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000)));

/** One cell of a row. Lists and objects from the API are stored as JSON text. */
export type Cell = string | number | boolean | null;
/** A row: column → value. */
export type Row = Record<string, Cell>;

/** Columns whose names start with `_` are bookkeeping (`_error`, `_confidence`), never API input. */
export const ERROR_COLUMN = '_error';
export const CONFIDENCE_COLUMN = '_confidence';
/** Enrich Company with Find people: how many people were found at the row's company (0 = nobody). */
export const PEOPLE_FOUND_COLUMN = '_people_found';
