import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestApp, uploadForm, type TestApp } from '../helpers/test-app';

const LIMIT = 64 * 1024;
let t: TestApp;

beforeAll(async () => {
	t = await createTestApp({ uploadLimitBytes: LIMIT });
});
afterAll(() => t.close());

const upload = (body: FormData | string, headers: Record<string, string> = {}) =>
	t.app.request('/api/workflows/upload', { method: 'POST', body, headers });
const uploadedFiles = async () => (await readdir(join(t.dataDir, 'uploads')).catch(() => [])).sort();

describe('POST /api/workflows/upload', () => {
	it('stores a CSV under a server-chosen name and describes it', async () => {
		const csv = 'name,company\r\n"Okafor, Maya",Ariglad Inc\r\nTomás Reyes,Ariglad Inc\r\n';
		const res = await upload(uploadForm(csv, 'leads.csv'));
		expect(res.status).toBe(200);
		const body = await res.json();
		expect(body.file_path).toMatch(/^uploads\/[0-9a-f-]{36}\.csv$/);
		expect(body.columns).toEqual(['name', 'company']);
		expect(body.row_count).toBe(2);
		expect(body.preview).toEqual([
			{ name: 'Okafor, Maya', company: 'Ariglad Inc' },
			{ name: 'Tomás Reyes', company: 'Ariglad Inc' }
		]);
		expect(await readFile(join(t.dataDir, body.file_path), 'utf8')).toBe(csv);
	});

	it('never lets the client file name reach the disk', async () => {
		const before = await uploadedFiles();
		const res = await upload(uploadForm('a,b\n1,2\n', '../../../escape.csv'));
		expect(res.status).toBe(200);
		const body = await res.json();
		expect(body.file_path).toMatch(/^uploads\/[0-9a-f-]{36}\.csv$/);
		expect(body.original_name).toBe('escape.csv');
		const after = await uploadedFiles();
		expect(after.length).toBe(before.length + 1);
		expect(await readdir(join(t.dataDir, '..')).then((d) => d.includes('escape.csv'))).toBe(false);
	});

	const refusals: [string, () => FormData | string, number, RegExp][] = [
		['an empty file', () => uploadForm(''), 400, /empty/i],
		['a header-less blank file', () => uploadForm('\n\n\n'), 400, /empty/i],
		['binary data', () => uploadForm(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d])), 415, /binary/i],
		['an old .xls workbook', () => uploadForm('a,b\n1,2\n', 'old.xls'), 415, /\.xlsx/],
		['a .xlsx name on a file that is not a workbook', () => uploadForm('a,b\n1,2\n', 'leads.xlsx'), 415, /not an Excel workbook/],
		['a .exe file name', () => uploadForm('a,b\n1,2\n', 'tool.exe'), 415, /\.csv/],
		['a form without the file field', () => uploadForm('a,b\n1,2\n', 'x.csv', 'other'), 400, /"file"/],
		['a JSON body instead of a form', () => '{"file":"a,b"}', 415, /multipart/],
		['an unclosed quote', () => uploadForm('name,company\n"Maya,Ariglad\n'), 400, /could not be read|quote/i],
		[
			'a 10,000-column header',
			() => uploadForm(Array.from({ length: 10_000 }, (_, i) => `c${i}`).join(',') + '\n'),
			400,
			/10000 columns/
		]
	];
	it.each(refusals)('refuses %s with a clear reason and keeps nothing', async (_name, body, status, message) => {
		const before = await uploadedFiles();
		const payload = body();
		const res = await upload(payload, typeof payload === 'string' ? { 'content-type': 'application/json' } : {});
		expect(res.status).toBe(status);
		const json = await res.json();
		expect(json.error.message).toMatch(message);
		expect(await uploadedFiles()).toEqual(before);
	});

	it('refuses a file over the limit with 413 and deletes what was written', async () => {
		const before = await uploadedFiles();
		const big = 'name\n' + 'x'.repeat(99) + '\n'.repeat(1);
		const res = await upload(uploadForm(big.repeat(Math.ceil((LIMIT * 2) / big.length))));
		expect(res.status).toBe(413);
		expect((await res.json()).error.code).toBe('payload_too_large');
		expect(await uploadedFiles()).toEqual(before);
	});

	it('refuses an over-limit streamed body without a Content-Length', async () => {
		const before = await uploadedFiles();
		const boundary = 'x-boundary';
		const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\nname\n`;
		const chunk = new TextEncoder().encode('y'.repeat(8 * 1024) + '\n');
		let sent = 0;
		const stream = new ReadableStream<Uint8Array>({
			pull(controller) {
				if (sent === 0) controller.enqueue(new TextEncoder().encode(head));
				if (sent > LIMIT * 4) {
					controller.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`));
					controller.close();
					return;
				}
				sent += chunk.length;
				controller.enqueue(chunk);
			}
		});
		const res = await t.app.request('/api/workflows/upload', {
			method: 'POST',
			body: stream,
			headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
			// @ts-expect-error Node's fetch needs this for a streamed body
			duplex: 'half'
		});
		expect(res.status).toBe(413);
		expect(sent).toBeLessThan(LIMIT * 4);
		expect(await uploadedFiles()).toEqual(before);
	});

	it('refuses a body whose Content-Length is over the limit before reading it', async () => {
		const res = await upload(uploadForm('a\n1\n'), { 'content-length': String(LIMIT * 10) });
		expect(res.status).toBe(413);
	});

	it('still serves after every refusal, and earlier uploads are intact', async () => {
		const res = await upload(uploadForm('email\nada@example.com\n', 'again.csv'));
		expect(res.status).toBe(200);
		for (const file of await uploadedFiles()) {
			expect((await readFile(join(t.dataDir, 'uploads', file), 'utf8')).length).toBeGreaterThan(0);
		}
	});
});
