/**
 * Benchmark — live progress fan-out. A 10,000-row read_csv → enrich_lead → save_csv job runs
 * against a zero-latency simulator (its own process) while its events go through the live hub on a
 * real loopback port; 100 `ws` subscribers (another process, as browsers would be) watch it. The
 * figures: messages and progress messages per client per second, and the job's slow-down against
 * the same job with no subscribers (target ≤ 5%). Runs alternate (ABBA) so drift hits both sides.
 * Runnable alone: `npx tsx tests/bench/fanout.ts [rows] [subscribers] [rounds]`.
 */
import { RUNNERS } from '../../server/blocks';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import * as v from 'valibot';
import { WebSocket } from 'ws';
import { runJob } from '../../server/engine/run-job';
import { createEnrichmentService } from '../../server/enrichment/service';
import { createLiveHub, type LiveHubStats } from '../../server/live/live-hub';
import { openDatabase } from '../../server/store/db';
import { createSqliteWorkflowsRepo } from '../../server/store/workflows-repo';
import { WorkflowSchema } from '../../src/lib/workflow/schema';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { makeTempDir } from '../helpers/temp-dir';
import { spawnSimulator } from './sim-process';

export const FANOUT_SLOWDOWN_TARGET = 0.05;

export interface FanoutOptions {
	rows?: number;
	subscribers?: number;
	/** Pairs of runs (with and without subscribers), after one warm-up run. */
	rounds?: number;
}

export interface FanoutResult {
	rows: number;
	subscribers: number;
	rounds: number;
	/** Job wall times (s) without and with subscribers, and their medians. */
	alone: number[];
	watched: number[];
	medianAloneSeconds: number;
	medianWatchedSeconds: number;
	/** medianWatched / medianAlone − 1 (negative = noise in the other direction). */
	slowdown: number;
	/**
	 * The same ratio for the CPU time this process spent during the job: on a shared machine the
	 * wall time is noisy; the CPU the hub adds (serialising, sending) is what subscribers cost.
	 */
	cpuSlowdown: number;
	target: number;
	meetsTarget: boolean;
	/** Per client, over the watched runs: all messages, and `block_progress` alone. */
	messagesPerClientPerSecond: number;
	progressPerClientPerSecond: number;
	/** The busiest client's progress rate for the busiest job second (coalescing bound: ≤ 10). */
	maxProgressPerClientPerSecond: number;
	/** Every subscriber saw the job finish. */
	allClientsFinished: boolean;
	/** CPU the 100 subscribers themselves burnt per watched run (on this machine, not the server's). */
	subscribersCpuSeconds: number;
	hub: LiveHubStats;
}

interface ClientsReport {
	clients: number;
	finished: number;
	messages: number[];
	progress: number[];
	/** Per client, the most progress messages seen within any one second. */
	maxProgressInASecond: number[];
	/** CPU time of the subscribers' process (it shares the machine with the job). */
	cpuSeconds: number;
}

