import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWriteStream, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReadCsv } from '../../server/blocks/read-csv';
import { resolveDataPath } from '../../server/files/csv-path';
import { countCsvRows, openCsv, readCsvHeader } from '../../server/files/csv-source';
import { FileError } from '../../server/files/file-error';
import { createCounters } from '../../server/engine/progress';
import { JobFailure, type BlockRunContext, type BlockRunOutput } from '../../server/engine/types';
import type { EnrichmentService } from '../../server/enrichment/types';
import type { Row } from '../../src/lib/workflow/schema';

let dataDir: string;
let outside: string;

beforeAll(() => {
	dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'read-csv-')));
	outside = realpathSync(mkdtempSync(join(tmpdir(), 'read-csv-outside-')));
	mkdirSync(join(dataDir, 'uploads'));
	mkdirSync(join(dataDir, 'uploads', 'folder.csv'));
	writeFileSync(join(outside, 'secret.csv'), 'secret\nhunter2\n');
	symlinkSync(join(outside, 'secret.csv'), join(dataDir, 'uploads', 'escape.csv'));
	writeFileSync(join(dataDir, 'uploads', 'inside-target.csv'), 'a\n1\n');
	symlinkSync(join(dataDir, 'uploads', 'inside-target.csv'), join(dataDir, 'uploads', 'inside-link.csv'));
});

afterAll(() => {
	rmSync(dataDir, { recursive: true, force: true });
	rmSync(outside, { recursive: true, force: true });
});

let fileCounter = 0;
/** Writes `content` under uploads/ and returns its data-relative path. */
function upload(content: string | Buffer): string {
	const path = `uploads/f${++fileCounter}.csv`;
	writeFileSync(join(dataDir, path), content);
	return path;
}

/** Any call to the API fails the test: read_csv has no business calling it. */
const noApi = new Proxy({} as EnrichmentService, {
	get: () => () => Promise.reject(new Error('read_csv must not call the API'))
});

function makeCtx(options: { rowLimit?: number; signal?: AbortSignal } = {}) {
	const rowErrors: { index: number; message: string }[] = [];
	const counters = createCounters();
	const ctx: BlockRunContext = {
		jobId: 'job-1',
		blockId: 'read',
		signal: options.signal ?? new AbortController().signal,
		dataDir,
		outputDir: join(dataDir, 'outputs'),
		options: options.rowLimit ? { row_limit: options.rowLimit } : {},
		enrichment: noApi,
		counters,
		rowError: (index, message) => {
			counters.errors++;
			rowErrors.push({ index, message });
		},
		setOutputPath: () => {}
	};
	return { ctx, rowErrors, counters };
}

async function read(path: string, options: { rowLimit?: number; signal?: AbortSignal } = {}) {
	const { ctx, rowErrors, counters } = makeCtx(options);
	const out: BlockRunOutput = await runReadCsv({ params: { path }, columns: [], rows: (async function* () {})(), ctx });
	const rows: Row[] = [];
	const batchSizes: number[] = [];
	for await (const batch of out.rows) {
		batchSizes.push(batch.length);
		rows.push(...batch);
	}
	return { columns: out.columns, rows, batchSizes, rowErrors, counters };
}

