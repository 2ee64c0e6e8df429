/**
 * Row events (issue 12): the engine says which input row each block started, answered, failed or
 * dropped, with the cells it wrote and whether they came from the cache — in `row_cells` events
 * that carry the latest state per cell — and hands the source's rows, with their indexes, to
 * `onSourceRows`. `options.rows` runs only some rows, keeping their indexes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as v from 'valibot';
import { RUNNERS } from '../../server/blocks';
import { runJob } from '../../server/engine/run-job';
import { ROW_INDEX, RowCellBuffer, RowMeter, settledCell, tagRow } from '../../server/engine/row-cells';
import type { RunEvent } from '../../server/engine/types';
import type { EnrichmentService } from '../../server/enrichment/types';
import { RunEventSchema, type RowCell } from '../../src/lib/workflow/protocol';
import { WorkflowSchema, type Row } from '../../src/lib/workflow/schema';
import { mkdir, writeFile } from 'node:fs/promises';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const ROWS = 40;
let tmp: TempDir;
beforeAll(async () => {
	tmp = await makeTempDir();
	await mkdir(join(tmp.dir, 'uploads'), { recursive: true });
	const lines = ['name,company', ...Array.from({ length: ROWS }, (_, i) => `Person ${i},Acme ${i % 4}`)];
	await writeFile(join(tmp.dir, 'uploads/leads.csv'), `${lines.join('\n')}\n`);
});
afterAll(() => tmp.cleanup());

/** Answers every lead; rows whose name ends in 3 fail, rows ending in 5 are "cached" (no paid call). */
const fakeApi: EnrichmentService = {
	async enrichLead(request, { meter }) {
		const name = String(request.lead_info.name);
		await new Promise((resolve) => setTimeout(resolve, name.endsWith('7') ? 5 : 0));
		if (name.endsWith('3')) throw new Error(`no such person: ${name}`);
		if (name.endsWith('5')) meter.cached++;
		else {
			meter.calls++;
			meter.requests++;
		}
		return { notes: null, structured_data: { title: `CTO of ${name}` }, findings: [], references: null, confidence_score: 8 };
	},
	enrichCompany: () => Promise.reject(new Error('not used')),
	findEmail: () => Promise.reject(new Error('not used')),
	findPhone: () => Promise.reject(new Error('not used'))
};

const workflow = v.parse(WorkflowSchema, {
	name: 'row events',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		// Leaves out every tenth row (Person 0, Person 10, …).
		{ id: 'keep', type: 'filter', params: { expression: 'not ends_with(name, "0")' } },
		{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' }, concurrency: 6 } }
	]
});

async function run(options: { rows?: number[] } = {}) {
	const events: RunEvent[] = [];
	const source: { row: number; values: Row }[] = [];
	const rows: Row[] = [];
	const result = await runJob({
		runners: RUNNERS,
		jobId: 'j',
		workflow,
		options,
		dataDir: tmp.dir,
		enrichment: fakeApi,
		progressIntervalMs: 1,
		onEvent: (e) => void events.push(e),
		onSourceRows: (batch) => void source.push(...batch),
		onRows: (batch) => void rows.push(...batch)
	});
	const cells = events.flatMap((e) => (e.type === 'row_cells' ? e.cells : []));
	/** The last state of each (row, block). */
	const last = new Map<string, RowCell>();
	for (const cell of cells) last.set(`${cell.row}:${cell.block_id}`, cell);
	return { result, events, source, rows, cells, last };
}

describe('row events from the engine', () => {
	it('names each row by its input index, with the cells it got, the reason it failed, cache hits and filter drops', async () => {
		const { result, events, source, rows, cells, last } = await run();
		expect(result.status).toBe('completed');
		// The source rows, each with its index, in order.
		expect(source.map((s) => s.row)).toEqual([...Array(ROWS).keys()]);
		expect(source[7]!.values.name).toBe('Person 7');
		// Every event is a valid wire message.
		for (const e of events) expect(v.safeParse(RunEventSchema, JSON.parse(JSON.stringify(e))).success).toBe(true);

		for (let row = 0; row < ROWS; row++) {
			const name = `Person ${row}`;
			if (row % 10 === 0) {
				expect(last.get(`${row}:keep`)).toEqual({ row, block_id: 'keep', state: 'dropped' });
				expect(last.has(`${row}:enrich`)).toBe(false);
				continue;
			}
			const cell = last.get(`${row}:enrich`);
			if (row % 10 === 3) {
				expect(cell).toMatchObject({ row, block_id: 'enrich', state: 'error', error: `Enrich Lead: no such person: ${name}` });
				expect(cell!.values).toBeUndefined();
			} else {
				expect(cell).toMatchObject({ row, block_id: 'enrich', state: 'done', values: { title: `CTO of ${name}`, _confidence: 8 } });
				expect(cell!.cached ?? false).toBe(row % 10 === 5);
			}
			// It was reported in flight before its answer (unless both fell in one tick: then only the answer).
			const states = cells.filter((c) => c.row === row && c.block_id === 'enrich').map((c) => c.state);
			expect(states.at(-1)).not.toBe('running');
			expect(states.filter((s) => s !== 'running')).toHaveLength(1);
		}
		// Some start was seen on its own tick: the grid can show a spinner.
		expect(cells.some((c) => c.state === 'running')).toBe(true);
		// The final rows leave the engine as plain rows: no tag.
		expect(rows.length).toBe(ROWS - ROWS / 10);
		for (const row of rows) expect(Object.getOwnPropertySymbols(row)).toEqual([]);
	});

	it('answers are reported as they arrive, not in output order', async () => {
		const { cells } = await run();
		// Person 7, 17… answer 5 ms later than their neighbours: later rows are reported before them.
		const order = cells.filter((c) => c.block_id === 'enrich' && c.state !== 'running').map((c) => c.row);
		expect(order.indexOf(8)).toBeLessThan(order.indexOf(7));
	});

	it('options.rows runs only those rows, under their own indexes', async () => {
		const { result, source, last, rows } = await run({ rows: [3, 12, 25, 39] });
		expect(result.status).toBe('completed');
		expect(source.map((s) => s.row)).toEqual([3, 12, 25, 39]);
		expect(source.map((s) => s.values.name)).toEqual(['Person 3', 'Person 12', 'Person 25', 'Person 39']);
		expect([...last.keys()].sort()).toEqual(['12:enrich', '25:enrich', '39:enrich', '3:enrich']);
		expect(last.get('3:enrich')!.state).toBe('error');
		expect(last.get('25:enrich')!.cached).toBe(true);
		expect(rows.map((r) => r.name)).toEqual(['Person 3', 'Person 12', 'Person 25', 'Person 39']);
		expect(result.blocks[0]!.total).toBe(4);
	});
});

