/**
 * The heaviest filter job the limits allow does not freeze the server (a real server in a child
 * process, so a frozen one cannot freeze the test too): read_csv + 99 filters of 9,975 characters
 * over a 20 MB file of 2 MB cells, rows at and just over the per-row work budget, and ordinary
 * rows. While it runs, `/healthz` is probed one request after another.
 *
 * - `/healthz` keeps answering while the filters work: counted between the first filter taking
 *   rows and the job's end (a blocked event loop answers none there — a count, not a time);
 * - the job completes; rows over the budget keep their values and get `_error` from every filter;
 *   rows within it are filtered as the expression says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heavyWork, probeDuringJob, worstFilterBlocks, worstFilterCsv, type RowKind, AT_BUDGET_CHARS } from '../helpers/worst-filter-job';
import { spawnServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import { MAX_EVALUATION_WORK } from '../../src/lib/workflow/expression-evaluator';

const FILTERS = 99;
let temp: TempDir;
let server: ServerProcess;

beforeAll(async () => {
	temp = await makeTempDir('leadflow-freeze-');
	server = await spawnServer(testServerEnv(temp.dir, null));
});

afterAll(async () => {
	server?.child.kill('SIGKILL');
	await server?.exited;
	await temp?.cleanup();
});

describe('the heaviest filter job', () => {
	it('the row kinds sit where the test says against the budget', () => {
		expect(heavyWork(AT_BUDGET_CHARS)).toBeLessThanOrEqual(MAX_EVALUATION_WORK);
		expect(heavyWork(AT_BUDGET_CHARS + 1)).toBeGreaterThan(MAX_EVALUATION_WORK);
	});

	it('completes, gives over-budget rows an _error, and /healthz answers all along', { timeout: 240_000 }, async () => {
		const { csv, kinds } = worstFilterCsv({ huge: 10, atBudget: 4, overBudget: 2, dropped: 1, kept: 1 });
		const form = new FormData();
		form.append('file', new Blob([csv], { type: 'text/csv' }), 'worst.csv');
		const uploaded = await fetch(`${server.url}/api/workflows/upload`, { method: 'POST', body: form });
		expect(uploaded.status, await uploaded.clone().text()).toBe(200);
		const { file_path: path } = (await uploaded.json()) as { file_path: string };

		const submitted = await fetch(`${server.url}/api/workflows/run`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ workflow: { name: 'worst filters', blocks: worstFilterBlocks(path, FILTERS) } })
		});
		expect(submitted.status, await submitted.clone().text()).toBe(200);
		const { job_id: jobId } = (await submitted.json()) as { job_id: string };

		// The deadline only ends a frozen run (which would take hours); the fixed one takes seconds.
		const report = await probeDuringJob({ url: server.url, jobId, deadlineMs: 180_000 });
		expect(report.job.status).toBe('completed');
		expect(report.failures).toBe(0);
		expect(report.answeredWhileFiltering).toBeGreaterThanOrEqual(10);

		const { rows } = (await (await fetch(`${server.url}/api/workflows/jobs/${jobId}/rows?limit=100`)).json()) as {
			rows: { id: string; kind: RowKind; c: string; _error?: string }[];
		};
		const expectedKinds = kinds.filter((k) => k !== 'dropped');
		expect(rows.map((r) => r.kind)).toEqual(expectedKinds);
		for (const row of rows) {
			if (row.kind === 'huge' || row.kind === 'over_budget') {
				// Every filter refused to decide the row, each saying why; the values are intact.
				const reasons = row._error?.split(' | ') ?? [];
				expect(reasons).toHaveLength(FILTERS);
				expect(reasons[0]).toMatch(/^Filter f1: this row needs more than 1,000,000 units of work/);
				expect(row.c.length).toBe(row.kind === 'huge' ? 1024 * 1024 : AT_BUDGET_CHARS + 1);
			} else {
				expect(row._error).toBeUndefined();
			}
		}
		const job = (await (await fetch(`${server.url}/api/workflows/jobs/${jobId}`)).json()) as {
			results: { block_id: string; rows_in: number; rows_out: number; errors: number; skipped: number }[];
		};
		expect(job.results[1]).toMatchObject({ block_id: 'f1', rows_in: kinds.length, rows_out: kinds.length - 1, errors: 12, skipped: 1 });
		expect(job.results[FILTERS]).toMatchObject({ block_id: `f${FILTERS}`, rows_in: kinds.length - 1, errors: 12, skipped: 0 });
		expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
	});
});