describe('read_csv: file shapes', () => {
	const cases: { name: string; content: string | Buffer; columns: string[]; rows: Row[] }[] = [
		{
			name: 'UTF-8 BOM is stripped from the first header',
			content: '\uFEFFname,company\nAda,Analytical Engines\n',
			columns: ['name', 'company'],
			rows: [{ name: 'Ada', company: 'Analytical Engines' }]
		},
		{
			name: 'quoted fields with commas, quotes and newlines',
			content: 'name,bio\n"Lovelace, Ada","line one\nline two, ""quoted"""\nBob,plain\n',
			columns: ['name', 'bio'],
			rows: [
				{ name: 'Lovelace, Ada', bio: 'line one\nline two, "quoted"' },
				{ name: 'Bob', bio: 'plain' }
			]
		},
		{
			name: 'CRLF line endings (and a quoted CRLF kept inside the field)',
			content: 'a,b\r\n1,2\r\n"x\r\ny",4\r\n',
			columns: ['a', 'b'],
			rows: [
				{ a: '1', b: '2' },
				{ a: 'x\r\ny', b: '4' }
			]
		},
		{
			name: 'no newline at the end of the file',
			content: 'a,b\n1,2',
			columns: ['a', 'b'],
			rows: [{ a: '1', b: '2' }]
		},
		{
			name: 'short rows are padded with empty cells',
			content: 'a,b,c\n1\n1,2\n',
			columns: ['a', 'b', 'c'],
			rows: [
				{ a: '1', b: '', c: '' },
				{ a: '1', b: '2', c: '' }
			]
		},
		{
			name: 'trailing empty cells beyond the header are dropped silently',
			content: 'a,b\n1,2,,\n',
			columns: ['a', 'b'],
			rows: [{ a: '1', b: '2' }]
		},
		{
			name: 'header only: the columns and zero rows',
			content: 'name,email\n',
			columns: ['name', 'email'],
			rows: []
		},
		{
			name: 'duplicate and blank header names are made unique',
			content: 'name,name,\n1,2,3\n',
			columns: ['name', 'name_2', 'column_3'],
			rows: [{ name: '1', name_2: '2', column_3: '3' }]
		},
		{
			name: 'a generated name never collides with a real one',
			content: ' name ,name,name_2\n1,2,3\n',
			columns: ['name', 'name_3', 'name_2'],
			rows: [{ name: '1', name_3: '2', name_2: '3' }]
		},
		{
			name: 'a __proto__ header becomes a plain column, not a prototype',
			content: '__proto__,constructor\nx,y\n',
			columns: ['column_1', 'constructor'],
			rows: [{ column_1: 'x', constructor: 'y' }]
		},
		{
			name: 'blank lines are skipped',
			content: 'a\n\n1\n\n\n2\n',
			columns: ['a'],
			rows: [{ a: '1' }, { a: '2' }]
		},
		{
			name: 'a stray quote inside an unquoted field is kept',
			content: 'item,size\n27" monitor,large\n',
			columns: ['item', 'size'],
			rows: [{ item: '27" monitor', size: 'large' }]
		},
		{
			name: 'a file that is not UTF-8 in its first bytes reads as Windows-1252',
			content: Buffer.concat([Buffer.from('name\nJos'), Buffer.from([0xe9]), Buffer.from('\nOk\n')]),
			columns: ['name'],
			rows: [{ name: 'José' }, { name: 'Ok' }]
		},
		{
			name: 'invalid UTF-8 bytes past the first 64 KiB become U+FFFD',
			content: Buffer.concat([Buffer.from('name\n' + 'x'.repeat(70_000) + '\nJos'), Buffer.from([0xe9]), Buffer.from('\nOk\n')]),
			columns: ['name'],
			rows: [{ name: 'x'.repeat(70_000) }, { name: 'Jos\uFFFD' }, { name: 'Ok' }]
		}
	];

	it.each(cases)('$name', async ({ content, columns, rows }) => {
		const result = await read(upload(content));
		expect(result.columns).toEqual(columns);
		expect(result.rows).toEqual(rows);
		expect(result.rowErrors).toEqual([]);
		expect(result.counters.total).toBe(rows.length);
	});

	it('decodes a multi-byte character split across read chunks', async () => {
		// The file is read 256 KiB at a time: put "é" (2 bytes) across that boundary.
		const prefix = 'text\n' + 'x'.repeat(256 * 1024 - 'text\n'.length - 1);
		const result = await read(upload(prefix + 'é\nnext\n'));
		expect(result.rows).toHaveLength(2);
		expect(String(result.rows[0].text).slice(-2)).toBe('xé');
		expect(result.rows[1]).toEqual({ text: 'next' });
	});

	it('keeps a row with extra non-empty cells, marks it with _error naming its row, and reports it', async () => {
		const result = await read(upload('a,b\n1,2\n3,4,5\n6,7\n'));
		expect(result.rows).toEqual([
			{ a: '1', b: '2' },
			{ a: '3', b: '4', _error: 'Row 3 has 3 fields but the header has 2: the extra fields were dropped' },
			{ a: '6', b: '7' }
		]);
		expect(result.rowErrors).toEqual([{ index: 1, message: expect.stringContaining('Row 3 ') }]);
		expect(result.counters.errors).toBe(1);
	});
	it.each([
		{ name: 'after a multi-line quoted field', content: 'a,b\n"x\ny",2\n3,4,5\n', row: 3 },
		{ name: 'after blank lines (not counted)', content: 'a,b\n\n1,2\n\n3,4,5\n', row: 3 },
		{ name: 'right after the header', content: 'a,b\n1,2,3\n', row: 2 }
	])('numbers a ragged row as a spreadsheet shows it: $name', async ({ content, row }) => {
		const result = await read(upload(content));
		expect(result.rowErrors.map((e) => e.message)).toEqual([
			`Row ${row} has 3 fields but the header has 2: the extra fields were dropped`
		]);
	});
});

