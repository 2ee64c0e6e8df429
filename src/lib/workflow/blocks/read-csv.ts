/**
 * Read CSV: the source. Reads rows from an uploaded CSV or .xlsx file (or a bundled sample); its rows are
 * leads or companies, inferred from the file's columns unless the row kind is set.
 */
import * as v from 'valibot';
import { quoteList, titleOf } from '../row-kinds';
import { CSV_DELIMITERS, CSV_ENCODINGS } from '../source-file';
import { defineBlock } from './types';

/** Read CSV's row kind: `auto` infers it from the file's columns. */
export const READ_CSV_KINDS = ['auto', 'lead', 'company'] as const;

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

/** The last part of a path ("uploads/3f9c.csv" → "3f9c.csv"). */
function baseName(path: string): string {
	return path.split('/').pop() || path;
}

export const readCsv = defineBlock({
	type: 'read_csv',
	label: 'Read CSV',
	description:
		'Reads rows from an uploaded CSV or Excel (.xlsx) file, or a bundled sample. The delimiter (comma, semicolon, tab, pipe) and the encoding are detected unless you set them. Its rows are leads or companies, inferred from the columns unless you set the row kind.',
	category: 'input',
	usesApi: false,
	icon: 'file',
	params: ReadCsvParams,
	defaults: () => ({ path: '' }),
	rowKinds: (p) => ({ accepts: 'any', produces: p.kind === 'lead' || p.kind === 'company' ? p.kind : 'columns' }),
	rowCount: 'same',
	source: { pathParam: 'path' },
	kindWords: {
		verb: 'gives',
		why: (m) =>
			m.producer.evidence === null
				? ` (its row kind is set to ${titleOf(m.have)})`
				: m.have === 'lead'
					? ` (it has person columns: ${quoteList(m.producer.evidence)})`
					: ` (it has company columns and no person column: ${quoteList(m.producer.evidence)})`,
		fix: (m) => {
			if (m.accepts === 'company') {
				return `Set Read CSV's row kind to Company if each row of the file is a company, or use ${m.consumerType === 'enrich_company' ? 'Enrich Lead' : 'a lead block'} for people.`;
			}
			if (m.accepts === 'lead') {
				return `Add Enrich Company with Find people before ${m.consumer} to turn companies into leads, or set Read CSV's row kind to Lead if each row is a person.`;
			}
			return undefined;
		}
	},
	summary: (p, { fileNames }) => {
		const path = typeof p.path === 'string' ? p.path.trim() : '';
		return path ? (fileNames.get(path) ?? baseName(path)) : 'No file chosen';
	}
});
