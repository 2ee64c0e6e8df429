/**
 * How a source file is read (its dialect) and what the server found out about it: shared by the
 * block params (`read_csv.delimiter`, `encoding`, `sheet`; `save_csv.format`, `bom`), the upload
 * and source routes' answers, and the Read CSV card that shows them.
 */
import * as v from 'valibot';

/** Field delimiters Read CSV knows; `auto` = detected from the first rows. */
export const CSV_DELIMITERS = ['auto', ',', ';', '\t', '|'] as const;
export type CsvDelimiter = Exclude<(typeof CSV_DELIMITERS)[number], 'auto'>;

/** Text encodings Read CSV decodes; `auto` = BOM, then UTF-8 if the first bytes are valid, else Windows-1252. */
export const CSV_ENCODINGS = ['auto', 'utf-8', 'utf-16le', 'utf-16be', 'windows-1252'] as const;
export type CsvEncoding = Exclude<(typeof CSV_ENCODINGS)[number], 'auto'>;

/** What Save CSV writes. */
export const OUTPUT_FORMATS = ['csv', 'xlsx'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** How people name a delimiter (cards, messages). */
export const DELIMITER_NAMES: Record<CsvDelimiter, string> = {
	',': 'comma',
	';': 'semicolon',
	'\t': 'tab',
	'|': 'pipe'
};

/** How people name an encoding. */
export const ENCODING_NAMES: Record<CsvEncoding, string> = {
	'utf-8': 'UTF-8',
	'utf-16le': 'UTF-16 LE',
	'utf-16be': 'UTF-16 BE',
	'windows-1252': 'Windows-1252 (Western European)'
};

/** A header name the reader changed to make it a usable column key (blank, repeated, `__proto__`). */
export const RenamedColumnSchema = v.object({ from: v.string(), to: v.string() });

/** What reading a file found: shown on the Read CSV card next to its columns. */
export const SourceDialectSchema = v.object({
	format: v.picklist(['csv', 'xlsx']),
	/** CSV only: the delimiter used, and whether it was detected (false = set on the block). */
	delimiter: v.optional(v.picklist([',', ';', '\t', '|'])),
	delimiter_detected: v.optional(v.boolean()),
	/** CSV only: the encoding used, and whether it was detected. */
	encoding: v.optional(v.picklist(['utf-8', 'utf-16le', 'utf-16be', 'windows-1252'])),
	encoding_detected: v.optional(v.boolean()),
	/** Something a person should know about the text (decoded as Windows-1252, invalid bytes replaced). */
	encoding_note: v.optional(v.string()),
	/** xlsx only: the sheet read, and every sheet of the workbook in order. */
	sheet: v.optional(v.string()),
	sheets: v.optional(v.array(v.string())),
	renamed_columns: v.array(RenamedColumnSchema)
});
export type SourceDialect = v.InferOutput<typeof SourceDialectSchema>;

/** The card's words for a dialect: "semicolon-separated · Windows-1252 (Western European)". */
export function describeDialect(d: SourceDialect): string {
	if (d.format === 'xlsx') return `Excel workbook${d.sheet ? ` · sheet “${d.sheet}”` : ''}`;
	const parts: string[] = [];
	if (d.delimiter && d.delimiter in DELIMITER_NAMES) {
		const name = DELIMITER_NAMES[d.delimiter as CsvDelimiter];
		parts.push(`${name}-separated${d.delimiter_detected ? ' (detected)' : ''}`);
	}
	if (d.encoding) parts.push(`${ENCODING_NAMES[d.encoding]}${d.encoding_detected && d.encoding !== 'utf-8' ? ' (detected)' : ''}`);
	return parts.join(' · ');
}
