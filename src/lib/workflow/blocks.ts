/**
 * The block catalogue: what each block type is, for people (label, description) and for the
 * column-flow analysis (which columns it adds). Execution lives on the server (server/blocks/).
 */
import * as v from 'valibot';
import { toJsonSchema } from '@valibot/to-json-schema';
import {
	BLOCK_TYPES,
	CONFIDENCE_COLUMN,
	ERROR_COLUMN,
	PARAMS_SCHEMAS,
	PEOPLE_FOUND_COLUMN,
	type BlockType,
	type ParamsOf,
	type RowKind
} from './schema';

export type BlockCategory = 'input' | 'transform' | 'enrichment' | 'output';

/**
 * The kind of row a block accepts and the kind it produces: a kind, `input` (the kind it received:
 * Filter, Save CSV) or `columns` (inferred from the file's columns: Read CSV on `auto`).
 */
export interface BlockRowKinds {
	accepts: RowKind;
	produces: RowKind | 'input' | 'columns';
}

/** The person fields Enrich Company finds with Find people when no `lead_struct` is given. */
export const DEFAULT_LEAD_STRUCT = {
	name: 'Full name',
	title: 'Current job title',
	linkedin: 'LinkedIn profile URL'
} as const;

/** A block type's declaration, shared by browser and server. */
export interface BlockDefinition<K extends BlockType = BlockType> {
	type: K;
	label: string;
	description: string;
	category: BlockCategory;
	/** True for blocks that call the Sixtyfour API (they cost money and take rate limit). */
	usesApi: boolean;
	params: (typeof PARAMS_SCHEMAS)[K];
	/** Default params for a freshly added block. */
	defaults: () => v.InferInput<(typeof PARAMS_SCHEMAS)[K]>;
	/** Columns this block adds to its input (read_csv: decided by the file). */
	addedColumns: (params: ParamsOf<K>) => string[];
	/** Row kinds; params as written (defaults may be missing), so the palette can ask too. */
	rowKinds: (params: v.InferInput<(typeof PARAMS_SCHEMAS)[K]>) => BlockRowKinds;
}

const readCsv: BlockDefinition<'read_csv'> = {
	type: 'read_csv',
	label: 'Read CSV',
	description:
		'Reads rows from an uploaded CSV or Excel (.xlsx) file, or a bundled sample. The delimiter (comma, semicolon, tab, pipe) and the encoding are detected unless you set them. Its rows are leads or companies, inferred from the columns unless you set the row kind.',
	category: 'input',
	usesApi: false,
	params: PARAMS_SCHEMAS.read_csv,
	defaults: () => ({ path: '' }),
	addedColumns: () => [],
	rowKinds: (p) => ({ accepts: 'any', produces: p.kind === 'lead' || p.kind === 'company' ? p.kind : 'columns' })
};

const filter: BlockDefinition<'filter'> = {
	type: 'filter',
	label: 'Filter',
	description: 'Keeps the rows that match an expression or a column condition.',
	category: 'transform',
	usesApi: false,
	params: PARAMS_SCHEMAS.filter,
	defaults: () => ({ expression: '' }),
	addedColumns: () => [],
	rowKinds: () => ({ accepts: 'any', produces: 'input' })
};

/** The person fields of an Enrich Company that finds people: its `lead_struct` or the default. */
export function personFieldsOf(params: { lead_struct?: Record<string, unknown> }): string[] {
	return Object.keys(params.lead_struct ?? DEFAULT_LEAD_STRUCT);
}

const enrichCompany: BlockDefinition<'enrich_company'> = {
	type: 'enrich_company',
	label: 'Enrich Company',
	description:
		'Researches each company with Sixtyfour and adds one column per requested field. With Find people, each company row becomes one lead row per person found there (company columns kept, one column per person field, _people_found = how many); a company where nobody is found keeps one row with empty person fields and _people_found = 0.',
	category: 'enrichment',
	usesApi: true,
	params: PARAMS_SCHEMAS.enrich_company,
	defaults: () => ({
		struct: { industry: 'The industry the company is in', employee_count: 'Approximate number of employees' },
		find_people: false
	}),
	addedColumns: (p) => [
		...new Set([
			...Object.keys(p.struct),
			...(p.find_people ? [...personFieldsOf(p), PEOPLE_FOUND_COLUMN] : []),
			CONFIDENCE_COLUMN,
			ERROR_COLUMN
		])
	],
	rowKinds: (p) => ({ accepts: 'company', produces: p.find_people === true ? 'lead' : 'company' })
};

const enrichLead: BlockDefinition<'enrich_lead'> = {
	type: 'enrich_lead',
	label: 'Enrich Lead',
	description: 'Researches each lead with Sixtyfour and adds one column per requested field.',
	category: 'enrichment',
	usesApi: true,
	params: PARAMS_SCHEMAS.enrich_lead,
	defaults: () => ({ struct: { title: 'Current job title' } }),
	addedColumns: (p) => [...Object.keys(p.struct), CONFIDENCE_COLUMN, ERROR_COLUMN],
	rowKinds: () => ({ accepts: 'lead', produces: 'lead' })
};

const findEmail: BlockDefinition<'find_email'> = {
	type: 'find_email',
	label: 'Find Email',
	description: "Finds each lead's email address (professional or personal) and its status.",
	category: 'enrichment',
	usesApi: true,
	params: PARAMS_SCHEMAS.find_email,
	defaults: () => ({ mode: 'PROFESSIONAL', only_missing: true }),
	addedColumns: (p) => [
		'email',
		'email_status',
		...(p.mode === 'PERSONAL' ? ['personal_email'] : []),
		ERROR_COLUMN
	],
	rowKinds: () => ({ accepts: 'lead', produces: 'lead' })
};

const saveCsv: BlockDefinition<'save_csv'> = {
	type: 'save_csv',
	label: 'Save CSV',
	description: 'Writes the rows to a CSV file (or an Excel workbook) you can download.',
	category: 'output',
	usesApi: false,
	params: PARAMS_SCHEMAS.save_csv,
	defaults: () => ({}),
	addedColumns: () => [],
	rowKinds: () => ({ accepts: 'any', produces: 'input' })
};

/** Every block type, in palette order. */
export const BLOCKS = {
	read_csv: readCsv,
	filter,
	enrich_company: enrichCompany,
	enrich_lead: enrichLead,
	find_email: findEmail,
	save_csv: saveCsv
} as const satisfies { [K in BlockType]: BlockDefinition<K> };

export function getBlockDefinition<K extends BlockType>(type: K): BlockDefinition<K> {
	return BLOCKS[type] as unknown as BlockDefinition<K>;
}

export function isBlockType(type: unknown): type is BlockType {
	return typeof type === 'string' && (BLOCK_TYPES as readonly string[]).includes(type);
}

/** The catalogue as plain JSON, params as JSON Schema: for forms and `GET /api/workflows/blocks`. */
export function describeBlocks() {
	return BLOCK_TYPES.map((type) => {
		const def = BLOCKS[type];
		return {
			type,
			label: def.label,
			description: def.description,
			category: def.category,
			uses_api: def.usesApi,
			defaults: def.defaults(),
			/** With the default params; the column-flow analysis gives each block's actual kinds. */
			row_kinds: (def.rowKinds as (p: unknown) => BlockRowKinds)(def.defaults()),
			params: toJsonSchema(def.params as v.GenericSchema, { errorMode: 'ignore' })
		};
	});
}
