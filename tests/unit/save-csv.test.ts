import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSaveCsv } from '../../server/blocks/save-csv';
import { runReadCsv } from '../../server/blocks/read-csv';
import { BUNDLED_SAMPLES_DIR } from '../../server/files/csv-path';
import { neutraliseFormula } from '../../server/files/csv-formula';
import { finalNameOf, outputFileName } from '../../server/files/csv-output-name';
import { finalOutputName, outputNameProblem } from '../../src/lib/workflow/output-name';
import { createCounters } from '../../server/engine/progress';
import type { BlockRunContext, RowStream } from '../../server/engine/types';
import type { EnrichmentService } from '../../server/enrichment/types';
import type { Cell, Row } from '../../src/lib/workflow/schema';

let dataDir: string;

beforeAll(() => {
	dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'save-csv-')));
});

afterAll(() => {
	rmSync(dataDir, { recursive: true, force: true });
});

const noApi = new Proxy({} as EnrichmentService, {
	get: () => () => Promise.reject(new Error('CSV blocks must not call the API'))
});

let jobCounter = 0;
function makeCtx(options: { signal?: AbortSignal; outputDir?: string } = {}) {
	const outputs: string[] = [];
	const jobId = `job-${++jobCounter}`;
	const ctx: BlockRunContext = {
		jobId,
		blockId: 'save',
		signal: options.signal ?? new AbortController().signal,
		dataDir,
		outputDir: options.outputDir ?? join(dataDir, 'outputs'),
		options: {},
		enrichment: noApi,
		counters: createCounters(),
		rowError: () => {},
		setOutputPath: (path) => outputs.push(path)
	};
	return { ctx, outputs, jobId };
}

async function* streamOf(batches: Row[][]): RowStream {
	for (const batch of batches) yield batch;
}

async function drain(rows: RowStream): Promise<Row[][]> {
	const seen: Row[][] = [];
	for await (const batch of rows) seen.push(batch);
	return seen;
}

/** Every file under outputs/ whose name starts with the job id, temp files included. */
function filesOf(jobId: string, dir = join(dataDir, 'outputs')): string[] {
	if (!existsSync(dir)) return [];
	return readdirSync(dir).filter((f) => f.includes(`${jobId}-`));
}

