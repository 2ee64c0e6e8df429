/**
 * Save CSV: writes the rows to a CSV file people can download (server/blocks/save-csv.ts, writers in server/files).
 */
import * as v from 'valibot';
import { finalOutputName, outputNameProblem } from '../output-name';
import { OUTPUT_FORMATS } from '../source-file';
import { setParamFix } from '../fixes';
import { defineBlock } from './types';

export const SaveCsvParams = v.strictObject({
	// The file-name rules are the check's (output-name.ts), so the editor states them on the field;
	// this bound only keeps an absurd value from being carried around.
	filename: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(10_000))),
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
	check: ({ params, report }) => {
		const problem = params?.filename === undefined ? null : outputNameProblem(params.filename);
		if (!problem || params?.filename === undefined) return;
		// The name the server would make of it: safe by construction, and what the card shows.
		const safe = finalOutputName({ filename: params.filename, format: params.format });
		report('.params.filename', 'error', problem, {
			fixes: outputNameProblem(safe) ? [] : [setParamFix(`Use "${safe}"`, 'filename', safe)]
		});
	},
	// The very name the server writes and the download carries.
	summary: (p) => `Saves ${finalOutputName({ filename: p.filename, format: p.format })}`
});
