import { RUNNERS } from '../../server/blocks';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFilter } from '../../server/blocks/filter';
import { createCounters } from '../../server/engine/progress';
import { runJob } from '../../server/engine/run-job';
import { JobFailure, type BlockCounters, type BlockRunContext, type RowStream } from '../../server/engine/types';
import type { EnrichmentService } from '../../server/enrichment/types';
import { FilterParams } from '../../src/lib/workflow/blocks/filter';
import { WorkflowSchema, type ParamsOf, type Row } from '../../src/lib/workflow/schema';
import { AT_BUDGET_CHARS, HEAVY_EXPRESSION } from '../helpers/worst-filter-job';

/** The filter never calls the API: any call is a test failure. */
const noApi: EnrichmentService = {
	enrichLead: () => Promise.reject(new Error('filter must not call the API')),
	findEmail: () => Promise.reject(new Error('filter must not call the API')),
	findPhone: () => Promise.reject(new Error('filter must not call the API')),
	enrichCompany: () => Promise.reject(new Error('filter must not call the API'))
};

function context(signal = new AbortController().signal) {
	const counters: BlockCounters = createCounters();
	const rowErrors: [number, string][] = [];
	const ctx: BlockRunContext = {
		jobId: 'job',
		blockId: 'filter',
		signal,
		dataDir: '/nonexistent',
		outputDir: '/nonexistent/outputs',
		options: {},
		enrichment: noApi,
		counters,
		rowError: (row, message) => {
			counters.errors++;
			rowErrors.push([row, message]);
		},
		setOutputPath: () => {}
	};
	return { ctx, counters, rowErrors };
}

async function* batchesOf(rows: Row[], size: number): RowStream {
	for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

async function collect(stream: RowStream): Promise<Row[][]> {
	const out: Row[][] = [];
	for await (const batch of stream) out.push(batch);
	return out;
}

const people: Row[] = Array.from({ length: 20 }, (_, i) => ({
	id: String(i),
	company: i % 4 === 0 ? 'Ariglad Inc' : 'Other Co',
	employees: String(i * 10),
	email: i % 3 === 0 ? '' : `p${i}@x.example`
}));

function params(input: v.InferInput<typeof FilterParams>): ParamsOf<'filter'> {
	return v.parse(FilterParams, input);
}

describe('runFilter over a stream', () => {
	it.each<[string, ParamsOf<'filter'>, string[]]>([
		['an expression', params({ expression: 'company == "Ariglad Inc"' }), ['0', '4', '8', '12', '16']],
		['numbers in text', params({ expression: 'employees >= 150' }), ['15', '16', '17', '18', '19']],
		['a function', params({ expression: 'not is_empty(email) and employees < 50' }), ['1', '2', '4']],
		['the column form', params({ column: 'employees', operator: 'lt', value: '30' }), ['0', '1', '2']],
		['the column form with no value', params({ column: 'email', operator: 'is_empty' }), ['0', '3', '6', '9', '12', '15', '18']],
		['an expression wins over a column', params({ expression: 'id == 7', column: 'id', operator: 'equals', value: '8' }), ['7']],
		['nothing matches', params({ expression: 'company == "Nobody"' }), []]
	])('%s keeps the matching rows, in order, in non-empty batches', async (_, filterParams, ids) => {
		const { ctx, counters } = context();
		const output = await runFilter({
			params: filterParams,
			columns: ['id', 'company', 'employees', 'email'],
			rows: batchesOf(people, 3),
			ctx
		});
		expect(output.columns).toEqual(['id', 'company', 'employees', 'email']);
		const batches = await collect(output.rows);
		expect(batches.every((b) => b.length > 0)).toBe(true);
		expect(batches.flat().map((r) => r.id)).toEqual(ids);
		expect(counters.skipped).toBe(people.length - ids.length);
		expect(counters.errors).toBe(0);
	});

	it('keeps the rows it lets through untouched (same objects, same values)', async () => {
		const { ctx } = context();
		const output = await runFilter({ params: params({ expression: 'true' }), columns: [], rows: batchesOf(people, 7), ctx });
		const batches = await collect(output.rows);
		expect(batches.map((b) => b.length)).toEqual([7, 7, 6]);
		expect(batches.flat()).toEqual(people);
		expect(batches.flat()[0]).toBe(people[0]);
	});

	it('refuses a bad expression before reading any row, with its position', async () => {
		let pulled = false;
		async function* source(): RowStream {
			pulled = true;
			yield people;
		}
		const { ctx } = context();
		const run = runFilter({ params: params({ expression: 'employees >= ' }), columns: [], rows: source(), ctx });
		await expect(run).rejects.toThrow(JobFailure);
		await expect(run).rejects.toThrow(/Filter expression: The expression ends too early.*at character 14/);
		expect(pulled).toBe(false);
	});

	it('streams: the first batch comes out while the source is still producing', async () => {
		let produced = 0;
		let closed = false;
		async function* endless(): RowStream {
			try {
				for (;;) yield [{ n: String(produced++) }];
			} finally {
				closed = true;
			}
		}
		const { ctx } = context();
		const output = await runFilter({ params: params({ expression: 'n >= 5' }), columns: ['n'], rows: endless(), ctx });
		for await (const batch of output.rows) {
			expect(batch).toEqual([{ n: '5' }]);
			break;
		}
		expect(produced).toBe(6);
		expect(closed).toBe(true);
	});

	it('stops when the signal aborts, and closes its source', async () => {
		const controller = new AbortController();
		let closed = false;
		async function* source(): RowStream {
			try {
				for (let i = 0; ; i++) yield [{ n: String(i) }];
			} finally {
				closed = true;
			}
		}
		const { ctx } = context(controller.signal);
		const output = await runFilter({ params: params({ expression: 'true' }), columns: ['n'], rows: source(), ctx });
		const seen: Row[] = [];
		const drain = (async () => {
			for await (const batch of output.rows) {
				seen.push(...batch);
				if (seen.length === 3) controller.abort(new Error('cancelled by test'));
			}
		})();
		await expect(drain).rejects.toThrow('cancelled by test');
		expect(seen).toHaveLength(3);
		expect(closed).toBe(true);
	});

	it('drops a row it cannot evaluate and reports it as a row error; the other rows go on', async () => {
		const broken: Row = {};
		Object.defineProperty(broken, 'company', {
			enumerable: true,
			get() {
				throw new Error('unreadable cell');
			}
		});
		const rows = [people[0], broken, people[4], people[1]];
		const { ctx, counters, rowErrors } = context();
		const output = await runFilter({
			params: params({ expression: 'company == "Ariglad Inc"' }),
			columns: [],
			rows: batchesOf(rows, 2),
			ctx
		});
		expect((await collect(output.rows)).flat()).toEqual([people[0], people[4]]);
		expect(rowErrors).toEqual([[1, 'Filter could not evaluate this row: unreadable cell']]);
		expect(counters).toMatchObject({ errors: 1, skipped: 1 });
	});
});

describe('the filter inside a run', () => {
	let dataDir: string;
	beforeAll(() => {
		dataDir = mkdtempSync(join(tmpdir(), 'filter-block-'));
		const lines = ['name,company,employees,is_american_education'];
		for (let i = 0; i < 600; i++) lines.push(`P${i},${i % 5 === 0 ? 'Ariglad Inc' : 'Other'},${i},${i % 2 === 0 ? 'TRUE' : 'false'}`);
		mkdirSync(join(dataDir, 'uploads'));
		writeFileSync(join(dataDir, 'uploads', 'leads.csv'), `${lines.join('\n')}\n`);
	});
	afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

	it('counts rows in, out and skipped once each, and keeps the order across batches', async () => {
		const workflow = v.parse(WorkflowSchema, {
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
				{ id: 'ariglad', type: 'filter', params: { expression: 'company == "Ariglad Inc" and employees >= 100' } },
				{ id: 'us', type: 'filter', params: { column: 'is_american_education', operator: 'equals', value: true } }
			]
		});
		const rows: Row[] = [];
		const result = await runJob({
			runners: RUNNERS,
			jobId: 'j',
			workflow,
			dataDir,
			enrichment: noApi,
			onRows: (b) => void rows.push(...b)
		});
		expect(result.status).toBe('completed');
		const expected = Array.from({ length: 600 }, (_, i) => i).filter((i) => i % 10 === 0 && i >= 100);
		expect(rows.map((r) => r.name)).toEqual(expected.map((i) => `P${i}`));
		const [, ariglad, us] = result.blocks;
		expect(ariglad).toMatchObject({ rows_in: 600, rows_out: 100, skipped: 500, errors: 0 });
		expect(us).toMatchObject({ rows_in: 100, rows_out: expected.length, skipped: 100 - expected.length, errors: 0 });
	});
});

