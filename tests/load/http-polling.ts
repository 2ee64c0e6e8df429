/**
 * Load suite 3 — many browsers polling a job. N clients (quick: fewer) each loop over
 * `GET /api/workflows/jobs/:id` and `GET /api/workflows/jobs/:id/rows?offset=…&limit=100` with a
 * short pause, over keep-alive connections, while the job runs (paced by the key's rate limit so it
 * lasts most of the phase) and after it has finished. The server runs in its own process.
 *
 * Checked: no errors (every answer 200 and well-formed), every page of rows is the right rows (row
 * `offset + i` is lead `offset + i`), and p99 latency per route; reported beside them: requests/s,
 * the share of polls that saw the job running, and the job's own rows/s while being polled.
 * Runnable alone: `npx tsx tests/load/http-polling.ts [--quick]`.
 */
import { setParam } from '../../src/lib/workflow/doc';
import {
	atLeast,
	atMost,
	isMain,
	latencySummary,
	markdownTable,
	percent,
	round1,
	runFromCommandLine,
	sleep,
	speedFigure,
	type LoadReport
} from './measure';
import { leadName, leadsCsv } from '../helpers/leads-csv';
import { startStack } from './stack';

export interface HttpPollingOptions {
	quick: boolean;
}

interface Settings {
	clients: number;
	durationMs: number;
	/** Each client's pause between two rounds (a round = status + one page of rows). */
	thinkMs: number;
	/** The job's pace: the key's requests/min (one request per row, sync enrich). */
	ratePerMinute: number;
	rows: number;
	pageSize: number;
}

/** The job is sized to run for about three quarters of the polling phase at the key's pace. */
const FULL: Settings = { clients: 50, durationMs: 60_000, thinkMs: 100, ratePerMinute: 6_000, rows: 4_500, pageSize: 100 };
const QUICK: Settings = { clients: 20, durationMs: 12_000, thinkMs: 100, ratePerMinute: 6_000, rows: 900, pageSize: 100 };

/**
 * A progress bar polling once a second must never get its answer after its next poll is due:
 * p99 ≤ 1 s per route, on a 2-core machine shared with the running job and the pollers.
 */
export const HTTP_POLLING_BOUNDS = { p99Ms: 1_000 };

interface Sample {
	route: 'status' | 'rows';
	ms: number;
}

