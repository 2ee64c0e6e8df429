/**
 * Files as people export them, through the routes: uploads say how they were read (delimiter,
 * encoding, renamed headers, sheet), the source route follows a delimiter/encoding/sheet chosen on
 * the block, a run reads and writes .xlsx, and the download carries the right type.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { createTestApp, uploadForm, waitForJob, type TestApp } from '../helpers/test-app';

let t: TestApp;
let workbook: Buffer;
/** The workbook uploaded once (uploads are rate-limited per client: 10 a minute). */
let xl: { file_path: string };

beforeAll(async () => {
	t = await createTestApp();
	const wb = new ExcelJS.Workbook();
	const hidden = wb.addWorksheet('Notes');
	hidden.state = 'hidden';
	hidden.addRow(['not this one']);
	const leads = wb.addWorksheet('Leads');
	leads.addRow(['name', 'name', '', 'joined', 'score', 'vip', 'formula']);
	leads.addRow(['Ada', 'Lovelace', 'x', new Date(Date.UTC(2024, 4, 1)), 42.5, true, { formula: '1+1', result: 2 }]);
	leads.addRow([]);
	leads.addRow(['Bob', null, null, new Date(Date.UTC(2024, 4, 1, 13, 30)), 7, false, { richText: [{ text: 'ri' }, { text: 'ch' }] }]);
	const other = wb.addWorksheet('Companies');
	other.addRow(['company']);
	other.addRow(['Engines Ltd']);
	workbook = Buffer.from(await wb.xlsx.writeBuffer());
	const res = await t.app.request('/api/workflows/upload', { method: 'POST', body: uploadForm(workbook, 'book.xlsx') });
	xl = await res.json();
	// The one upload every xlsx test below builds on: if it failed, say why here.
	expect(res.status, JSON.stringify(xl)).toBe(200);
});
afterAll(() => t.close());

const upload = async (content: string | Uint8Array, name: string) => {
	const res = await t.app.request('/api/workflows/upload', { method: 'POST', body: uploadForm(content, name) });
	return { status: res.status, body: await res.json() };
};
const describeSource = async (query: Record<string, string>) => {
	const res = await t.app.request(`/api/workflows/source?${new URLSearchParams(query)}`);
	return { status: res.status, body: await res.json() };
};
const run = async (blocks: unknown[]) => {
	const res = await t.app.request('/api/workflows/run', {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ workflow: { name: 'Files', blocks } })
	});
	const started = await res.json();
	expect(res.status, JSON.stringify(started)).toBe(200);
	return waitForJob(async () => (await t.app.request(`/api/workflows/jobs/${started.job_id}`)).json()) as Promise<{
		job_id: string;
		status: string;
		error: string | null;
		output_path: string | null;
	}>;
};

describe('upload: how the file was read', () => {
	it('a semicolon-separated file is split into its columns, and the answer names the delimiter', async () => {
		const { status, body } = await upload('name;company;email\r\nAda;Engines;ada@x.io\r\n', 'leads.csv');
		expect(status).toBe(200);
		expect(body.columns).toEqual(['name', 'company', 'email']);
		expect(body.preview).toEqual([{ name: 'Ada', company: 'Engines', email: 'ada@x.io' }]);
		expect(body.dialect).toEqual({
			format: 'csv',
			delimiter: ';',
			delimiter_detected: true,
			encoding: 'utf-8',
			encoding_detected: true,
			renamed_columns: []
		});
	});

	it('UTF-16 LE with BOM (Excel "Unicode text", tab-separated) reads, and says so', async () => {
		const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('name\tcity\nZoë\tKraków\n', 'utf16le')]);
		const { status, body } = await upload(bytes, 'unicode.txt');
		expect(status).toBe(200);
		expect(body.preview).toEqual([{ name: 'Zoë', city: 'Kraków' }]);
		expect(body.dialect).toMatchObject({ delimiter: '\t', encoding: 'utf-16le' });
	});

	it('duplicate and empty header names are made unique, and the renames are listed', async () => {
		const { body } = await upload('email,email,\n1,2,3\n', 'dups.csv');
		expect(body.columns).toEqual(['email', 'email_2', 'column_3']);
		expect(body.dialect.renamed_columns).toEqual([
			{ from: 'email', to: 'email_2' },
			{ from: '', to: 'column_3' }
		]);
	});

	it('UTF-8 that turns invalid past its start is kept, and the answer counts the replaced characters', async () => {
		const bytes = Buffer.concat([Buffer.from('name\n' + 'x'.repeat(300 * 1024) + '\nJos'), Buffer.from([0xe9]), Buffer.from('\n')]);
		const { status, body } = await upload(bytes, 'late.csv');
		expect(status).toBe(200);
		expect(body.row_count).toBe(2);
		expect(body.dialect).toMatchObject({ encoding: 'utf-8', encoding_note: '1 character is not valid UTF-8 and shows as �.' });
	});

	it('an .xlsx upload reads its first visible sheet, lists the sheets, and is stored as .xlsx', async () => {
		const { status, body } = await upload(workbook, 'leads.xlsx');
		expect(status).toBe(200);
		expect(body.file_path).toMatch(/^uploads\/[0-9a-f-]{36}\.xlsx$/);
		expect(body.columns).toEqual(['name', 'name_2', 'column_3', 'joined', 'score', 'vip', 'formula']);
		expect(body.row_count).toBe(2);
		expect(body.preview).toEqual([
			{ name: 'Ada', name_2: 'Lovelace', column_3: 'x', joined: '2024-05-01', score: '42.5', vip: 'TRUE', formula: '2' },
			{ name: 'Bob', name_2: '', column_3: '', joined: '2024-05-01T13:30:00', score: '7', vip: 'FALSE', formula: 'rich' }
		]);
		expect(body.dialect).toMatchObject({ format: 'xlsx', sheet: 'Leads', sheets: ['Notes', 'Leads', 'Companies'] });
		expect(Buffer.compare(await readFile(join(t.dataDir, body.file_path)), workbook)).toBe(0);
	});
});

