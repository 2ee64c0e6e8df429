/**
 * A scale-out fleet for the multi-process suites: web and worker processes (`tsx server/index.ts`
 * with ROLE, REDIS_URL, DATABASE_URL and one shared DATA_DIR), a client of the runs API, and Redis
 * chores (killing one db's client connections as a stand-in for a Redis restart).
 */
import { Redis } from 'ioredis';
import type { JobProgress } from '../../server/jobs/job-progress';
import { spawnServer, testServerEnv, type ServerProcess } from './server';

export interface FleetOptions {
	dataDir: string;
	redisUrl: string;
	databaseUrl: string;
	/** The simulator every process calls (one API key: `test-key`). */
	simulatorUrl: string;
	/** More environment for every process. */
	env?: Record<string, string>;
}

export interface Fleet {
	processes: ServerProcess[];
	start(role: 'web' | 'worker' | 'all', env?: Record<string, string>): Promise<ServerProcess>;
	/** SIGKILLs whatever is still running. */
	kill(): Promise<void>;
}

export function createFleet(options: FleetOptions): Fleet {
	const processes: ServerProcess[] = [];
	return {
		processes,
		async start(role, env = {}) {
			const proc = await spawnServer(
				testServerEnv(options.dataDir, options.simulatorUrl, {
					ROLE: role,
					REDIS_URL: options.redisUrl,
					DATABASE_URL: options.databaseUrl,
					...options.env,
					...env
				}),
				120_000
			);
			processes.push(proc);
			return proc;
		},
		async kill() {
			for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
			await Promise.all(processes.map((p) => p.exited));
		}
	};
}

/** The runs API of one web process. */
export function runsClient(url: string) {
	const api = (path: string, init?: RequestInit) => fetch(`${url}/api/workflows${path}`, init);
	const post = (path: string, body?: unknown) =>
		api(path, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
	return {
		api,
		post,
		async run(workflow: unknown, options: Record<string, unknown> = {}): Promise<string> {
			const res = await post('/run', { workflow, options });
			if (res.status !== 200) throw new Error(`POST /run: ${res.status} ${await res.text()}`);
			return ((await res.json()) as { job_id: string }).job_id;
		},
		job: async (id: string) => (await (await api(`/jobs/${id}`)).json()) as JobProgress,
		download: async (id: string) => (await api(`/jobs/${id}/download`)).text(),
		async waitFor(id: string, done: (job: JobProgress) => boolean, timeoutMs = 120_000): Promise<JobProgress> {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const job = await this.job(id);
				if (done(job)) return job;
				if (['failed', 'cancelled'].includes(job.status)) throw new Error(`job ${job.status}: ${job.error}`);
				if (Date.now() > deadline) throw new Error(`timed out; job is ${job.status}`);
				await new Promise((r) => setTimeout(r, 50));
			}
		}
	};
}

/** Log lines of `proc` for `jobId` with message `msg`. */
export function jobLines(proc: ServerProcess, jobId: string, msg: string): string[] {
	return proc.lines.filter((l) => l.includes(jobId) && l.includes(`"msg":"${msg}"`));
}

/**
 * Kills every client connection of Redis db `db` but ours (CLIENT KILL by id: other suites' dbs on
 * the same server are left alone) — what a Redis restart does to the processes, without the restart.
 */
export async function killRedisClients(redisUrl: string, db: number): Promise<number> {
	const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
	try {
		const me = await redis.client('ID');
		const list = String(await redis.client('LIST'));
		let killed = 0;
		for (const line of list.split('\n')) {
			const id = /\bid=(\d+)/.exec(line)?.[1];
			const clientDb = /\bdb=(\d+)/.exec(line)?.[1];
			if (!id || Number(id) === me || Number(clientDb) !== db) continue;
			killed += Number(await redis.client('KILL', 'ID', id));
		}
		return killed;
	} finally {
		redis.disconnect();
	}
}

/** A pass-through HTTP proxy in front of the simulator that logs when each request arrived. */
export interface RecordingProxy {
	url: string;
	/** `performance.now()` of every request's arrival (`/__sim/*` excluded), in order. */
	arrivals: number[];
	close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
	const { createServer, request } = await import('node:http');
	const arrivals: number[] = [];
	const to = new URL(target);
	const server = createServer((req, res) => {
		if (!req.url?.startsWith('/__sim')) arrivals.push(performance.now());
		const upstream = request(
			{ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
			(answer) => {
				res.writeHead(answer.statusCode ?? 502, answer.headers);
				answer.pipe(res);
			}
		);
		upstream.on('error', () => res.destroy());
		req.pipe(upstream);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	return {
		url: `http://127.0.0.1:${port}`,
		arrivals,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			})
	};
}

/**
 * The largest excess of `arrivals` over a token bucket of `burst` refilled at `perMinute` (0: the
 * bucket's promise held): for every window [t_i, t_j], requests in it − (burst + refill over it
 * plus `slackMs`). Network jitter can bunch requests granted apart: `slackMs` allows for it.
 */
export function bucketExcess(arrivals: number[], burst: number, perMinute: number, slackMs: number): number {
	const perMs = (burst < perMinute ? perMinute - burst : perMinute) / 60_000;
	let worst = 0;
	for (let i = 0; i < arrivals.length; i++) {
		for (let j = i; j < arrivals.length; j++) {
			const allowed = burst + (arrivals[j]! - arrivals[i]! + slackMs) * perMs;
			worst = Math.max(worst, j - i + 1 - allowed);
		}
	}
	return worst;
}
