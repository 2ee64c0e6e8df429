/**
 * The live grid's range route and partial re-runs (issue 12): `GET /jobs/{id}/cells` serves any
 * range of rows with every block's cell (also filtered to errors or by a search), from the store;
 * `POST /jobs/{id}/retry` re-runs one row, some rows or the failed rows, and the retry's grid shows
 * the retried job's other rows with the re-run rows over them (answered rows come from the cache).
 * Bad input is a 400 naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallOptions, EnrichmentService } from '../../server/enrichment/types';
import type { EnrichLeadRequest } from '../../server/enrichment/sixtyfour-schemas';
import type { GridPageAnswer } from '../../server/routes/responses';
import { testBackends } from '../helpers/backends';
import { createTestApp, uploadForm, waitForJob, type TestApp } from '../helpers/test-app';

const ROWS = 250;
/** Rows that fail until `healed`; then they answer. */
const FAILING = new Set([4, 120, 249]);
describe.each(testBackends())('the live grid routes on $name', (backend) => {
	let healed = false;
	const answered = new Map<string, number>();

	const api: EnrichmentService = {
		async enrichLead(request: EnrichLeadRequest, { meter }: CallOptions) {
			const name = String(request.lead_info.name);
			if (name.startsWith('Broken ')) throw new Error(`the API could not find ${name}`);
			const row = Number(name.split(' ')[1]);
			if (FAILING.has(row) && !healed) throw new Error(`the API could not find ${name}`);
			// A lead answered before comes "from the cache" (as the real cache would serve it).
			if (answered.has(name)) meter.cached++;
			else {
				meter.calls++;
				meter.requests++;
			}
			answered.set(name, (answered.get(name) ?? 0) + 1);
			return { notes: null, structured_data: { title: `Head of ${name}` }, findings: [], references: null, confidence_score: 6 };
		},
		enrichCompany: () => Promise.reject(new Error('not used')),
		findEmail: () => Promise.reject(new Error('not used')),
		findPhone: () => Promise.reject(new Error('not used'))
	};

	let t: TestApp;
	let filePath: string;
	let jobId: string;

	const json = <T>(res: Response) => res.json() as Promise<T>;
	const cells = async (id: string, query = '') => {
		const res = await t.app.request(`/api/workflows/jobs/${id}/cells${query}`);
		expect(res.status).toBe(200);
		return json<GridPageAnswer>(res);
	};
	const settle = (id: string) =>
		waitForJob(async () => json<{ status: string }>(await t.app.request(`/api/workflows/jobs/${id}`)), 30_000);
	const retry = (id: string, body?: unknown) =>
		t.app.request(`/api/workflows/jobs/${id}/retry`, {
			method: 'POST',
			...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
		});

	/** Uploads `names` as a CSV and runs Read CSV → Enrich Lead on it to the end: the file and the job. */
	const enrichRun = async (name: string, names: string[]) => {
		const csv = ['name,company', ...names.map((n) => `${n},Acme`)].join('\n');
		const up = await t.app.request('/api/workflows/upload', { method: 'POST', body: uploadForm(csv) });
		const path = ((await up.json()) as { file_path: string }).file_path;
		const res = await t.app.request('/api/workflows/run', {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({
				workflow: {
					name,
					blocks: [
						{ id: 'read', type: 'read_csv', params: { path } },
						{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' } } }
					]
				}
			})
		});
		expect(res.status).toBe(200);
		const job = ((await res.json()) as { job_id: string }).job_id;
		expect((await settle(job)).status).toBe('completed');
		return { path, job };
	};

	beforeAll(async () => {
		t = await createTestApp({ enrichment: api, maxConcurrentJobs: 1, backend });
		({ path: filePath, job: jobId } = await enrichRun(
			'grid',
			Array.from({ length: ROWS }, (_, i) => `Person ${i}`)
		));
	});
	afterAll(() => t.close());

	describe('GET /jobs/{id}/cells', () => {
		it('serves any range: every row read, with each block’s cell and the blocks’ column groups', async () => {
			const page = await cells(jobId, '?offset=100&limit=30');
			expect(page).toMatchObject({ job_id: jobId, jobs: [jobId], offset: 100, limit: 30, total: ROWS, rows_read: ROWS });
			expect(page.blocks).toEqual([
				{ block_id: 'read', block_type: 'read_csv', columns: ['name', 'company'] },
				{ block_id: 'enrich', block_type: 'enrich_lead', columns: ['title', '_confidence'] }
			]);
			expect(page.rows.map((r) => r.row)).toEqual(Array.from({ length: 30 }, (_, i) => 100 + i));
			const row = page.rows[0]!;
			expect(row.cells.read).toEqual({ state: 'done', values: { name: 'Person 100', company: 'Acme' }, job_id: jobId });
			expect(row.cells.enrich).toMatchObject({ state: 'done', values: { title: 'Head of Person 100', _confidence: 6 } });
			const failed = page.rows.find((r) => r.row === 120)!;
			expect(failed.cells.enrich).toMatchObject({ state: 'error', error: 'Enrich Lead: the API could not find Person 120' });
			// The end of the file: a short last page.
			expect((await cells(jobId, '?offset=240&limit=100')).rows.map((r) => r.row)).toEqual([...Array(10).keys()].map((i) => 240 + i));
		});

		it('filters to the failed rows, or to a search', async () => {
			const errors = await cells(jobId, '?errors=only&limit=10');
			expect(errors.total).toBe(3);
			expect(errors.rows.map((r) => r.row)).toEqual([4, 120, 249]);
			const found = await cells(jobId, `?q=${encodeURIComponent('person 17')}`);
			expect(found.rows.map((r) => r.row)).toEqual([17, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179]);
			// LIKE wildcards are text, not patterns.
			expect((await cells(jobId, '?q=%25')).total).toBe(0);
		});

		it('refuses a bad query with a 400 naming the parameter', async () => {
			for (const [query, path] of [
				['?limit=0', 'limit'],
				['?limit=5000', 'limit'],
				['?offset=-1', 'offset'],
				['?errors=yes', 'errors'],
				[`?q=${'x'.repeat(201)}`, 'q']
			] as const) {
				const res = await t.app.request(`/api/workflows/jobs/${jobId}/cells${query}`);
				expect(res.status, query).toBe(400);
				const body = (await res.json()) as { error: { issues: { path: string }[] } };
				expect(body.error.issues[0]!.path).toBe(path);
			}
			expect((await t.app.request('/api/workflows/jobs/00000000-0000-4000-8000-000000000000/cells')).status).toBe(404);
		});
	});

	describe('re-running some rows', () => {
		it('retries one row alone; the grid shows it over the job it retried', async () => {
			const before = answered.get('Person 7');
			const res = await retry(jobId, { rows: [7] });
			expect(res.status).toBe(200);
			const next = ((await res.json()) as { job_id: string }).job_id;
			expect((await settle(next)).status).toBe('completed');
			expect(answered.get('Person 7')).toBe((before ?? 0) + 1);
			expect(answered.get('Person 8')).toBe(1); // no other row ran
			const page = await cells(next, '?offset=5&limit=4');
			expect(page.jobs).toEqual([next, jobId]);
			expect(page.total).toBe(ROWS);
			const row7 = page.rows.find((r) => r.row === 7)!;
			expect(row7.cells.enrich).toMatchObject({ state: 'done', cached: true, job_id: next });
			expect(page.rows.find((r) => r.row === 6)!.cells.enrich).toMatchObject({ state: 'done', job_id: jobId });
		});

		it('retries the failed rows only; once they answer the grid has no error left', async () => {
			healed = true;
			const res = await retry(jobId, { failed: true });
			expect(res.status).toBe(200);
			const answer = (await res.json()) as { job_id: string; rows_retried: number | null; failed_rows_left: number };
			expect(answer).toMatchObject({ rows_retried: 3, failed_rows_left: 0 });
			const next = answer.job_id;
			expect((await settle(next)).status).toBe('completed');
			const errors = await cells(next, '?errors=only');
			expect(errors.total).toBe(0);
			const page = await cells(next, '?offset=118&limit=4');
			expect(page.rows.find((r) => r.row === 120)!.cells.enrich).toMatchObject({
				state: 'done',
				values: { title: 'Head of Person 120' },
				job_id: next
			});
			// Nothing failed any more: retrying the failed rows of the new job is a 409 that says so.
			const again = await retry(next, { failed: true });
			expect(again.status).toBe(409);
			expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/No row of this job failed/);
		});

		it('retries at most 10,000 failed rows at once and says how many are left', async () => {
			const { job: failedJob } = await enrichRun(
				'all broken',
				Array.from({ length: 10_004 }, (_, i) => `Broken ${i}`)
			);
			const res = await retry(failedJob, { failed: true });
			expect(res.status).toBe(200);
			const answer = (await res.json()) as { job_id: string };
			expect(answer).toMatchObject({ rows_retried: 10_000, failed_rows_left: 4 });
			// The retry runs those 10,000 (they fail again): the next test starts on an idle queue.
			expect((await settle(answer.job_id)).status).toBe('completed');
		}, 60_000);

		it('refuses bad row lists with a 400 naming the field path, and saves nothing', async () => {
			const cases: [unknown, string][] = [
				[{ rows: [1, -2] }, 'rows.1'],
				[{ rows: [1.5] }, 'rows.0'],
				[{ rows: ['3'] }, 'rows.0'],
				[{ rows: [] }, 'rows'],
				[{ rows: [2, 2] }, 'rows'],
				[{ rows: [1], failed: true }, '(body)'],
				[{ rows: [1], extra: 1 }, 'extra'],
				[{ rows: Array.from({ length: 10_001 }, (_, i) => i) }, 'rows']
			];
			const { jobs: before } = (await (await t.app.request(`/api/workflows/jobs?ids=${jobId}`)).json()) as { jobs: unknown[] };
			for (const [body, path] of cases) {
				const res = await retry(jobId, body);
				expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400);
				const answer = (await res.json()) as { error: { issues: { path: string }[] } };
				expect(answer.error.issues[0]!.path).toBe(path);
			}
			const notJson = await t.app.request(`/api/workflows/jobs/${jobId}/retry`, { method: 'POST', body: '{rows' });
			expect(notJson.status).toBe(400);
			expect(before).toHaveLength(1);
			// A run's options.rows is checked the same way.
			const run = await t.app.request('/api/workflows/run', {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({
					workflow: { name: 'x', blocks: [{ id: 'read', type: 'read_csv', params: { path: filePath } }] },
					options: { rows: [0, 'x'] }
				})
			});
			expect(run.status).toBe(400);
			expect(((await run.json()) as { error: { issues: { path: string }[] } }).error.issues[0]!.path).toBe('options.rows.1');
		});

		it('runs only the selected rows of a new run, under their own row numbers', async () => {
			const res = await t.app.request('/api/workflows/run', {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({
					workflow: {
						name: 'selected',
						blocks: [
							{ id: 'read', type: 'read_csv', params: { path: filePath } },
							{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' } } }
						]
					},
					options: { rows: [10, 200, 3] }
				})
			});
			expect(res.status).toBe(200);
			const id = ((await res.json()) as { job_id: string }).job_id;
			expect((await settle(id)).status).toBe('completed');
			const page = await cells(id);
			expect(page.total).toBe(3);
			expect(page.rows.map((r) => r.row)).toEqual([3, 10, 200]);
			for (const r of page.rows) expect(r.cells.enrich).toMatchObject({ state: 'done', cached: true });
		});
	});
});
