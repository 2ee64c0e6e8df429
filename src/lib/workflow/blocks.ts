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
	type BlockType,
	type ParamsOf
} from './schema';

export type BlockCategory = 'input' | 'transform' | 'enrichment' | 'output';

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
}

const readCsv: BlockDefinition<'read_csv'> = {
	type: 'read_csv',
	label: 'Read CSV',
	description: 'Reads rows from an uploaded CSV file (or a bundled sample).',
	category: 'input',
	usesApi: false,
	params: PARAMS_SCHEMAS.read_csv,
	defaults: () => ({ path: '' }),
	addedColumns: () => []
};

const filter: BlockDefinition<'filter'> = {
	type: 'filter',
	label: 'Filter',
	description: 'Keeps the rows that match an expression or a column condition.',
	category: 'transform',
	usesApi: false,
	params: PARAMS_SCHEMAS.filter,
	defaults: () => ({ expression: '' }),
	addedColumns: () => []
};

const enrichLead: BlockDefinition<'enrich_lead'> = {
	type: 'enrich_lead',
	label: 'Enrich Lead',
	description: 'Researches each lead with Sixtyfour and adds one column per requested field.',
	category: 'enrichment',
	usesApi: true,
	params: PARAMS_SCHEMAS.enrich_lead,
	defaults: () => ({ struct: { title: 'Current job title' } }),
	addedColumns: (p) => [...Object.keys(p.struct), CONFIDENCE_COLUMN, ERROR_COLUMN]
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
	]
};

const saveCsv: BlockDefinition<'save_csv'> = {
	type: 'save_csv',
	label: 'Save CSV',
	description: 'Writes the rows to a CSV file you can download.',
	category: 'output',
	usesApi: false,
	params: PARAMS_SCHEMAS.save_csv,
	defaults: () => ({}),
	addedColumns: () => []
};

/** Every block type, in palette order. */
export const BLOCKS = {
	read_csv: readCsv,
	filter,
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
			params: toJsonSchema(def.params as v.GenericSchema, { errorMode: 'ignore' })
		};
	});
}