/** Runs the benchmark; prints nothing (the caller does). */
export async function benchFanout(options: FanoutOptions = {}): Promise<FanoutResult> {
	const rows = options.rows ?? 10_000;
	const subscribers = options.subscribers ?? 100;
	const rounds = options.rounds ?? 3;
	const temp = await makeTempDir('leadflow-fanout-');
	const sim = await spawnSimulator(['--latency-ms', '0']);
	const db = openDatabase(join(temp.dir, 'app.db'));
	const workflows = createSqliteWorkflowsRepo(db);
	const hub = createLiveHub({ authorize: (id, token) => workflows.authorize(id, token), loadSnapshot: async () => [] });
	const server = createServer((_req, res) => res.writeHead(404).end());
	server.on('upgrade', (req, socket, head) => {
		if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const origin = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
	await writeLeadsCsv(join(temp.dir, 'uploads', 'leads.csv'), rows);
	const workflow = v.parse(WorkflowSchema, {
		name: 'Fan-out',
		blocks: [
			{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
			{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Current job title' } } },
			{ id: 'save', type: 'save_csv', params: { filename: 'fanout' } }
		]
	});

	let run = 0;
	/** One job; with `watchers` subscribers connected before it starts. */
	async function runOnce(watchers: number): Promise<{ seconds: number; cpuSeconds: number; report: ClientsReport | null }> {
		const n = ++run;
		const shared = await workflows.create({ name: `fanout ${n}` });
		const clients = watchers > 0 ? await spawnClients(`${origin}/live/${shared.id}?token=${shared.viewToken}`, watchers) : null;
		// A fresh cache and API key per run: every run pays for every row, none is served from memory.
		const runDb = openDatabase(':memory:');
		const enrichment = createEnrichmentService({
			apiKey: `fanout-${n}`,
			baseUrl: sim.url,
			db: runDb,
			rateLimitPerMinute: 100_000_000,
			maxInFlight: 256,
			asyncMode: { enrichLead: false }
		});
		const jobId = `fanout-${n}`;
		try {
			hub.publish(shared.id, { type: 'job_created', job_id: jobId, at: Date.now(), workflow_id: shared.id, retry_of: null });
			const started = performance.now();
			const cpu = process.cpuUsage();
			const result = await runJob({
				runners: RUNNERS,
				jobId,
				workflow,
				options: { concurrency: 128 },
				dataDir: temp.dir,
				enrichment,
				onEvent: (event) => hub.publish(shared.id, event)
			});
			const seconds = (performance.now() - started) / 1000;
			const used = process.cpuUsage(cpu);
			const cpuSeconds = (used.user + used.system) / 1e6;
			if (result.status !== 'completed') throw new Error(`fan-out job ${result.status}: ${result.error}`);
			return { seconds, cpuSeconds, report: clients ? await clients.done : null };
		} finally {
			runDb.close();
			clients?.kill();
		}
	}

	try {
		await runOnce(0); // warm-up: JIT, file cache, simulator connections
		const alone: number[] = [];
		const watched: number[] = [];
		const cpuAlone: number[] = [];
		const cpuWatched: number[] = [];
		const reports: { seconds: number; report: ClientsReport }[] = [];
		for (let r = 0; r < rounds; r++) {
			const order = r % 2 === 0 ? [0, subscribers] : [subscribers, 0];
			for (const watchers of order) {
				const { seconds, cpuSeconds, report } = await runOnce(watchers);
				if (report) {
					watched.push(seconds);
					cpuWatched.push(cpuSeconds);
					reports.push({ seconds, report });
				} else {
					alone.push(seconds);
					cpuAlone.push(cpuSeconds);
				}
			}
		}
		const medianAlone = median(alone);
		const medianWatched = median(watched);
		const slowdown = medianWatched / medianAlone - 1;
		const perClient = (pick: (r: ClientsReport) => number[]) =>
			mean(reports.map(({ seconds, report }) => mean(pick(report)) / seconds));
		return {
			rows,
			subscribers,
			rounds,
			alone: alone.map(round2),
			watched: watched.map(round2),
			medianAloneSeconds: round2(medianAlone),
			medianWatchedSeconds: round2(medianWatched),
			slowdown: Math.round(slowdown * 1000) / 1000,
			cpuSlowdown: Math.round((median(cpuWatched) / median(cpuAlone) - 1) * 1000) / 1000,
			target: FANOUT_SLOWDOWN_TARGET,
			meetsTarget: slowdown <= FANOUT_SLOWDOWN_TARGET,
			messagesPerClientPerSecond: round2(perClient((r) => r.messages)),
			progressPerClientPerSecond: round2(perClient((r) => r.progress)),
			maxProgressPerClientPerSecond: Math.max(...reports.flatMap(({ report }) => report.maxProgressInASecond)),
			allClientsFinished: reports.every(({ report }) => report.finished === report.clients),
			subscribersCpuSeconds: round2(mean(reports.map(({ report }) => report.cpuSeconds))),
			hub: hub.stats()
		};
	} finally {
		await hub.close();
		server.closeAllConnections();
		await new Promise<void>((resolve) => server.close(() => resolve()));
		db.close();
		await sim.close();
		await temp.cleanup();
	}
}

/** Starts `count` subscribers in a child process; resolves once all have their snapshot. */
async function spawnClients(url: string, count: number): Promise<{ done: Promise<ClientsReport>; kill(): void }> {
	const child = spawn(process.execPath, ['--import', 'tsx', 'tests/bench/fanout.ts', '--clients', url, String(count)], {
		stdio: ['ignore', 'pipe', 'inherit']
	});
	const lines = createInterface({ input: child.stdout! });
	let resolveDone!: (r: ClientsReport) => void;
	let rejectDone!: (e: Error) => void;
	const done = new Promise<ClientsReport>((resolve, reject) => ((resolveDone = resolve), (rejectDone = reject)));
	const ready = new Promise<void>((resolve, reject) => {
		child.once('exit', (code) => {
			const error = new Error(`fan-out clients exited with ${code}`);
			reject(error);
			rejectDone(error);
		});
		lines.on('line', (line) => {
			if (line === 'ready') resolve();
			else if (line.startsWith('{')) resolveDone(JSON.parse(line) as ClientsReport);
		});
	});
	await ready;
	return { done, kill: () => child.exitCode === null && child.kill('SIGTERM') };
}

/** The child process: `count` subscribers that count what they get until the job finishes. */
async function runClients(url: string, count: number): Promise<void> {
	const messages = new Array<number>(count).fill(0);
	const progress = new Array<number>(count).fill(0);
	const progressTimes: number[][] = Array.from({ length: count }, () => []);
	let snapshots = 0;
	let finished = 0;
	const sockets: WebSocket[] = [];
	for (let i = 0; i < count; i++) {
		const ws = new WebSocket(url);
		sockets.push(ws);
		ws.on('message', (data) => {
			messages[i]++;
			const type = (JSON.parse(String(data)) as { type: string }).type;
			if (type === 'snapshot' && ++snapshots === count) console.log('ready');
			if (type === 'block_progress') {
				progress[i]++;
				progressTimes[i].push(Date.now());
			}
			if (type === 'job_finished' && ++finished === count) report();
		});
		ws.on('error', (err) => {
			console.error(`subscriber ${i}: ${err.message}`);
			process.exit(1);
		});
	}
	function report() {
		const maxProgressInASecond = progressTimes.map((times) => {
			let best = 0;
			for (let a = 0, b = 0; b < times.length; b++) {
				while (times[b] - times[a] >= 1_000) a++;
				best = Math.max(best, b - a + 1);
			}
			return best;
		});
		const cpu = process.cpuUsage();
		const cpuSeconds = (cpu.user + cpu.system) / 1e6;
		console.log(
			JSON.stringify({ clients: count, finished, messages, progress, maxProgressInASecond, cpuSeconds } satisfies ClientsReport)
		);
		for (const ws of sockets) ws.terminate();
		process.exit(0);
	}
}

/** The result as a Markdown table (for `npm run bench`). */
export function formatFanout(r: FanoutResult): string {
	const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
	return [
		"| subscribers | rows | job alone (s) | job watched (s) | slow-down (wall) | slow-down (job CPU) | msgs/client/s | progress/client/s | max progress in 1 s | subscribers' CPU (s) | all finished |",
		'|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
		`| ${r.subscribers} | ${r.rows} | ${r.medianAloneSeconds} | ${r.medianWatchedSeconds} | ${pct(r.slowdown)} | ${pct(r.cpuSlowdown)} | ${r.messagesPerClientPerSecond} | ${r.progressPerClientPerSecond} | ${r.maxProgressPerClientPerSecond} | ${r.subscribersCpuSeconds} | ${r.allClientsFinished ? 'yes' : 'NO'} |`,
		'',
		`Target: slow-down ≤ ${pct(r.target)} — ${r.meetsTarget ? 'met' : 'not met'} on wall time (medians of ${r.rounds} ABBA rounds; ` +
			'the subscribers run in their own process on the same machine, so on few cores they compete with the job for CPU).'
	].join('\n');
}

const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const round2 = (x: number) => Math.round(x * 100) / 100;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	if (process.argv[2] === '--clients') {
		await runClients(process.argv[3], Number(process.argv[4]));
	} else {
		const [rows, subscribers, rounds] = process.argv.slice(2).map(Number);
		const r = await benchFanout({ rows: rows || undefined, subscribers: subscribers || undefined, rounds: rounds || undefined });
		console.log(
			`fan-out: ${r.subscribers} subscribers on a ${r.rows}-row job: ${r.messagesPerClientPerSecond} messages ` +
				`(${r.progressPerClientPerSecond} progress) per client per second, at most ${r.maxProgressPerClientPerSecond} progress in any second; ` +
				`job ${r.medianAloneSeconds} s alone vs ${r.medianWatchedSeconds} s watched → slow-down ${(r.slowdown * 100).toFixed(1)}% (CPU ${(r.cpuSlowdown * 100).toFixed(1)}%) ` +
				`(target ≤ ${r.target * 100}%: ${r.meetsTarget ? 'met' : 'NOT met'})`
		);
		console.log(JSON.stringify(r, null, 2));
	}
}
