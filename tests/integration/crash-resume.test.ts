/**
 * Crash safety, end to end: a server process killed with SIGKILL halfway through a 1,000-row
 * enrichment job resumes it on its next start; the CSV equals an uninterrupted run's; and the
 * simulator's paid counters show that no row answered before the kill was paid for again (only
 * calls in flight at the kill may repeat). Also: SIGTERM checkpoints a running job and exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import type { JobProgress } from '../../server/jobs/job-progress';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { spawnServer, startTestServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const ROWS = 1_000;
/** Rows in flight per API block: the most calls that can be in flight at a kill is 2 × this. */
const CONCURRENCY = 40;
const IN_FLIGHT_BOUND = 2 * CONCURRENCY;
/** The simulator answers in ~60 ms: poll first near that, not at the client's 2 s default. */
const FAST_POLLING = { SIXTYFOUR_POLL_INITIAL_MS: '80' };

let sim: RunningSimulator;
const temps: TempDir[] = [];
const children: ServerProcess[] = [];

beforeAll(async () => {
	// Enrichment and find-email take 60–100 ms; submits and polls are quick, as on the real API.
	sim = await startSimulator({
		latency: { default: { medianMs: 60, p99Ms: 100 }, async_submit: { medianMs: 5, p99Ms: 10 }, job_status: { medianMs: 5, p99Ms: 10 } }
	});
});
afterAll(async () => {
	for (const p of children) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
	await Promise.all(children.map((p) => p.exited));
	await sim?.close();
	for (const t of temps) await t.cleanup();
});

/** A data dir whose `uploads/leads.csv` holds `rows` leads. */
async function dataDirWithLeads(rows = ROWS): Promise<string> {
	const temp = await makeTempDir('leadflow-crash-');
	temps.push(temp);
	await writeLeadsCsv(join(temp.dir, 'uploads', 'leads.csv'), rows);
	return temp.dir;
}

const workflow = {
	name: 'Crash test',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{
			id: 'enrich',
			type: 'enrich_lead',
			params: { struct: { title: 'Current job title', is_american_education: { description: 'US undergrad', type: 'bool' } } }
		},
		{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } },
		{ id: 'save', type: 'save_csv', params: { filename: 'crash' } }
	]
};

function client(url: string) {
	const api = (path: string, init?: RequestInit) => fetch(`${url}/api/workflows${path}`, init);
	return {
		async run(): Promise<string> {
			const res = await api('/run', {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ workflow, options: { concurrency: CONCURRENCY } })
			});
			expect(res.status).toBe(200);
			return (await res.json()).job_id;
		},
		job: async (id: string) => (await (await api(`/jobs/${id}`)).json()) as JobProgress,
		download: async (id: string) => (await api(`/jobs/${id}/download`)).text(),
		async waitFor(id: string, done: (job: JobProgress) => boolean, timeoutMs = 60_000): Promise<JobProgress> {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const job = await this.job(id);
				if (done(job)) return job;
				if (['failed', 'cancelled'].includes(job.status)) throw new Error(`job ${job.status}: ${job.error}`);
				if (Date.now() > deadline) throw new Error(`timed out; job is ${job.status}`);
				await new Promise((r) => setTimeout(r, 40));
			}
		}
	};
}

const rowsSaved = (job: JobProgress) => job.results.find((r) => r.block_id === 'save')?.rows_out ?? 0;

describe('a server killed mid-job', () => {
	let interruptedCsv = '';

	it('SIGKILL halfway → restart → the job resumes, completes, and nothing answered is paid twice', async () => {
		const dataDir = await dataDirWithLeads();
		const env = testServerEnv(dataDir, sim.url, FAST_POLLING);
		const baseline = sim.stats();

		const first = await spawnServer(env);
		children.push(first);
		const jobId = await client(first.url).run();
		const before = await client(first.url).waitFor(jobId, (job) => rowsSaved(job) >= ROWS / 2);
		expect(before.status).toBe('running');
		const atKill = sim.stats();
		first.child.kill('SIGKILL');
		expect((await first.exited).signal).toBe('SIGKILL');

		// The kill really happened mid-run: some rows were paid, far from all of them.
		const paidBeforeKill = atKill.paid_answers - baseline.paid_answers;
		expect(paidBeforeKill).toBeGreaterThanOrEqual(ROWS);
		expect(paidBeforeKill).toBeLessThan(2 * ROWS - IN_FLIGHT_BOUND);

		const second = await spawnServer(env);
		children.push(second);
		const done = await client(second.url).waitFor(jobId, (job) => job.status === 'completed');
		expect(second.lines.some((l) => l.includes('resuming unfinished job') && l.includes(jobId))).toBe(true);
		expect(done.row_count).toBe(ROWS);
		expect(done.results.map((r) => r.rows_out)).toEqual([ROWS, ROWS, ROWS, ROWS]);
		interruptedCsv = await client(second.url).download(jobId);

		const after = sim.stats();
		const duplicates = after.duplicates_paid - baseline.duplicates_paid;
		expect(duplicates).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
		// Every row paid once per API block, plus at most the calls in flight at the kill.
		expect(after.paid_answers - baseline.paid_answers).toBe(2 * ROWS + duplicates);

		second.child.kill('SIGTERM');
		expect((await second.exited).code).toBe(0);
	});

	it('the resumed CSV equals an uninterrupted run', async () => {
		expect(interruptedCsv.split('\n').length).toBe(ROWS + 2);
		const dataDir = await dataDirWithLeads();
		const server = await startTestServer(testServerEnv(dataDir, sim.url, FAST_POLLING));
		try {
			const api = client(server.url);
			const jobId = await api.run();
			await api.waitFor(jobId, (job) => job.status === 'completed');
			expect(await api.download(jobId)).toBe(interruptedCsv);
		} finally {
			await server.close();
		}
	});
});

describe('a server stopped with SIGTERM mid-job', () => {
	it('exits 0, leaves the job to resume, and the restart finishes it', async () => {
		sim.reset(); // counters from zero: the runs above paid for these same leads
		const rows = 300;
		const dataDir = await dataDirWithLeads(rows);
		const env = testServerEnv(dataDir, sim.url, FAST_POLLING);
		const first = await spawnServer(env);
		children.push(first);
		const jobId = await client(first.url).run();
		await client(first.url).waitFor(jobId, (job) => rowsSaved(job) >= rows / 3);
		const baseline = sim.stats();
		first.child.kill('SIGTERM');
		expect((await first.exited).code).toBe(0);
		expect(first.lines.some((l) => l.includes('job checkpointed for resume'))).toBe(true);

		const second = await spawnServer(env);
		children.push(second);
		const done = await client(second.url).waitFor(jobId, (job) => job.status === 'completed');
		expect(done.row_count).toBe(rows);
		expect(sim.stats().duplicates_paid - baseline.duplicates_paid).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
		second.child.kill('SIGTERM');
		expect((await second.exited).code).toBe(0);
	});
});