describe('read_csv: files it refuses', () => {
	it.each([
		{ name: 'zero bytes', content: '' },
		{ name: 'only a BOM', content: '\uFEFF' },
		{ name: 'only blank lines', content: '\n\r\n\n' }
	])('an empty file ($name) is a JobFailure saying so', async ({ content }) => {
		const path = upload(content);
		const err = await read(path).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(JobFailure);
		expect((err as JobFailure).message).toBe(`The CSV file ${path} is empty`);
	});

	it('an unclosed quote is a JobFailure naming the file and the line', async () => {
		const path = upload('a,b\n1,2\n3,"never closed\n4,5\n');
		const err = await read(path).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(JobFailure);
		expect((err as JobFailure).code).toBe('invalid_csv');
		expect((err as JobFailure).message).toMatch(new RegExp(`^The CSV file ${path} could not be read: Quote Not Closed.* at line 4`));
	});

	it('openCsv (the streaming reader) reports an unclosed quote the same way', async () => {
		const path = upload('a\n' + '1\n'.repeat(100_000) + '"open\n');
		const source = await openCsv(join(dataDir, path), { label: path });
		const consume = (async () => {
			for await (const batch of source.batches) void batch;
		})();
		await expect(consume).rejects.toThrow(new RegExp(`^The CSV file ${path} could not be read: Quote Not Closed.* at line 100002`));
		await expect(consume).rejects.toBeInstanceOf(FileError);
	});

	it('an unclosed quote met while rows stream (a file too big to count first) fails the block as a JobFailure', async () => {
		const path = upload('a\n' + '1\n'.repeat(2_200_000) + '"open\n');
		const err = await read(path).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(JobFailure);
		expect((err as JobFailure).code).toBe('invalid_csv');
		expect((err as JobFailure).message).toMatch(
			new RegExp(`^The CSV file ${path} could not be read: Quote Not Closed.* at line 2200002`)
		);
	});
});