describe('source: read as the block says', () => {
	it('follows a delimiter and an encoding chosen by hand, and a sheet', async () => {
		const { body: up } = await upload('a;b,c\n1;2,3\n', 'mixed.csv');
		expect(up.columns).toEqual(['a;b', 'c']);
		const { body } = await describeSource({ path: up.file_path, delimiter: ';' });
		expect(body.columns).toEqual(['a', 'b,c']);
		expect(body.row_count).toBe(1);
		expect(body.dialect).toMatchObject({ delimiter: ';', delimiter_detected: false });

		const sheet = await describeSource({ path: xl.file_path, sheet: 'Companies' });
		expect(sheet.body.columns).toEqual(['company']);
		expect(sheet.body.preview).toEqual([{ company: 'Engines Ltd' }]);
	});

	it('refuses an unknown delimiter (400 naming the field) and a missing sheet (400 listing the sheets)', async () => {
		const bad = await describeSource({ path: xl.file_path, delimiter: ':' });
		expect(bad.status).toBe(400);
		expect(JSON.stringify(bad.body.error)).toMatch(/delimiter/);
		const missing = await describeSource({ path: xl.file_path, sheet: 'Nope' });
		expect(missing.status).toBe(400);
		expect(missing.body.error.message).toMatch(/no sheet named "Nope".*Notes, Leads, Companies/);
	});
});

describe('runs: xlsx in, xlsx out', () => {
	it('reads a chosen sheet and writes an .xlsx with typed cells; the download says xlsx', async () => {
		const job = await run([
			{ id: 'read', type: 'read_csv', params: { path: xl.file_path, sheet: 'Leads' } },
			{ id: 'save', type: 'save_csv', params: { filename: 'leads.csv', format: 'xlsx' } }
		]);
		expect(job, JSON.stringify((job as { error?: unknown }).error)).toMatchObject({
			status: 'completed',
			output_path: expect.stringMatching(/-leads\.xlsx$/)
		});
		const res = await t.app.request(`/api/workflows/jobs/${job.job_id}/download`);
		expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
		expect(res.headers.get('content-disposition')).toMatch(/\.xlsx"$/);
		const out = new ExcelJS.Workbook();
		await out.xlsx.load(await res.arrayBuffer());
		const rows = out.worksheets[0]
			.getSheetValues()
			.filter(Boolean)
			.map((r) => (r as unknown[]).slice(1));
		expect(rows).toEqual([
			['name', 'name_2', 'column_3', 'joined', 'score', 'vip', 'formula'],
			['Ada', 'Lovelace', 'x', '2024-05-01', '42.5', 'TRUE', '2'],
			['Bob', undefined, undefined, '2024-05-01T13:30:00', '7', 'FALSE', 'rich']
		]);
	});

	it('a cell that looks like a formula stays text in .xlsx (no neutralising needed), and a run on a missing sheet fails saying why', async () => {
		await writeFile(join(t.dataDir, 'uploads', 'formulas.csv'), 'a,b\n=1+1,00123\n');
		const job = await run([
			{ id: 'read', type: 'read_csv', params: { path: 'uploads/formulas.csv' } },
			{ id: 'save', type: 'save_csv', params: { format: 'xlsx' } }
		]);
		const out = new ExcelJS.Workbook();
		await out.xlsx.readFile(join(t.dataDir, job.output_path!));
		const cell = out.worksheets[0].getCell('A2');
		expect(cell.value).toBe('=1+1');
		expect(cell.formula).toBeUndefined();
		expect(out.worksheets[0].getCell('B2').value).toBe('00123');

		const res = await t.app.request('/api/workflows/run', {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({
				workflow: { name: 'x', blocks: [{ id: 'read', type: 'read_csv', params: { path: xl.file_path, sheet: 'Nope' } }] }
			})
		});
		expect(res.status).toBe(400);
		expect(JSON.stringify(await res.json())).toMatch(/no sheet named/);
	});

	it('a file named .xlsx that is not a workbook is refused before the run (400), and the server stays up', async () => {
		await writeFile(join(t.dataDir, 'uploads', 'fake.xlsx'), 'a,b\n1,2\n');
		const res = await t.app.request('/api/workflows/run', {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({
				workflow: { name: 'x', blocks: [{ id: 'read', type: 'read_csv', params: { path: 'uploads/fake.xlsx' } }] }
			})
		});
		expect(res.status).toBe(400);
		expect(JSON.stringify(await res.json())).toMatch(/fake\.xlsx is not an Excel workbook/);
		expect((await describeSource({ path: 'samples/leads.csv' })).status).toBe(200);
	});

	it('bom: true gives a CSV download starting with the UTF-8 BOM', async () => {
		await writeFile(join(t.dataDir, 'uploads', 'bom.csv'), 'name\nZoë\n');
		const job = await run([
			{ id: 'read', type: 'read_csv', params: { path: 'uploads/bom.csv' } },
			{ id: 'save', type: 'save_csv', params: { bom: true } }
		]);
		const res = await t.app.request(`/api/workflows/jobs/${job.job_id}/download`);
		expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
		const bytes = Buffer.from(await res.arrayBuffer());
		expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		expect(bytes.subarray(3).toString('utf8')).toBe('name\nZoë\n');
	});
});