// The final name is the card's, the written file's (after the job id) and the download's. Changed
// from the old sanitiser on purpose (issue 16): a blank name is `results` as the card always said
// (was `output`), and a valid name is kept as written (spaces, brackets, accents) instead of
// being rewritten behind the card's back.
describe('finalOutputName', () => {
	it.each([
		{ input: undefined, expected: 'results.csv' },
		{ input: '', expected: 'results.csv' },
		{ input: '   ', expected: 'results.csv' },
		{ input: 'leads', expected: 'leads.csv' },
		{ input: 'basic-enriched', expected: 'basic-enriched.csv' },
		{ input: ' basic-enriched.csv ', expected: 'basic-enriched.csv' },
		{ input: 'report.CSV', expected: 'report.csv' },
		{ input: 'name.csv.csv', expected: 'name.csv.csv' },
		{ input: 'My leads (final).csv', expected: 'My leads (final).csv' },
		{ input: 'résumé 2024', expected: 'résumé 2024.csv' },
		{ input: 'trailing.', expected: 'trailing.csv' },
		// Names the check refuses, made safe all the same (a run without the checks, e.g. a stored job).
		{ input: '../../etc/passwd', expected: '_.._etc_passwd.csv' },
		{ input: 'a/b\\c', expected: 'a_b_c.csv' },
		{ input: 'basic leads/out?', expected: 'basic leads_out_.csv' },
		{ input: '...', expected: 'results.csv' },
		{ input: '..csv', expected: 'results.csv' },
		{ input: '.hidden', expected: 'hidden.csv' },
		{ input: 'a\0b', expected: 'a_b.csv' },
		{ input: 'x'.repeat(300), expected: 'x'.repeat(200) + '.csv' },
		{ input: 'é'.repeat(150), expected: 'é'.repeat(100) + '.csv' }
	])('$input → $expected', ({ input, expected }) => {
		const name = finalOutputName({ filename: input });
		expect(name).toBe(expected);
		expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(205);
		expect(name).not.toMatch(/^\.|[/\\?*:|"<>]/);
		expect([...name].every((ch) => ch >= ' ' && ch !== '\u007f')).toBe(true);
	});

	it.each([
		{ input: 'leads.csv', format: 'xlsx', expected: 'leads.xlsx' },
		{ input: 'leads.XLSX', format: 'xlsx', expected: 'leads.xlsx' },
		{ input: 'leads', format: 'xlsx', expected: 'leads.xlsx' },
		{ input: 'leads.xlsx', format: 'csv', expected: 'leads.xlsx.csv' }
	])('$input as $format → $expected', ({ input, format, expected }) => {
		expect(finalOutputName({ filename: input, format })).toBe(expected);
	});

	it('is the written file name after the job id', () => {
		expect(outputFileName('3f2a', 'basic-enriched')).toBe('3f2a-basic-enriched.csv');
		expect(finalNameOf('3f2a', outputFileName('3f2a', 'My leads (final)', 'xlsx'))).toBe('My leads (final).xlsx');
		expect(finalNameOf('3f2a', 'other-x.csv')).toBeNull();
	});
});

describe('outputNameProblem: the rules a filename is checked against', () => {
	it.each([
		{ input: 'basic leads/out?', message: /cannot contain \/ \\ \? \* : \| " < > or control characters \(found "\/"\)/ },
		{ input: 'a\\b', message: /found "\\"/ },
		{ input: 'what?', message: /found "\?"/ },
		{ input: 'a*b', message: /found "\*"/ },
		{ input: 'c:d', message: /found ":"/ },
		{ input: 'a|b', message: /found "\|"/ },
		{ input: 'say "hi"', message: /found """/ },
		{ input: '<b>', message: /found "<"/ },
		{ input: 'tab\there', message: /found a control character/ },
		{ input: 'del\u007f', message: /found a control character/ },
		{ input: '.hidden', message: /cannot start with a dot/ },
		{ input: 'x'.repeat(201), message: /at most 200 characters.*has 201/ },
		{ input: 'é'.repeat(101), message: /at most 200 characters, fewer with accented/ }
	])('$input is refused', ({ input, message }) => {
		expect(outputNameProblem(input)).toMatch(message);
	});

	it.each(['', 'leads', 'basic-enriched.csv', 'My leads (final)', 'résumé 2024', 'x'.repeat(200), 'a.b.c'])(
		'%j is a file name',
		(input) => {
			expect(outputNameProblem(input)).toBeNull();
		}
	);
});

describe('neutraliseFormula', () => {
	it.each<{ input: Cell; expected: Cell }>([
		{ input: '=1+1', expected: "'=1+1" },
		{ input: '=HYPERLINK("http://evil.example","click")', expected: '\'=HYPERLINK("http://evil.example","click")' },
		{ input: '+SUM(A1:A2)', expected: "'+SUM(A1:A2)" },
		{ input: '-2+3', expected: "'-2+3" },
		{ input: '@cmd', expected: "'@cmd" },
		{ input: '\tindented', expected: "'\tindented" },
		{ input: '\rreturn', expected: "'\rreturn" },
		{ input: '=', expected: "'=" },
		{ input: '+1 555 0100', expected: "'+1 555 0100" },
		{ input: '-5', expected: '-5' },
		{ input: '+42', expected: '+42' },
		{ input: '-0.5', expected: '-0.5' },
		{ input: '-.5', expected: '-.5' },
		{ input: '+3.2e4', expected: '+3.2e4' },
		{ input: '1-2', expected: '1-2' },
		{ input: ' =1+1', expected: ' =1+1' },
		{ input: "'=already", expected: "'=already" },
		{ input: 'plain text', expected: 'plain text' },
		{ input: '', expected: '' },
		{ input: -5, expected: -5 },
		{ input: true, expected: true },
		{ input: null, expected: null }
	])('$input → $expected', ({ input, expected }) => {
		expect(neutraliseFormula(input)).toBe(expected);
	});
});

describe('save_csv', () => {
	it('writes the file, passes the very same batches on, and reports the path relative to the data dir', async () => {
		const { ctx, outputs, jobId } = makeCtx();
		const batches: Row[][] = [
			[
				{ name: 'Ada', score: 3, ok: true, note: null },
				{ name: '=cmd|calc', score: -5, ok: false, note: 'a, "quoted"\nline' }
			],
			[{ name: 'Bob', score: 0.25, ok: null, note: '' }]
		];
		const out = await runSaveCsv({
			params: { filename: 'My leads' },
			columns: ['name', 'score', 'ok', 'note'],
			rows: streamOf(batches),
			ctx
		});
		expect(out.columns).toEqual(['name', 'score', 'ok', 'note']);
		const seen = await drain(out.rows);
		expect(seen).toHaveLength(2);
		expect(seen[0]).toBe(batches[0]);
		expect(seen[1]).toBe(batches[1]);
		expect(seen[0][1].name).toBe('=cmd|calc'); // the rows themselves are not neutralised
		expect(outputs).toEqual([`outputs/${jobId}-My leads.csv`]);
		expect(readFileSync(join(dataDir, outputs[0]), 'utf8')).toBe(
			'name,score,ok,note\n' + 'Ada,3,true,\n' + `'=cmd|calc,-5,false,"a, ""quoted""\nline"\n` + 'Bob,0.25,,\n'
		);
		expect(filesOf(jobId)).toEqual([`${jobId}-My leads.csv`]);
	});

	it('zero rows still give a file with the header', async () => {
		const { ctx, outputs } = makeCtx();
		await drain((await runSaveCsv({ params: {}, columns: ['a', 'b'], rows: streamOf([]), ctx })).rows);
		expect(outputs).toHaveLength(1);
		expect(outputs[0]).toMatch(/-results\.csv$/);
		expect(readFileSync(join(dataDir, outputs[0]), 'utf8')).toBe('a,b\n');
	});

	it('writes only its columns, in their order, and blanks missing cells', async () => {
		const { ctx, outputs } = makeCtx();
		const rows = streamOf([[{ b: '2', a: '1', extra: 'x' }, { a: '3' }]]);
		await drain((await runSaveCsv({ params: {}, columns: ['a', 'b'], rows, ctx })).rows);
		expect(readFileSync(join(dataDir, outputs[0]), 'utf8')).toBe('a,b\n1,2\n3,\n');
	});

	it('honours back-pressure on batches far larger than the stream buffer', async () => {
		const { ctx, outputs } = makeCtx();
		const big = 'x'.repeat(2_000);
		const batches = Array.from({ length: 20 }, (_, b) =>
			Array.from({ length: 256 }, (_, i) => ({ n: String(b * 256 + i), text: big }))
		);
		await drain((await runSaveCsv({ params: {}, columns: ['n', 'text'], rows: streamOf(batches), ctx })).rows);
		const lines = readFileSync(join(dataDir, outputs[0]), 'utf8').trimEnd().split('\n');
		expect(lines).toHaveLength(1 + 20 * 256);
		expect(lines.at(-1)).toBe(`${20 * 256 - 1},${big}`);
	});

	it('reports an absolute path when the output dir is outside the data dir', async () => {
		const elsewhere = realpathSync(mkdtempSync(join(tmpdir(), 'save-csv-out-')));
		try {
			const { ctx, outputs, jobId } = makeCtx({ outputDir: elsewhere });
			await drain((await runSaveCsv({ params: { filename: 'x' }, columns: ['a'], rows: streamOf([[{ a: '1' }]]), ctx })).rows);
			expect(outputs).toEqual([join(elsewhere, `${jobId}-x.csv`)]);
			expect(readFileSync(outputs[0], 'utf8')).toBe('a\n1\n');
		} finally {
			rmSync(elsewhere, { recursive: true, force: true });
		}
	});

	describe('a run that does not finish leaves no output file', () => {
		async function* failingAfterOne(): RowStream {
			yield [{ a: '1' }];
			throw new Error('upstream broke');
		}

		it('upstream failure', async () => {
			const { ctx, outputs, jobId } = makeCtx();
			const out = await runSaveCsv({ params: {}, columns: ['a'], rows: failingAfterOne(), ctx });
			await expect(drain(out.rows)).rejects.toThrow('upstream broke');
			expect(outputs).toEqual([]);
			expect(filesOf(jobId)).toEqual([]);
		});

		it('abort mid-stream', async () => {
			const controller = new AbortController();
			const { ctx, outputs, jobId } = makeCtx({ signal: controller.signal });
			const out = await runSaveCsv({
				params: {},
				columns: ['a'],
				rows: streamOf([[{ a: '1' }], [{ a: '2' }], [{ a: '3' }]]),
				ctx
			});
			const iterator = out.rows[Symbol.asyncIterator]();
			await iterator.next();
			await vi.waitFor(() => expect(filesOf(jobId)).toHaveLength(1)); // the temporary file exists meanwhile…
			expect(filesOf(jobId)[0]).toMatch(/^\..*\.partial$/); // …and does not look final
			controller.abort(new Error('cancelled'));
			await expect(iterator.next()).rejects.toThrow('cancelled');
			expect(outputs).toEqual([]);
			expect(filesOf(jobId)).toEqual([]);
		});

		it('the consumer stops early', async () => {
			const { ctx, outputs, jobId } = makeCtx();
			const out = await runSaveCsv({ params: {}, columns: ['a'], rows: streamOf([[{ a: '1' }], [{ a: '2' }]]), ctx });
			for await (const batch of out.rows) {
				void batch;
				break;
			}
			expect(outputs).toEqual([]);
			expect(filesOf(jobId)).toEqual([]);
		});
	});

	it('an output dir that cannot be created fails with the file system error', async () => {
		const blocker = join(dataDir, 'not-a-dir');
		writeFileSync(blocker, 'x');
		const { ctx, outputs } = makeCtx({ outputDir: join(blocker, 'outputs') });
		const out = await runSaveCsv({ params: {}, columns: ['a'], rows: streamOf([[{ a: '1' }]]), ctx });
		await expect(drain(out.rows)).rejects.toThrow(/ENOTDIR|EEXIST/);
		expect(outputs).toEqual([]);
	});
});

describe('read_csv → save_csv round trip', () => {
	async function roundTrip(path: string) {
		const { ctx, outputs } = makeCtx();
		const read = await runReadCsv({ params: { path }, columns: [], rows: streamOf([]), ctx });
		const saved = await runSaveCsv({ params: {}, columns: read.columns, rows: read.rows, ctx });
		const passed = (await drain(saved.rows)).flat();
		const again = await runReadCsv({ params: { path: outputs[0] }, columns: [], rows: streamOf([]), ctx });
		return {
			read: { columns: read.columns, rows: passed },
			again: { columns: again.columns, rows: (await drain(again.rows)).flat() },
			outputs
		};
	}

	it('the bundled sample comes back byte for byte', async () => {
		const { read, again, outputs } = await roundTrip('samples/leads.csv');
		expect(read.rows).toHaveLength(10);
		expect(again).toEqual(read);
		expect(readFileSync(join(dataDir, outputs[0]), 'utf8')).toBe(readFileSync(join(BUNDLED_SAMPLES_DIR, 'leads.csv'), 'utf8'));
	});

	it.each([
		{
			name: 'quotes, commas, newlines, unicode, CRLF and a BOM',
			content: '\uFEFFname,bio\r\n"Lovelace, Ada","says ""hi""\r\nand bye"\r\nZoë 🚀,\r\n'
		},
		{ name: 'a single column with empty cells', content: 'only\nx\n""\ny\n' },
		{ name: 'header only', content: 'a,b,c\n' },
		{ name: 'duplicate headers', content: 'a,a\n1,2\n' }
	])('values survive: $name', async ({ content }) => {
		const path = `uploads/rt-${++jobCounter}.csv`;
		mkdirSync(join(dataDir, 'uploads'), { recursive: true });
		writeFileSync(join(dataDir, path), content);
		const { read, again } = await roundTrip(path);
		expect(again).toEqual(read);
	});
});
