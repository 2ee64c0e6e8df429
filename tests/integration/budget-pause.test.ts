/**
 * The budget inside a run, through the job manager and the real engine: with many rows in flight,
 * calls start only while the budget has room for their price; at the limit the job starts no new
 * call, lets those in flight finish (paid for, so their answers are kept), and then pauses.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as v from 'valibot';
import { createJobManager } from '../../server/jobs/job-manager';
import { createSpendBudget } from '../../server/jobs/spend-budget';
import { runJob } from '../../server/engine/run-job';
import { createLogger } from '../../server/log';
import { openDatabase } from '../../server/store/db';
import { createSqliteJobStore } from '../../server/store/sqlite-job-store';
import { createSqliteSpendLedger } from '../../server/store/spend-ledger';
import type { EnrichmentService } from '../../server/enrichment/types';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { makeTempDir } from '../helpers/temp-dir';
import { RUNNERS } from '../../server/blocks';

describe('a job at its spend limit', () => {
	it.each([
		// limit, rows in flight per block, the charge per call → paid calls before the pause
		{ limit: 20, concurrency: 8, charge: 5, calls: 4 },
		{ limit: 20, concurrency: 1, charge: 5, calls: 4 },
		{ limit: 22, concurrency: 8, charge: 5, calls: 4 },
		// The API charges more than the price list assumed: calls already admitted still finish.
		{ limit: 20, concurrency: 8, charge: 10, calls: 4 },
		{ limit: 20, concurrency: 1, charge: 10, calls: 2 }
	])(
		'limit $limit¢, $concurrency in flight, $charge¢ a call: $calls paid calls, none cut off, then paused',
		async ({ limit, concurrency, charge, calls }) => {
			const temp = await makeTempDir();
			await writeLeadsCsv(join(temp.dir, 'uploads', 'leads.csv'), 12);
			const db = openDatabase(join(temp.dir, 'app.db'));
			const store = createSqliteJobStore(db);
			const budget = createSpendBudget({
				ledger: createSqliteSpendLedger(db),
				limits: { serverCentsPerDay: 0, workflowCentsPerDay: limit }
			});
			let made = 0;
			let aborted = 0;
			let inFlight = 0;
			let peak = 0;
			const enrichment: EnrichmentService = {
				enrichLead: () => Promise.reject(new Error('not used')),
				enrichCompany: () => Promise.reject(new Error('not used')),
				findPhone: () => Promise.reject(new Error('not used')),
				async findEmail(_request, { signal, meter }) {
					made++;
					peak = Math.max(peak, ++inFlight);
					try {
						// Answers take a few turns of the event loop, so admitted calls overlap.
						for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 1));
						if (signal.aborted) aborted++;
						meter.calls++;
						meter.costCents += charge;
						return {
							email: [{ address: 'a@b.example', status: 'OK', type: 'COMPANY' }],
							personal_email: null,
							cost_cents: null
						};
					} finally {
						inFlight--;
					}
				}
			};
			const jobs = createJobManager({
				store,
				dataDir: temp.dir,
				enrichment,
				budget,
				logger: createLogger({ level: 'silent' }),
				maxConcurrentJobs: 1,
				runJob,
				runners: RUNNERS
			});
			try {
				const workflow = v.parse(WorkflowSchema, {
					blocks: [
						{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
						{ id: 'email', type: 'find_email', params: { mode: 'PROFESSIONAL', only_missing: false } }
					]
				});
				const job = await jobs.submit({ workflow, options: { concurrency }, workflowId: 'w1' });
				const settled = await jobs.settled(job.id);
				expect(settled).toMatchObject({ status: 'paused', owner: 'w1' });
				expect(settled!.error).toMatch(/^Paused at the spend limit\. This workflow's daily spend limit is \$0\.2\d: /);
				expect(made).toBe(calls);
				expect(aborted).toBe(0);
				expect(peak).toBeLessThanOrEqual(Math.floor(limit / 5));
				expect(budget.status('w1').workflow.spent_cents).toBe(calls * charge);
			} finally {
				await jobs.shutdown();
				db.close();
				await temp.cleanup();
			}
		}
	);
});
