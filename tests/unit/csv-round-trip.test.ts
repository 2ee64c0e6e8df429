/**
 * Files as people export them, through the engine (`runJob`: read_csv → save_csv): the csv-spectrum
 * cases, delimiters, encodings, header edge cases, and a property test that random tables survive
 * read → save byte for byte (formula neutralising, documented, is the one change).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { neutraliseFormula } from '../../server/files/csv-formula';
import { runJob } from '../../server/engine/run-job';
import type { EnrichmentService } from '../../server/enrichment/types';
import type { Row, WorkflowInput } from '../../src/lib/workflow/schema';
import * as v from 'valibot';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { RUNNERS } from '../../server/blocks';

const SPECTRUM = join(import.meta.dirname, '../fixtures/csv-spectrum');
let dataDir: string;
beforeAll(() => {
	dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'csv-round-trip-')));
	mkdirSync(join(dataDir, 'uploads'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const noApi = new Proxy({} as EnrichmentService, {
	get: () => () => Promise.reject(new Error('CSV blocks must not call the API'))
});

let counter = 0;
/** Runs read_csv (with `read` params) → save_csv (with `save` params) on `content`. */
async function roundTrip(content: string | Buffer, read: Record<string, unknown> = {}, save: Record<string, unknown> = {}) {
	const id = `rt${++counter}`;
	const name = `${id}.csv`;
	writeFileSync(join(dataDir, 'uploads', name), content);
	const input: WorkflowInput = {
		name: 'round trip',
		blocks: [
			{ id: 'read', type: 'read_csv', params: { path: `uploads/${name}`, ...read } },
			{ id: 'save', type: 'save_csv', params: { filename: id, ...save } }
		] as WorkflowInput['blocks']
	};
	const rows: Row[] = [];
	const result = await runJob({
		jobId: id,
		workflow: v.parse(WorkflowSchema, input),
		dataDir,
		enrichment: noApi,
		runners: RUNNERS,
		onRows: (b) => void rows.push(...b)
	});
	const output = result.outputPath ? readFileSync(join(dataDir, result.outputPath)) : null;
	return { result, rows, output, columns: result.columns };
}

/** Reads a CSV written by save_csv back through read_csv. */
async function reread(bytes: Buffer) {
	const { rows, columns } = await roundTrip(bytes);
	return { rows, columns };
}

describe('csv-spectrum', () => {
	const names = readdirSync(SPECTRUM)
		.filter((f) => f.endsWith('.csv'))
		.map((f) => f.slice(0, -4));
	it('has all twelve cases', () => expect(names).toHaveLength(12));

	it.each(names)('%s: reads as its JSON says, and read → save → read gives the same cells', async (name) => {
		const csv = readFileSync(join(SPECTRUM, `${name}.csv`));
		const expected = JSON.parse(readFileSync(join(SPECTRUM, `${name}.json`), 'utf8')) as Row[];
		const first = await roundTrip(csv);
		expect(first.result.status).toBe('completed');
		expect(first.rows).toEqual(expected);
		const second = await reread(first.output!);
		expect(second.rows).toEqual(expected);
		expect(second.columns).toEqual(first.columns);
	});

	// Files already written the way save_csv writes (LF, quotes only where needed) come back byte for byte.
	it.each(['comma_in_quotes', 'escaped_quotes', 'json', 'newlines', 'quotes_and_newlines', 'simple', 'utf8', 'location_coordinates'])(
		'%s: save_csv writes the very same bytes',
		async (name) => {
			const csv = readFileSync(join(SPECTRUM, `${name}.csv`));
			expect((await roundTrip(csv)).output!.toString('utf8')).toBe(csv.toString('utf8'));
		}
	);

	it('newlines_crlf: the CR LF inside the quoted cell survives (rows are then separated by LF)', async () => {
		const { output } = await roundTrip(readFileSync(join(SPECTRUM, 'newlines_crlf.csv')));
		expect(output!.toString('utf8')).toBe('a,b,c\n1,2,3\n"Once upon \r\na time",5,6\n7,8,9\n');
	});
});

