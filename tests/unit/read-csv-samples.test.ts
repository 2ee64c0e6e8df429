/**
 * The committed sample, the two example workflows, and the synthetic-lead generator: what people
 * and benchmarks read first must be valid and mean what it says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import { generateLeadsFile, LEAD_COLUMNS } from '../../scripts/generate-leads';
import { countCsvRows, openCsv, readCsvHeader } from '../../server/files/csv-source';
import { analyzeColumns } from '../../src/lib/workflow/columns';
import { compileExpression } from '../../src/lib/workflow/expression';
import { WorkflowSchema, type Row } from '../../src/lib/workflow/schema';

const DATA = fileURLToPath(new URL('../../data/', import.meta.url));
const SAMPLE = join(DATA, 'samples', 'leads.csv');
const SAMPLE_COLUMNS = ['name', 'company', 'email', 'company_location', 'linkedin'];

async function readAll(file: string): Promise<{ columns: string[]; rows: Row[] }> {
	const source = await openCsv(file);
	const rows: Row[] = [];
	for await (const batch of source.batches) rows.push(...batch);
	return { columns: source.columns, rows };
}

describe('data/samples/leads.csv', () => {
	it('has 10 leads with the documented columns, some without email, several at Ariglad Inc', async () => {
		const { columns, rows } = await readAll(SAMPLE);
		expect(columns).toEqual(SAMPLE_COLUMNS);
		expect(rows).toHaveLength(10);
		expect(rows.filter((r) => r.email === '').length).toBeGreaterThanOrEqual(2);
		expect(rows.filter((r) => r.email !== '').length).toBeGreaterThanOrEqual(2);
		expect(rows.filter((r) => r.company === 'Ariglad Inc').length).toBeGreaterThanOrEqual(3);
		for (const row of rows) {
			expect(String(row.name)).toMatch(/^\S+ \S+$/);
			expect(String(row.linkedin)).toMatch(/^https:\/\/www\.linkedin\.com\/in\/[a-z-]+$/);
			if (row.email) expect(String(row.email)).toMatch(/^[^@\s]+@[^@\s]+\.example$/);
		}
	});
});

describe('data/examples', () => {
	const load = (name: string) => JSON.parse(readFileSync(join(DATA, 'examples', name), 'utf8')) as unknown;

	it.each(['basic.json', 'filtered.json'])('%s validates against WorkflowSchema and reads the sample', (name) => {
		const parsed = v.safeParse(WorkflowSchema, load(name));
		expect(parsed.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`) ?? []).toEqual([]);
		const workflow = parsed.output as v.InferOutput<typeof WorkflowSchema>;
		expect(workflow.blocks[0]).toMatchObject({ type: 'read_csv', params: { path: 'samples/leads.csv' } });
		expect(workflow.blocks.at(-1)?.type).toBe('save_csv');
		const flow = analyzeColumns(workflow, { sourceColumns: () => SAMPLE_COLUMNS });
		expect(flow.problems).toEqual([]);
	});

	it('basic.json is Read CSV → Enrich Lead → Save CSV', () => {
		const workflow = v.parse(WorkflowSchema, load('basic.json'));
		expect(workflow.blocks.map((b) => b.type)).toEqual(['read_csv', 'enrich_lead', 'save_csv']);
	});

	it('filtered.json filters Ariglad Inc, asks for the education fields, then keeps American educations', async () => {
		const workflow = v.parse(WorkflowSchema, load('filtered.json'));
		expect(workflow.blocks.map((b) => b.type)).toEqual(['read_csv', 'filter', 'enrich_lead', 'filter', 'save_csv']);
		const [, company, enrich, education] = workflow.blocks;
		if (company.type !== 'filter' || enrich.type !== 'enrich_lead' || education.type !== 'filter') throw new Error('unreachable');

		const byCompany = compileExpression(company.params.expression ?? '');
		if (!byCompany.ok) throw new Error(byCompany.error.message);
		const { rows } = await readAll(SAMPLE);
		const kept = rows.filter((r) => byCompany.expression.evaluate(r));
		expect(kept.map((r) => r.company)).toEqual(rows.filter((r) => r.company === 'Ariglad Inc').map((r) => r.company));
		expect(kept.length).toBeGreaterThan(0);

		expect(Object.keys(enrich.params.struct)).toEqual(expect.arrayContaining(['undergrad_university', 'is_american_education']));
		expect(enrich.params.struct.is_american_education).toMatchObject({ type: 'bool' });

		const american = compileExpression(education.params.expression ?? '');
		if (!american.ok) throw new Error(american.error.message);
		expect(american.expression.evaluate({ is_american_education: true })).toBe(true);
		expect(american.expression.evaluate({ is_american_education: false })).toBe(false);
	});
});

describe('generateLeadsFile', () => {
	let dir: string;
	beforeAll(() => {
		dir = realpathSync(mkdtempSync(join(tmpdir(), 'generate-leads-')));
	});
	afterAll(() => {
		rmSync(dir, { recursive: true, force: true });
	});

	it('is deterministic for a seed and different for another', async () => {
		await generateLeadsFile({ rows: 500, path: join(dir, 'a.csv'), seed: 7 });
		await generateLeadsFile({ rows: 500, path: join(dir, 'b.csv'), seed: 7 });
		await generateLeadsFile({ rows: 500, path: join(dir, 'c.csv'), seed: 8 });
		const read = (name: string) => readFileSync(join(dir, name), 'utf8');
		expect(read('a.csv')).toBe(read('b.csv'));
		expect(read('a.csv')).not.toBe(read('c.csv'));
	});

	it('writes the requested rows with the sample columns, readable by read_csv', async () => {
		const path = join(dir, 'leads.csv');
		const result = await generateLeadsFile({ rows: 4_000, path, seed: 1 });
		expect(result.rows).toBe(4_000);
		expect(await countCsvRows(path)).toBe(4_000);
		expect((await readCsvHeader(path, { previewRows: 0 })).columns).toEqual([...LEAD_COLUMNS]);
		const { rows } = await readAll(path);
		expect(rows.every((r) => r._error === undefined)).toBe(true);
		const usa = rows.filter((r) => String(r.company_location).endsWith('USA')).length / rows.length;
		expect(usa).toBeGreaterThan(0.45);
		expect(usa).toBeLessThan(0.55);
		const noEmail = rows.filter((r) => r.email === '').length / rows.length;
		expect(noEmail).toBeGreaterThan(0.15);
		expect(noEmail).toBeLessThan(0.35);
		expect(new Set(rows.map((r) => r.linkedin)).size).toBe(rows.length);
	});

	it.each([
		{ duplicates: 0, distinct: (n: number) => n === 2_000 },
		{ duplicates: 0.5, distinct: (n: number) => n > 800 && n < 1_200 }
	])('--duplicates $duplicates repeats that share of earlier leads', async ({ duplicates, distinct }) => {
		const path = join(dir, `dup-${duplicates}.csv`);
		await generateLeadsFile({ rows: 2_000, path, seed: 3, duplicates });
		const lines = readFileSync(path, 'utf8').trimEnd().split('\n').slice(1);
		expect(lines).toHaveLength(2_000);
		expect(distinct(new Set(lines).size)).toBe(true);
	});

	it.each([
		{ options: { rows: -1 }, message: /rows must be/ },
		{ options: { rows: 1.5 }, message: /rows must be/ },
		{ options: { rows: 10, duplicates: 2 }, message: /duplicates must be/ },
		{ options: { rows: 10, duplicates: Number.NaN }, message: /duplicates must be/ }
	])('refuses bad options: $options', async ({ options, message }) => {
		await expect(generateLeadsFile({ path: join(dir, 'bad.csv'), ...options })).rejects.toThrow(message);
	});
});
