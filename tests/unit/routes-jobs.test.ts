import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { summarizeBlock } from '../../src/lib/block-summary';
import type { EnrichLeadRequest } from '../../server/enrichment/sixtyfour-schemas';
import type { CallOptions, EnrichmentService } from '../../server/enrichment/types';
import { PREVIEW_CELL_CHARS } from '../../server/engine/progress';
import type { JobProgress } from '../../server/jobs/job-progress';
import { testBackends } from '../helpers/backends';
import { createTestApp, uploadForm, waitForJob, type TestApp } from '../helpers/test-app';

/**
 * An enrichment double whose answers wait for `open()`: lets a test hold a job `running` (and the
 * next one `pending`) for exactly as long as it needs, then finish it. Aborts are honoured.
 */
function gatedEnrichment() {
	let release!: () => void;
	let gate = new Promise<void>((r) => (release = r));
	let calls = 0;
	const methods = {
		async enrichLead(request: EnrichLeadRequest, { signal, meter }: CallOptions) {
			calls++;
			meter.calls++;
			await new Promise<void>((resolve, reject) => {
				const onAbort = () => reject(signal.reason);
				signal.addEventListener('abort', onAbort, { once: true });
				gate.then(() => {
					signal.removeEventListener('abort', onAbort);
					resolve();
				});
			});
			const name = String(request.lead_info.name ?? '');
			return { notes: null, structured_data: { title: `Title of ${name}` }, findings: [], references: null, confidence_score: 7 };
		},
		async findEmail(): Promise<never> {
			throw new Error('not used');
		},
		async findPhone(): Promise<never> {
			throw new Error('not used');
		},
		async enrichCompany(): Promise<never> {
			throw new Error('not used');
		}
	};
	const service: EnrichmentService = methods;
	return {
		service,
		calls: () => calls,
		open: () => release(),
		close: () => (gate = new Promise<void>((r) => (release = r)))
	};
}