describe('exact round trips', () => {
	const long = 'x'.repeat(2_000_000) + ',"\r\n' + 'y'.repeat(1000);
	const cases: { name: string; cells: string[][] }[] = [
		{
			name: 'CR LF, LF and CR inside quoted cells',
			cells: [
				['a', 'b'],
				['x\r\ny', 'p\nq\rr']
			]
		},
		{
			name: 'leading and trailing spaces and tabs',
			cells: [
				['a', 'b'],
				['  padded  ', 'trailing tab \t']
			]
		},
		{
			name: 'empty cells and a row of only empty cells',
			cells: [
				['a', 'b', 'c'],
				['', 'x', ''],
				['', '', '']
			]
		},
		{ name: 'one column with an empty cell (written "" so it is not a blank line)', cells: [['a'], [''], ['z']] },
		{
			name: 'a 2 MB cell holding the delimiter, a quote and CR LF',
			cells: [
				['a', 'b'],
				[long, 'end']
			]
		},
		{
			name: 'quotes everywhere',
			cells: [
				['a', 'b'],
				['"', '""x""'],
				['say "hi"', '"']
			]
		},
		{
			name: 'non-ASCII text',
			cells: [
				['名前', 'ville'],
				['Zoë', 'Kraków ✓ 𝔘']
			]
		},
		{ name: 'a header-only file', cells: [['name', 'email']] }
	];
	it.each(cases)('$name', async ({ cells }) => {
		const csv = stringify(cells, { quoted_empty: cells[0].length === 1 });
		const { rows, output, result } = await roundTrip(csv);
		expect(result.status).toBe('completed');
		expect(rows).toEqual(cells.slice(1).map((r) => Object.fromEntries(cells[0].map((c, i) => [c, r[i]]))));
		expect(output!.toString('utf8')).toBe(csv);
	});

	it('a short row (missing cells) reads as empty cells and is written out full width', async () => {
		const { rows, output } = await roundTrip('a,b,c\n1\n');
		expect(rows).toEqual([{ a: '1', b: '', c: '' }]);
		expect(output!.toString('utf8')).toBe('a,b,c\n1,,\n');
	});

	it('the one documented change: a cell that a spreadsheet would run as a formula gets a leading quote', async () => {
		const { output } = await roundTrip('a,b\n=1+1,-5\n@SUM(A1),+cmd\n');
		expect(output!.toString('utf8')).toBe("a,b\n'=1+1,-5\n'@SUM(A1),'+cmd\n");
	});

	it('bom: true starts the file with a UTF-8 BOM (and the cells stay the same)', async () => {
		const { output } = await roundTrip('a,b\nZoë,1\n', {}, { bom: true });
		expect([...output!.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		expect(output!.subarray(3).toString('utf8')).toBe('a,b\nZoë,1\n');
		expect((await reread(output!)).rows).toEqual([{ a: 'Zoë', b: '1' }]);
	});

	it('property: random tables survive read_csv → save_csv byte for byte (formulas aside)', async () => {
		const char = fc.constantFrom(
			'a',
			'B',
			'7',
			' ',
			'\t',
			'"',
			',',
			';',
			'|',
			'\r',
			'\n',
			'\r\n',
			'é',
			'ʤ',
			'€',
			'😀',
			'=',
			'-',
			'+',
			'@',
			'.'
		);
		const cell = fc.string({ unit: char, maxLength: 12 });
		const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);
		const table = fc
			.uniqueArray(name, { minLength: 1, maxLength: 5 })
			.chain((header) =>
				fc.tuple(
					fc.constant(header),
					fc.array(fc.array(cell, { minLength: header.length, maxLength: header.length }), { maxLength: 8 })
				)
			);
		await fc.assert(
			fc.asyncProperty(table, async ([header, body]) => {
				const quoted_empty = header.length === 1;
				const { rows, output, result } = await roundTrip(stringify([header, ...body], { quoted_empty }));
				expect(result.status).toBe('completed');
				expect(rows).toEqual(body.map((r) => Object.fromEntries(header.map((c, i) => [c, r[i]]))));
				const neutralised = body.map((r) => r.map((c) => neutraliseFormula(c) as string));
				expect(output!.toString('utf8')).toBe(stringify([header, ...neutralised], { quoted_empty }));
			}),
			{ numRuns: 60 }
		);
	});
});

describe('header edge cases', () => {
	it.each([
		{ name: 'duplicate names are made unique', csv: 'email,email,email\n1,2,3\n', columns: ['email', 'email_2', 'email_3'] },
		{ name: 'empty names get their position', csv: 'name,,\nAda,x,y\n', columns: ['name', 'column_2', 'column_3'] },
		{ name: 'a header-only file has its columns and no rows', csv: 'name,email', columns: ['name', 'email'] }
	])('$name', async ({ csv, columns }) => {
		const { columns: got, output } = await roundTrip(csv);
		expect(got).toEqual(columns);
		expect(output!.toString('utf8').split('\n')[0]).toBe(columns.join(','));
	});
});

describe('delimiters', () => {
	const rows = [{ name: 'Ada, Countess', company: 'Engines; Ltd', email: 'ada@example.com' }];
	it.each([
		{ name: 'comma', csv: 'name,company,email\n"Ada, Countess",Engines; Ltd,ada@example.com\n' },
		{
			name: 'semicolon (Excel in many European locales)',
			csv: 'name;company;email\r\nAda, Countess;"Engines; Ltd";ada@example.com\r\n'
		},
		{ name: 'tab', csv: 'name\tcompany\temail\nAda, Countess\tEngines; Ltd\tada@example.com\n' },
		{ name: 'pipe', csv: 'name|company|email\nAda, Countess|Engines; Ltd|ada@example.com\n' }
	])('$name-separated files are detected and read into columns', async ({ csv }) => {
		const result = await roundTrip(csv);
		expect(result.rows).toEqual(rows);
		// Written back as comma-separated CSV.
		expect(result.output!.toString('utf8')).toBe('name,company,email\n"Ada, Countess",Engines; Ltd,ada@example.com\n');
	});

	it('a delimiter set on the block wins over detection', async () => {
		const { rows } = await roundTrip('a;b,c\n1;2,3\n', { delimiter: ';' });
		expect(rows).toEqual([{ a: '1', 'b,c': '2,3' }]);
		expect((await roundTrip('a;b,c\n1;2,3\n', { delimiter: 'auto' })).rows).toEqual([{ 'a;b': '1;2', c: '3' }]);
	});
});

describe('encodings', () => {
	const text = 'name,city\nZoë “Zo” Smith,Kraków €\n';
	const expected = [{ name: 'Zoë “Zo” Smith', city: 'Kraków €' }];
	const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();
	it.each([
		{ name: 'UTF-8', bytes: Buffer.from(text) },
		{ name: 'UTF-8 with BOM', bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]) },
		{
			name: 'UTF-16 LE with BOM (Excel "Unicode text")',
			bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
		},
		{ name: 'UTF-16 BE with BOM', bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)]) },
		{ name: 'UTF-16 LE without BOM', bytes: Buffer.from(text, 'utf16le') }
	])('$name reads the same cells, written out as UTF-8', async ({ bytes }) => {
		const { rows, output } = await roundTrip(bytes);
		expect(rows).toEqual(expected);
		expect(output!.toString('utf8')).toBe(text);
	});

	it('Windows-1252 (smart quotes, €, accents) is detected and decoded', async () => {
		// "Zoë “Zo” Smith,Kraków €" in Windows-1252 bytes (ó is not in 1252's Polish: use á).
		const bytes = Buffer.from([
			...Buffer.from('name,city\nZo'),
			0xeb,
			...Buffer.from(' '),
			0x93,
			...Buffer.from('Zo'),
			0x94,
			...Buffer.from(' Smith,Krak'),
			0xe1,
			...Buffer.from('w '),
			0x80,
			0x0a
		]);
		const { rows, output } = await roundTrip(bytes);
		expect(rows).toEqual([{ name: 'Zoë “Zo” Smith', city: 'Krakáw €' }]);
		expect(output!.toString('utf8')).toBe('name,city\nZoë “Zo” Smith,Krakáw €\n');
	});

	it('an encoding set on the block wins over detection', async () => {
		// Valid UTF-8 ("Ã©" is é in UTF-8) read as Windows-1252 on purpose.
		const { rows } = await roundTrip(Buffer.from('a\né\n'), { encoding: 'windows-1252' });
		expect(rows).toEqual([{ a: 'Ã©' }]);
	});

	it.each([
		{
			name: 'UTF-16 with an odd byte count',
			bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\nb\n', 'utf16le'), Buffer.from([0x41])]),
			read: {},
			rows: [{ a: 'b' }, { a: '\uFFFD' }]
		},
		{
			name: 'invalid bytes in a file said to be UTF-8',
			bytes: Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0xfd, 0x0a]),
			read: { encoding: 'utf-8' },
			rows: [{ a: '\uFFFD\uFFFD\uFFFD' }]
		},
		{
			name: 'UTF-16 BE bytes read as UTF-16 LE (one odd header, no rows)',
			bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be('a\nb\n')]),
			read: { encoding: 'utf-16le' },
			rows: []
		}
	])('never crashes: $name', async ({ bytes, read, rows: expected }) => {
		const { result, rows } = await roundTrip(bytes, read);
		expect(result.status).toBe('completed');
		expect(rows).toEqual(expected);
	});
});