export async function runHttpPolling(options: HttpPollingOptions): Promise<LoadReport> {
	const s = options.quick ? QUICK : FULL;
	const stack = await startStack({
		simulatorArgs: ['--latency-ms', '20'],
		env: { SIXTYFOUR_RATE_LIMIT_PER_MIN: String(s.ratePerMinute) }
	});
	try {
		const workflow = await stack.createWorkflow({
			name: 'Polled',
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: 'uploads/pending.csv' } },
				{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Current job title' } } }
			]
		});
		const path = await stack.upload(workflow, leadsCsv(s.rows));
		await stack.edit(
			workflow,
			(doc) => setParam(doc, 'read', 'path', path),
			(snapshot) => (snapshot.blocks[0]?.params as { path?: string } | undefined)?.path === path
		);
		const jobId = await stack.run(workflow);
		const token = workflow.edit_token;
		const headers = { accept: 'application/json', authorization: `Bearer ${token}` };

		const samples: Sample[] = [];
		const errors: string[] = [];
		let wrongRows = 0;
		let sawRunning = 0;
		let statusPolls = 0;
		const started = performance.now();
		const until = started + s.durationMs;
		let finishedAt: number | null = null;

		async function timed(route: Sample['route'], url: string): Promise<unknown> {
			const t0 = performance.now();
			let res: Response;
			try {
				res = await fetch(`${stack.url}${url}`, { headers });
			} catch (err) {
				errors.push(`${route}: ${(err as Error).message}`);
				return null;
			}
			const text = await res.text();
			samples.push({ route, ms: performance.now() - t0 });
			if (res.status !== 200) {
				errors.push(`${route}: ${res.status} ${text.slice(0, 120)}`);
				return null;
			}
			try {
				return JSON.parse(text) as unknown;
			} catch {
				errors.push(`${route}: unreadable JSON`);
				return null;
			}
		}

		async function poller(): Promise<void> {
			while (performance.now() < until) {
				const job = (await timed('status', `/api/workflows/jobs/${jobId}`)) as { status?: string } | null;
				if (job) {
					statusPolls++;
					if (job.status === 'running' || job.status === 'pending') sawRunning++;
					else if (finishedAt === null) finishedAt = performance.now();
				}
				const offset = Math.floor(Math.random() * s.rows);
				const page = (await timed('rows', `/api/workflows/jobs/${jobId}/rows?offset=${offset}&limit=${s.pageSize}`)) as {
					rows?: { name?: unknown }[];
				} | null;
				if (page) {
					if (!Array.isArray(page.rows)) errors.push('rows: no rows array');
					else page.rows.forEach((row, i) => void (row.name !== leadName(offset + i) && wrongRows++));
				}
				await sleep(s.thinkMs);
			}
		}
		await Promise.all(Array.from({ length: s.clients }, () => poller()));
		const seconds = (performance.now() - started) / 1000;
		const final = await stack.job(jobId, token);

		const status = latencySummary(samples.filter((x) => x.route === 'status').map((x) => x.ms));
		const rows = latencySummary(samples.filter((x) => x.route === 'rows').map((x) => x.ms));
		const jobSeconds = finishedAt === null ? null : (finishedAt - started) / 1000;
		const markdown = [
			markdownTable(
				['clients', 'seconds', 'requests', 'req/s', 'route', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'polls that saw it running'],
				[
					[
						s.clients,
						round1(seconds),
						samples.length,
						round1(samples.length / seconds),
						'GET /jobs/:id',
						status.p50,
						status.p99,
						status.max,
						errors.filter((e) => e.startsWith('status')).length,
						percent(sawRunning / Math.max(1, statusPolls))
					],
					[
						'',
						'',
						'',
						'',
						'GET /jobs/:id/rows',
						rows.p50,
						rows.p99,
						rows.max,
						errors.filter((e) => e.startsWith('rows')).length,
						''
					]
				]
			),
			'',
			`Each client polls the job's status, then one page of ${s.pageSize} rows at a random offset, then pauses ${s.thinkMs} ms, over keep-alive ` +
				`connections. The polled job enriches ${s.rows} rows paced by a ${s.ratePerMinute}/min key: ` +
				(jobSeconds === null
					? `it was still ${final.status} when polling stopped.`
					: `it finished after ${round1(jobSeconds)} s (${round1(s.rows / jobSeconds)} rows/s under polling, pace ${s.ratePerMinute / 60}/s).`) +
				(errors.length ? ` First error: ${errors[0]}.` : '')
		].join('\n');
		const checks = [
			atMost('errors (non-200, network, unreadable)', errors.length, 0),
			atMost('rows on the wrong page', wrongRows, 0),
			atLeast('polls made', samples.length, s.clients * 10),
			speedFigure(atMost('GET /jobs/:id p99 (ms)', status.p99, HTTP_POLLING_BOUNDS.p99Ms)),
			speedFigure(atMost('GET /jobs/:id/rows p99 (ms)', rows.p99, HTTP_POLLING_BOUNDS.p99Ms)),
			{
				name: 'polled while running and after',
				value: `${sawRunning} / ${statusPolls - sawRunning}`,
				bound: 'both > 0',
				ok: sawRunning > 0 && statusPolls - sawRunning > 0
			},
			{ name: 'the job completed with every row', value: `${final.status}`, bound: 'completed', ok: final.status === 'completed' }
		];
		return { title: `HTTP polling (${s.clients} clients, ${s.durationMs / 1000} s)`, markdown, checks };
	} finally {
		await stack.close();
	}
}

if (isMain(import.meta.url)) runFromCommandLine(runHttpPolling);