describe('row cell helpers', () => {
	it('the tag survives spreads and never reaches JSON', () => {
		const row: Row = { name: 'Ada' };
		tagRow(row, 41);
		const copy = { ...row, email: 'a@x' };
		expect((copy as Record<symbol, unknown>)[ROW_INDEX]).toBe(41);
		expect(JSON.stringify(copy)).toBe('{"name":"Ada","email":"a@x"}');
		tagRow(copy, 2); // a tag already set is kept
		expect((copy as Record<symbol, unknown>)[ROW_INDEX]).toBe(41);
	});

	it('a settled cell holds only what the block changed; an error only its own reason', () => {
		const input: Row = { name: 'Ada', _error: 'Filter: too long' };
		expect(settledCell('b', 1, { name: 'Ada' }, [{ name: 'Ada', title: 'CTO', _error: null }])).toEqual({
			row: 1,
			block_id: 'b',
			state: 'done',
			values: { title: 'CTO' }
		});
		expect(settledCell('b', 1, input, [{ ...input, _error: 'Filter: too long | Find Email: no name' }])).toEqual({
			row: 1,
			block_id: 'b',
			state: 'error',
			error: 'Find Email: no name'
		});
		// One company became three people.
		expect(settledCell('b', 2, { c: 'x' }, [{ c: 'x' }, { c: 'x' }, { c: 'x' }]).rows).toBe(3);
	});

	it('a row meter adds to the block and knows whether the row paid', () => {
		const base = { calls: 5, cached: 1, requests: 9, costCents: 2, waiting: 0 };
		const a = new RowMeter(base);
		a.cached++;
		const b = new RowMeter(base);
		b.calls++;
		b.requests += 3;
		b.waiting++;
		b.waiting--;
		expect(base).toEqual({ calls: 6, cached: 2, requests: 12, costCents: 2, waiting: 0 });
		expect(a.fromCache).toBe(true);
		expect(b.fromCache).toBe(false);
		expect(new RowMeter(base).fromCache).toBe(false);
	});

	it('the buffer keeps the latest state per cell and ignores untagged rows', () => {
		const buffer = new RowCellBuffer();
		const sink = buffer.sinkFor('b');
		const row: Row = { n: 1 };
		tagRow(row, 7);
		sink.started(row);
		sink.started({ n: 2 });
		sink.settled(row, [{ n: 1, x: 2 }]);
		expect(buffer.take()).toEqual([{ row: 7, block_id: 'b', state: 'done', values: { x: 2 } }]);
		expect(buffer.size).toBe(0);
	});

	it("one person's error under an expanded row (Find people) is not hidden by the next person's answer", () => {
		const buffer = new RowCellBuffer();
		const sink = buffer.sinkFor('email');
		// Three people from company row 4, all tagged with the company's row number.
		const people: Row[] = [{ name: 'Ada' }, { name: 'Bob' }, { name: 'Cy' }];
		for (const person of people) tagRow(person, 4);
		sink.started(people[0]!);
		sink.settled(people[0]!, [{ name: 'Ada', email: 'ada@x.example' }]);
		sink.started(people[1]!);
		sink.settled(people[1]!, [{ name: 'Bob', _error: 'Find Email: HTTP 500' }]);
		sink.started(people[2]!);
		sink.settled(people[2]!, [{ name: 'Cy', email: 'cy@x.example' }]);
		expect(buffer.take()).toEqual([{ row: 4, block_id: 'email', state: 'error', error: 'Find Email: HTTP 500' }]);
		// Later news of that row in this block does not replace the error either.
		sink.started(people[2]!);
		expect(buffer.take()).toEqual([]);
	});
});