describe('read_csv: batches and row_limit', () => {
	const body = 'n\n' + Array.from({ length: 1000 }, (_, i) => `${i}\n`).join('');

	it('yields batches of at most 256 rows, in file order', async () => {
		const result = await read(upload(body));
		expect(result.batchSizes).toEqual([256, 256, 256, 232]);
		expect(result.rows.map((r) => Number(r.n))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
	});

	it.each([
		{ limit: 1, sizes: [1] },
		{ limit: 300, sizes: [256, 44] },
		{ limit: 1000, sizes: [256, 256, 256, 232] },
		{ limit: 5000, sizes: [256, 256, 256, 232] }
	])('row_limit $limit stops after that many rows', async ({ limit, sizes }) => {
		const result = await read(upload(body), { rowLimit: limit });
		expect(result.batchSizes).toEqual(sizes);
		expect(result.rows.at(-1)).toEqual({ n: String(Math.min(limit, 1000) - 1) });
		expect(result.counters.total).toBe(Math.min(limit, 1000));
	});

	it('row_limit does not report ragged rows past the limit', async () => {
		const result = await read(upload('a\n1\n2\n3,x\n'), { rowLimit: 2 });
		expect(result.rows).toEqual([{ a: '1' }, { a: '2' }]);
		expect(result.rowErrors).toEqual([]);
	});
});

describe('read_csv: a file that never ends (FIFO)', () => {
	const hasMkfifo = (() => {
		try {
			execFileSync('which', ['mkfifo']);
			return true;
		} catch {
			return false;
		}
	})();

	function fifo(name: string) {
		const path = join(dataDir, 'uploads', name);
		execFileSync('mkfifo', [path]);
		const writer = createWriteStream(path);
		writer.on('error', () => {}); // EPIPE once the reader closes: expected
		return { path, writer };
	}

	it.runIf(hasMkfifo)('row_limit finishes without waiting for the end of the file', async () => {
		const { path, writer } = fifo('limit.fifo');
		// csv-parse holds the last few bytes back for look-ahead: send more than the limit needs.
		writer.write('n\n1\n2\n3\n4\n5\n6\n');
		const source = await openCsv(path, { rowLimit: 3 });
		const rows: Row[] = [];
		for await (const batch of source.batches) rows.push(...batch);
		expect(rows).toEqual([{ n: '1' }, { n: '2' }, { n: '3' }]);
		writer.destroy();
	});

	it.runIf(hasMkfifo)('an abort mid-file rejects the pending read with the abort reason and closes the file', async () => {
		const { path, writer } = fifo('abort.fifo');
		writer.write('n\n1\n2\n3\n4\n');
		const controller = new AbortController();
		const source = await openCsv(path, { signal: controller.signal, batchSize: 2 });
		const first = await source.batches.next();
		expect(first.value).toEqual([{ n: '1' }, { n: '2' }]);
		const pending = source.batches.next(); // waits: the writer has sent nothing more
		const reason = new Error('cancelled by test');
		controller.abort(reason);
		await expect(pending).rejects.toBe(reason);
		expect(await source.batches.next()).toEqual({ done: true, value: undefined });
		writer.destroy();
	});
});

describe('read_csv: abort', () => {
	it('stops a regular file mid-read when the signal aborts', async () => {
		const body = 'n\n' + '1\n'.repeat(2_500_000); // ~5 MB: several read chunks
		const controller = new AbortController();
		const { ctx } = makeCtx({ signal: controller.signal });
		const out = await runReadCsv({ params: { path: upload(body) }, columns: [], rows: (async function* () {})(), ctx });
		let seen = 0;
		const consume = (async () => {
			for await (const batch of out.rows) {
				seen += batch.length;
				if (seen >= 1024) controller.abort(new Error('stop'));
			}
		})();
		await expect(consume).rejects.toThrow('stop');
		expect(seen).toBeLessThan(2_500_000);
	});

	it('refuses to start when the signal is already aborted', async () => {
		const controller = new AbortController();
		controller.abort(new Error('too late'));
		await expect(read(upload('a\n1\n'), { signal: controller.signal })).rejects.toThrow('too late');
	});
});

describe('read_csv: paths', () => {
	it.each([
		{ path: '../x.csv', message: 'must not contain ".." segments' },
		{ path: 'samples/../../x', message: 'must not contain ".." segments' },
		{ path: 'uploads/../../../etc/passwd', message: 'must not contain ".." segments' },
		{ path: '/etc/passwd', message: 'is outside the data directory' },
		{ path: 'uploads/%2e%2e/x', message: 'looks URL-encoded' },
		{ path: 'uploads/%2E%2E%2Fx', message: 'looks URL-encoded' },
		{ path: 'uploads/a\0.csv', message: 'contains a NUL byte' },
		{ path: 'uploads\\..\\x.csv', message: 'contains a backslash' },
		{ path: 'uploads/escape.csv', message: 'leads outside the data directory (through a symlink)' },
		{ path: 'uploads/folder.csv', message: 'is not a file' }
	])('refuses $path', async ({ path, message }) => {
		const err = await read(path).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(JobFailure);
		expect((err as JobFailure).code).toBe('invalid_path');
		expect((err as JobFailure).message).toContain(message);
	});

	it('refuses an absolute path outside the data dir even when the file exists', () => {
		expect(() => resolveDataPath(dataDir, join(outside, 'secret.csv'))).toThrow(/outside the data directory/);
	});

	it.each(['uploads/missing.csv', 'missing-sample.csv', 'samples/missing.csv'])(
		'a missing file (%s) is a file_not_found FileError, and the same JobFailure out of the block',
		async (path) => {
			try {
				resolveDataPath(dataDir, path);
				expect.unreachable();
			} catch (err) {
				expect(err).toBeInstanceOf(FileError);
				expect((err as FileError).code).toBe('file_not_found');
				expect((err as FileError).message).toBe(`File not found: ${JSON.stringify(path)}`);
			}
			const err = await read(path).catch((e: unknown) => e);
			expect(err).toBeInstanceOf(JobFailure);
			expect((err as JobFailure).code).toBe('file_not_found');
			expect((err as JobFailure).message).toBe(`File not found: ${JSON.stringify(path)}`);
		}
	);

	it.each([
		{ path: 'uploads/inside-target.csv', file: 'uploads/inside-target.csv' },
		{ path: './uploads/inside-target.csv', file: 'uploads/inside-target.csv' },
		{ path: 'uploads/inside-link.csv', file: 'uploads/inside-target.csv' }
	])('accepts $path', ({ path, file }) => {
		expect(resolveDataPath(dataDir, path)).toBe(join(dataDir, file));
	});

	it('accepts an absolute path inside the data dir', () => {
		expect(resolveDataPath(dataDir, join(dataDir, 'uploads/inside-target.csv'))).toBe(join(dataDir, 'uploads/inside-target.csv'));
	});

	it.each(['app.db', 'app.db-wal', 'uploads/copy.sqlite'])('refuses the database file %s even inside the data dir', (name) => {
		writeFileSync(join(dataDir, name), 'SQLite format 3');
		expect(() => resolveDataPath(dataDir, join(dataDir, name))).toThrow(/not a CSV file/);
	});

	it.each(['leads.csv', 'samples/leads.csv'])('%s finds the bundled sample when the data dir has none', async (path) => {
		const result = await read(path);
		expect(result.columns).toEqual(['name', 'company', 'email', 'company_location', 'linkedin']);
		expect(result.rows).toHaveLength(10);
	});

	it("prefers the data dir's own samples folder", async () => {
		const own = realpathSync(mkdtempSync(join(tmpdir(), 'read-csv-own-')));
		try {
			mkdirSync(join(own, 'samples'));
			writeFileSync(join(own, 'samples', 'leads.csv'), 'mine\n1\n');
			expect(resolveDataPath(own, 'leads.csv')).toBe(join(own, 'samples', 'leads.csv'));
		} finally {
			rmSync(own, { recursive: true, force: true });
		}
	});
});

describe('upload helpers', () => {
	it('readCsvHeader returns the columns and the first rows only', async () => {
		const path = upload('\uFEFFa,a\n1,2\n3,4\n5,6\n');
		expect(await readCsvHeader(join(dataDir, path), { previewRows: 2 })).toEqual({
			columns: ['a', 'a_2'],
			preview: [
				{ a: '1', a_2: '2' },
				{ a: '3', a_2: '4' }
			],
			dialect: {
				encoding: { encoding: 'utf-8', bomBytes: 3, detected: true },
				delimiter: { delimiter: ',', detected: true }
			},
			renamed: [{ from: 'a', to: 'a_2' }]
		});
	});

	it.each([
		{ content: 'a\n', count: 0 },
		{ content: 'a\n1\n"two\nlines"\n\n3', count: 3 },
		{ content: '\uFEFFa,b\r\n1,2\r\n', count: 1 }
	])('countCsvRows counts data rows ($count)', async ({ content, count }) => {
		expect(await countCsvRows(join(dataDir, upload(content)))).toBe(count);
	});

	it('countCsvRows and readCsvHeader refuse an empty file', async () => {
		const file = join(dataDir, upload(''));
		await expect(countCsvRows(file)).rejects.toThrow(/is empty/);
		await expect(readCsvHeader(file)).rejects.toThrow(/is empty/);
	});
});