describe('the filter within its work budget', () => {
	it('keeps a row over the budget with the reason in _error, counts it as an error, and filters the rest', async () => {
		const rows: Row[] = [
			{ id: 'fits', c: 'A'.repeat(AT_BUDGET_CHARS) },
			{ id: 'over', c: 'A'.repeat(AT_BUDGET_CHARS + 1) },
			{ id: 'dropped', c: 'B' },
			{ id: 'huge', c: 'x'.repeat(2 * 1024 * 1024), _error: 'earlier reason' }
		];
		const { ctx, counters, rowErrors } = context();
		const output = await runFilter({
			params: params({ expression: HEAVY_EXPRESSION }),
			columns: ['id', 'c'],
			rows: batchesOf(rows, 4),
			ctx
		});
		const out = (await collect(output.rows)).flat();
		expect(out.map((r) => r.id)).toEqual(['fits', 'over', 'huge']);
		expect(out[0]).toBe(rows[0]);
		expect(out[1]).toEqual({
			...rows[1],
			_error: expect.stringMatching(/^Filter filter: this row needs more than 1,000,000 units of work/)
		});
		expect(out[2]._error).toMatch(/^earlier reason \| Filter filter: this row needs more/);
		expect(out[2].c).toBe(rows[3].c);
		expect(rowErrors.map(([row]) => row)).toEqual([1, 3]);
		expect(counters).toMatchObject({ errors: 2, skipped: 1 });
	});

	it('gives the event loop turns while one batch of heavy rows is evaluated', async () => {
		const rows: Row[] = Array.from({ length: 12 }, (_, i) => ({ id: String(i), c: 'A'.repeat(AT_BUDGET_CHARS) }));
		let turns = 0;
		let ticking = true;
		const tick = () => {
			if (!ticking) return;
			turns++;
			setImmediate(tick);
		};
		setImmediate(tick);
		const { ctx } = context();
		const output = await runFilter({
			params: params({ expression: HEAVY_EXPRESSION }),
			columns: ['id', 'c'],
			rows: batchesOf(rows, 12),
			ctx
		});
		const turnsBefore = turns;
		const batches = await collect(output.rows);
		ticking = false;
		expect(batches.flat()).toHaveLength(12);
		// ~1,000,000 units a row, a turn every 500,000: the loop ran between rows of the one batch.
		expect(turns - turnsBefore).toBeGreaterThanOrEqual(10);
	});
});
