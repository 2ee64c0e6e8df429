/**
 * Crash safety with webhooks (PUBLIC_URL set): a server SIGKILLed after submitting its async tasks
 * but before their webhooks came resumes on restart by polling each unfinished task once — it
 * submits nothing again, pays nothing twice, and the webhooks sent to the dead process's secret
 * path are simply refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import type { JobProgress } from '../../server/jobs/job-progress';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { spawnServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const ROWS = 40;
let sim: RunningSimulator;
let temp: TempDir;
const children: ServerProcess[] = [];

beforeAll(async () => {
	// Long enough that the kill lands between every submit and its webhook.
	sim = await startSimulator({
		latency: { enrich_lead: { medianMs: 2_500, p99Ms: 3_000 }, async_submit: { medianMs: 5 }, job_status: { medianMs: 5 } },
		webhookRetryMs: 50
	});
	temp = await makeTempDir('leadflow-crash-hooks-');
	await writeLeadsCsv(join(temp.dir, 'uploads', 'leads.csv'), ROWS);
});
afterAll(async () => {
	for (const p of children) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
	await Promise.all(children.map((p) => p.exited));
	await sim?.close();
	await temp?.cleanup();
});

const workflow = {
	name: 'Crash with webhooks',
	blocks: [
		{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
		{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Current job title' } } }
	]
};

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await read();
		if (done(value)) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

describe('a server with PUBLIC_URL killed between submit and webhook', () => {
	it('resumes by polling every unfinished task once: nothing submitted or paid twice, rows complete', async () => {
		const port = await freePort();
		const env = testServerEnv(temp.dir, sim.url, {
			PORT: String(port),
			PUBLIC_URL: `http://127.0.0.1:${port}`,
			SIXTYFOUR_POLL_INITIAL_MS: '2500'
		});
		const first = await spawnServer(env);
		children.push(first);
		const api = (url: string, path: string, init?: RequestInit) => fetch(`${url}/api/workflows${path}`, init);
		const started = await api(first.url, '/run', {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ workflow, options: { concurrency: ROWS } })
		});
		expect(started.status).toBe(200);
		const jobId = ((await started.json()) as { job_id: string }).job_id;

		// Every task submitted with a webhook_url and checkpointed, none delivered yet: kill.
		const db = new Database(join(temp.dir, 'app.db'), { readonly: true, fileMustExist: true });
		const checkpointed = () => (db.prepare('SELECT count(*) AS n FROM pending_tasks').get() as { n: number }).n;
		await waitFor(
			async () => checkpointed(),
			(n) => n >= ROWS,
			'every task id checkpointed'
		);
		db.close();
		const atKill = sim.stats();
		expect(atKill.jobs.submitted).toBe(ROWS);
		expect(atKill.webhooks.scheduled).toBe(ROWS);
		expect(atKill.webhooks.delivered).toBe(0);
		first.child.kill('SIGKILL');
		expect((await first.exited).signal).toBe('SIGKILL');

		const second = await spawnServer(env);
		children.push(second);
		const done = await waitFor(
			async () => (await (await api(second.url, `/jobs/${jobId}`)).json()) as JobProgress,
			(job) => job.status === 'completed' || job.status === 'failed',
			'the resumed job'
		);
		expect(done.status).toBe('completed');
		expect(done.results.map((r) => r.rows_out)).toEqual([ROWS, ROWS]);
		expect(done.results[1]?.errors).toBe(0);

		const after = sim.stats();
		expect(after.jobs.submitted).toBe(ROWS); // resumed, not submitted again
		expect(after.duplicates_paid).toBe(0);
		expect(after.paid_answers).toBe(ROWS);
		expect(after.calls['/job-status'] ?? 0).toBeGreaterThanOrEqual(ROWS); // each task polled after the restart
		expect(after.webhooks.delivered).toBe(0); // the dead process's secret path is refused by the new one
		second.child.kill('SIGTERM');
		expect((await second.exited).code).toBe(0);
	}, 120_000);
});
