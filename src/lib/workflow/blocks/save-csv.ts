/**
 * Save CSV: writes the rows to a CSV file people can download (server/blocks/save-csv.ts, writers in server/files).
 */
import * as v from 'valibot';
import { OUTPUT_FORMATS } from '../source-file';
import { defineBlock } from './types';

export const SaveCsvParams = v.strictObject({
	filename: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(200))),
	/** `csv` (unset) or an Excel workbook. */
	format: v.optional(v.picklist(OUTPUT_FORMATS)),
	/** CSV only: start the file with a UTF-8 byte order mark, so Excel opens accents correctly. */
	bom: v.optional(v.boolean())
});

export const saveCsv = defineBlock({
	type: 'save_csv',
	label: 'Save CSV',
	description: 'Writes the rows to a CSV file (or an Excel workbook) you can download.',
	category: 'output',
	usesApi: false,
	icon: 'download',
	params: SaveCsvParams,
	defaults: () => ({}),
	rowKinds: () => ({ accepts: 'any', produces: 'input' }),
	rowCount: 'same',
	noRowsMessage: 'Save CSV is before any Read CSV: there are no rows to save.',
	summary: (p) => {
		const name = typeof p.filename === 'string' && p.filename.trim() ? p.filename.trim() : 'results';
		if (p.format === 'xlsx') return `Saves ${name.replace(/\.(csv|xlsx)$/i, '')}.xlsx`;
		return `Saves ${name.endsWith('.csv') ? name : `${name}.csv`}`;
	}
});