describe.each(testBackends())('jobs through the API on $name', (backend) => {
	let gated = gatedEnrichment();
	let t: TestApp;
	const ADMIN = 'operator-token-for-routes-jobs';
	const asOperator = { headers: { authorization: `Bearer ${ADMIN}` } };
	let filePath: string;
	const CSV = 'name,company,email\nAda,Analytical Engines,\nGrace,Navy,grace@navy.example\n=HYPERLINK("x"),Evil Corp,\n';

	beforeAll(async () => {
		gated = gatedEnrichment();
		t = await createTestApp({ enrichment: gated.service, maxConcurrentJobs: 1, adminToken: ADMIN, backend });
		const res = await t.app.request('/api/workflows/upload', { method: 'POST', body: uploadForm(CSV) });
		filePath = (await res.json()).file_path;
	});
	afterAll(async () => {
		gated.open();
		await t.close();
	});

	const json = (res: Response) => res.json();
	const run = (blocks: unknown[], options?: unknown) =>
		t.app.request('/api/workflows/run', {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ workflow: { name: 'Test run', blocks }, ...(options ? { options } : {}) })
		});
	const getJob = async (id: string): Promise<JobProgress> => json(await t.app.request(`/api/workflows/jobs/${id}`));
	const read = () => ({ id: 'read', type: 'read_csv', params: { path: filePath } });
	const enrich = { id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Current job title' } } };
	const save = { id: 'save', type: 'save_csv', params: { filename: 'out' } };

	describe('a job through the API', () => {
		let jobId: string;

		it('runs read → filter → enrich → save and reports the seed JobProgress shape', async () => {
			gated.open();
			const res = await run([read(), { id: 'keep', type: 'filter', params: { expression: 'not is_empty(name)' } }, enrich, save]);
			expect(res.status).toBe(200);
			const started = await json(res);
			expect(started.estimate).toMatchObject({ input_rows: 3, max_calls: 3, max_cost_cents: 15 });
			jobId = started.job_id;
			const job = await waitForJob(() => getJob(jobId));
			expect(job).toMatchObject({
				job_id: jobId,
				status: 'completed',
				error: null,
				output_path: expect.stringMatching(/^outputs\/.+\.csv$/),
				row_count: 3,
				created_at: expect.any(String),
				started_at: expect.any(String),
				finished_at: expect.any(String)
			});
			expect(job.results.map((r: { block_id: string; status: string }) => [r.block_id, r.status])).toEqual([
				['read', 'completed'],
				['keep', 'completed'],
				['enrich', 'completed'],
				['save', 'completed']
			]);
			for (const key of ['rows_in', 'rows_out', 'errors', 'calls', 'cached', 'cost_cents', 'duration_ms', 'preview']) {
				expect(job.results[2]).toHaveProperty(key);
			}
			expect(job.results[2]).toMatchObject({ rows_in: 3, rows_out: 3, errors: 0, calls: 3 });
			// Answers counted apart from rows out; a finished block keeps its average rows/s and no ETA left.
			expect(job.results[2]).toMatchObject({ answered: 3, in_flight: 0, requests: 0, eta_s: 0 });
			expect(job.results[2].rows_per_s).toEqual(expect.any(Number));
			expect(job.sample_data[0]).toMatchObject({ name: 'Ada', title: 'Title of Ada' });
		});

		it('pages the final rows, in order, within the limit', async () => {
			const page = await json(await t.app.request(`/api/workflows/jobs/${jobId}/rows?offset=1&limit=1`));
			expect(page).toMatchObject({ offset: 1, limit: 1, total: 3 });
			expect(page.rows).toEqual([expect.objectContaining({ name: 'Grace', title: 'Title of Grace' })]);
			expect(page.columns).toEqual(['name', 'company', 'email', 'title', '_confidence', '_error']);
			const past = await json(await t.app.request(`/api/workflows/jobs/${jobId}/rows?offset=10`));
			expect(past.rows).toEqual([]);
		});

		it('downloads the final CSV as an attachment, formulas neutralised', async () => {
			const res = await t.app.request(`/api/workflows/jobs/${jobId}/download`);
			expect(res.status).toBe(200);
			// The name Save CSV's card shows ("Saves out.csv"), not the workflow's (issue 16: it was "Test-run-<id>.csv").
			expect(res.headers.get('content-disposition')).toBe('attachment; filename="out.csv"');
			const text = await res.text();
			const job = await getJob(jobId);
			expect(text).toBe(await readFile(join(t.dataDir, job.output_path!), 'utf8'));
			expect(text.split('\n')[0]).toBe('name,company,email,title,_confidence,_error');
			expect(text).toContain(`"'=HYPERLINK(""x"")"`);
		});

		it('downloads from the stored rows when the workflow has no save block', async () => {
			const started = await json(
				await run([read(), { id: 'few', type: 'filter', params: { column: 'company', operator: 'equals', value: 'Navy' } }])
			);
			const job = await waitForJob(() => getJob(started.job_id));
			expect(job.status).toBe('completed');
			expect(job.output_path).toBeNull();
			const text = await (await t.app.request(`/api/workflows/jobs/${started.job_id}/download`)).text();
			expect(text).toBe('name,company,email\nGrace,Navy,grace@navy.example\n');
		});

		it('honours row_limit', async () => {
			const started = await json(await run([read(), save], { row_limit: 2 }));
			expect(started.estimate.rows).toBe(2);
			const job = await waitForJob(() => getJob(started.job_id));
			expect(job.row_count).toBe(2);
		});

		it("lists history newest first, paged, to the operator's token", async () => {
			const page1 = await json(await t.app.request('/api/workflows/jobs?limit=2', asOperator));
			const page2 = await json(await t.app.request('/api/workflows/jobs?limit=2&offset=2', asOperator));
			expect(page1.total).toBe(3);
			expect(page1.jobs).toHaveLength(2);
			expect(page2.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([jobId]);
			const times = [...page1.jobs, ...page2.jobs].map((j: { created_at: string }) => j.created_at);
			expect([...times].sort().reverse()).toEqual(times);
		});

		it('lists to anyone else only the ids it names, newest first, paged among themselves', async () => {
			expect((await t.app.request('/api/workflows/jobs')).status).toBe(401);
			expect((await t.app.request('/api/workflows/jobs', { headers: { authorization: 'Bearer someone-else' } })).status).toBe(403);
			const all = (await json(await t.app.request('/api/workflows/jobs?limit=100', asOperator))).jobs.map(
				(j: { job_id: string }) => j.job_id
			);
			const named = [all[2], all[0]];
			const page = await json(await t.app.request(`/api/workflows/jobs?ids=${named.join(',')}&limit=1&offset=1`));
			expect(page).toMatchObject({ total: 2, offset: 1, limit: 1 });
			expect(page.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([all[2]]);
		});
	});

	describe('a job with long cells', () => {
		it('clips long cells in sample_data (a 2 MB cell is not resent on every poll), never in the rows', async () => {
			const long = 'x'.repeat(PREVIEW_CELL_CHARS * 5);
			const upload = await t.app.request('/api/workflows/upload', { method: 'POST', body: uploadForm(`name,notes\nAda,${long}\n`) });
			const started = await json(await run([{ id: 'read', type: 'read_csv', params: { path: (await upload.json()).file_path } }]));
			const job = await waitForJob(() => getJob(started.job_id));
			expect(job.status).toBe('completed');
			expect(String(job.sample_data[0]?.notes)).toHaveLength(PREVIEW_CELL_CHARS + 1);
			expect(String(job.sample_data[0]?.notes).endsWith('…')).toBe(true);
			const rows = await json(await t.app.request(`/api/workflows/jobs/${started.job_id}/rows`));
			expect(rows.rows[0].notes).toBe(long);
		});
	});

	describe('POST /api/workflows/estimate', () => {
		const estimate = async (blocks: unknown[], options?: unknown) =>
			json(
				await t.app.request('/api/workflows/estimate', {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ workflow: { blocks }, ...(options ? { options } : {}) })
				})
			);

		it.each([
			[
				'enrich (low tier) + professional emails',
				[enrich, { id: 'e', type: 'find_email', params: { only_missing: false } }],
				undefined,
				6,
				3 * 5 + 3 * 5
			],
			['personal emails cost 20 cents', [{ id: 'e', type: 'find_email', params: { mode: 'PERSONAL' } }], undefined, 3, 3 * 20],
			['a high tier costs more', [{ ...enrich, params: { ...enrich.params, tier: 'high' } }], undefined, 3, 3 * 20],
			['row_limit bounds every block', [enrich, { id: 'e', type: 'find_email', params: {} }], { row_limit: 1 }, 2, 10],
			['no API block costs nothing', [save], undefined, 0, 0]
		])('%s', async (_name, blocks, options, calls, cents) => {
			const before = (await t.jobStore.list({ offset: 0, limit: 1 })).total;
			const body = await estimate([read(), ...blocks], options);
			expect(body).toMatchObject({ max_calls: calls, max_cost_cents: cents });
			expect(body.assumptions.length).toBeGreaterThan(0);
			expect((await t.jobStore.list({ offset: 0, limit: 1 })).total).toBe(before);
		});

		it('has no bound after an enrich_company that finds people', async () => {
			const companies = 'company,website\nAcme,acme.example\nGlobex,globex.example\nInitech,initech.example\n';
			const up = await json(await t.app.request('/api/workflows/upload', { method: 'POST', body: uploadForm(companies) }));
			const body = await estimate([
				{ id: 'read', type: 'read_csv', params: { path: up.file_path } },
				{ id: 'co', type: 'enrich_company', params: { struct: {}, find_people: true } },
				{ id: 'e', type: 'find_email', params: {} }
			]);
			expect(body.error).toBeUndefined();
			expect(body.blocks[1]).toMatchObject({ max_calls: 3 });
			expect(body.blocks[2]).toMatchObject({ max_calls: null, max_cost_cents: null });
			expect(body.max_cost_cents).toBeNull();
		});
	});

	describe('queue, cancel and retry', () => {
		it('reports the rows in flight and not yet answered for the current block, with no ETA yet', async () => {
			gated.close();
			const started = await json(await run([read(), enrich]));
			await expect.poll(async () => (await getJob(started.job_id)).current_block_progress?.in_flight).toBe(3);
			const job = await getJob(started.job_id);
			expect(job.current_block).toBe('enrich');
			expect(job.current_block_progress).toMatchObject({ done: 0, answered: 0, in_flight: 3, requests: 0, eta_s: null });
			expect(job.results[1]).toMatchObject({ answered: 0, in_flight: 3, eta_s: null });
			gated.open();
			const done = await waitForJob(() => getJob(started.job_id));
			expect(done.results[1]).toMatchObject({ answered: 3, in_flight: 0 });
		});

		it('runs one job at a time (MAX_CONCURRENT_JOBS=1): the next waits pending, and cancels cleanly', async () => {
			gated.close();
			const first = await json(await run([read(), enrich, save]));
			const second = await json(await run([read(), enrich, save]));
			await expect.poll(async () => (await getJob(first.job_id)).status).toBe('running');
			expect((await getJob(second.job_id)).status).toBe('pending');

			// Where the waiting one stands (issue 16): next in line, behind the one run going now.
			const place = await json(await t.app.request(`/api/workflows/jobs/${second.job_id}/queue`));
			expect(place).toMatchObject({ waiting: true, ahead: 0, running: 1 });
			expect(place.wait_s === null || Number.isInteger(place.wait_s)).toBe(true);
			expect(await json(await t.app.request(`/api/workflows/jobs/${first.job_id}/queue`))).toMatchObject({
				waiting: false,
				ahead: 0
			});
			expect((await t.app.request('/api/workflows/jobs/not-a-job-id/queue')).status).toBe(404);

			const cancelledPending = await json(await t.app.request(`/api/workflows/jobs/${second.job_id}/cancel`, { method: 'POST' }));
			expect(cancelledPending.status).toBe('cancelled');

			const cancelledRunning = await json(await t.app.request(`/api/workflows/jobs/${first.job_id}/cancel`, { method: 'POST' }));
			expect(cancelledRunning.status).toBe('cancelled');
			expect(cancelledRunning.finished_at).not.toBeNull();
			// No save_csv output for a cancelled run; the download is refused for an unfinished job only.
			expect(cancelledRunning.output_path).toBeNull();

			// A second cancel changes nothing.
			const again = await json(await t.app.request(`/api/workflows/jobs/${first.job_id}/cancel`, { method: 'POST' }));
			expect(again.status).toBe('cancelled');
			// A finished job is no longer in the line.
			expect(await json(await t.app.request(`/api/workflows/jobs/${second.job_id}/queue`))).toMatchObject({
				waiting: false,
				running: 0
			});
		});

		it('retries a job as a new job over the same workflow, and refuses to retry a running one', async () => {
			gated.close();
			const blocked = await json(await run([read(), enrich, save]));
			await expect.poll(async () => (await getJob(blocked.job_id)).status).toBe('running');
			const refused = await t.app.request(`/api/workflows/jobs/${blocked.job_id}/retry`, { method: 'POST' });
			expect(refused.status).toBe(409);
			const download = await t.app.request(`/api/workflows/jobs/${blocked.job_id}/download`);
			expect(download.status).toBe(409);
			await t.app.request(`/api/workflows/jobs/${blocked.job_id}/cancel`, { method: 'POST' });

			gated.open();
			const retried = await json(await t.app.request(`/api/workflows/jobs/${blocked.job_id}/retry`, { method: 'POST' }));
			expect(retried.retry_of).toBe(blocked.job_id);
			const job = await waitForJob(() => getJob(retried.job_id));
			expect(job).toMatchObject({ status: 'completed', retry_of: blocked.job_id, row_count: 3 });
		});
	});

	describe('the download name (issue 16: it was the workflow name, not the one the card shows)', () => {
		it.each([
			{ filename: 'basic-enriched', format: undefined, header: 'attachment; filename="basic-enriched.csv"' },
			{ filename: 'My leads (final).CSV', format: undefined, header: 'attachment; filename="My leads (final).csv"' },
			{ filename: 'leads.csv', format: 'xlsx', header: 'attachment; filename="leads.xlsx"' },
			{
				filename: 'résumé 2024',
				format: undefined,
				header: `attachment; filename="r_sum_ 2024.csv"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.csv`
			}
		])('the download of $filename is named exactly as the card says and the server wrote it', async ({ filename, format, header }) => {
			gated.open();
			const save = {
				id: 'save',
				type: 'save_csv' as const,
				params: { filename, ...(format ? { format: format as 'csv' | 'xlsx' } : {}) }
			};
			const res = await run([read(), save]);
			expect(res.status).toBe(200);
			const { job_id } = await json(res);
			const job = await waitForJob(() => getJob(job_id));
			expect(job.status).toBe('completed');
			const shown = summarizeBlock(save).replace(/^Saves /, '');
			expect(basename(job.output_path!)).toBe(`${job_id}-${shown}`);
			const download = await t.app.request(`/api/workflows/jobs/${job_id}/download`);
			expect(download.headers.get('content-disposition')).toBe(header);
			expect(header).toContain(/^[ -~]*$/.test(shown) ? `filename="${shown}"` : `filename*=UTF-8''${encodeURIComponent(shown)}`);
			await download.arrayBuffer();
		});
	});
});
