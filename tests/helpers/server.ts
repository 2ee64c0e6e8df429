/**
 * Starting the real server for tests: in-process on port 0 (`startTestServer`), or as a child
 * process (`spawnServer`) when a test must kill it — SIGKILL for crash tests, SIGTERM for graceful
 * shutdown. Both read their configuration the way production does (`loadConfig` over env vars).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../server/config';
import { startServer, type RunningServer, type StartServerOptions } from '../../server/index';
import { createLogger } from '../../server/log';
import { withPostgres } from './backends';
import { afterAll } from 'vitest';
import { freshPostgres, freshRedis, type TestPostgres, type TestRedis } from './scale-services';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Env for a server that calls `baseUrl` (a simulator) with a test key and no rate-limit wait. */
export function testServerEnv(dataDir: string, baseUrl: string | null, extra: Record<string, string> = {}): Record<string, string> {
	return {
		PORT: '0',
		HOST: '127.0.0.1',
		DATA_DIR: dataDir,
		NODE_ENV: 'test',
		SIXTYFOUR_RATE_LIMIT_PER_MIN: '100000',
		...(baseUrl ? { SIXTYFOUR_API_KEY: 'test-key', SIXTYFOUR_BASE_URL: baseUrl } : {}),
		...extra
	};
}

/** PostgreSQL database and Redis db per data dir (scale project): a restart on the same DATA_DIR finds its data again. */
const services = new Map<string, Promise<{ database: TestPostgres; redis: TestRedis }>>();

if (withPostgres()) {
	// Dropped once the test file is done (a server restarted mid-test must find its database again).
	afterAll(async () => {
		const held = await Promise.allSettled([...services.values()]);
		services.clear();
		for (const r of held) if (r.status === 'fulfilled') await Promise.all([r.value.database.drop(), r.value.redis.release()]);
	});
}

/**
 * Starts the server in this process with env-style settings; logs are silent unless asked for.
 * Under `LEADFLOW_TEST_POSTGRES=1` (the scale project) a server given no DATABASE_URL runs on a
 * PostgreSQL database and Redis db of its data dir's own (the same ones when restarted on that
 * dir), dropped after the test file: the same suites then cover both backends.
 */
export async function startTestServer(env: Record<string, string>, options: StartServerOptions = {}): Promise<RunningServer> {
	let settings = env;
	if (withPostgres() && !env.DATABASE_URL) {
		const key = env.DATA_DIR ?? '';
		if (!services.has(key)) {
			services.set(
				key,
				Promise.all([freshPostgres(), freshRedis()]).then(([database, redis]) => ({ database, redis }))
			);
		}
		const { database, redis } = await services.get(key)!;
		settings = { ...env, DATABASE_URL: database.url, REDIS_URL: redis.url };
	}
	const config = loadConfig({ env: settings, envFile: null });
	return startServer(config, { logger: createLogger({ level: env.LOG_LEVEL ?? 'silent' }), ...options });
}

export interface ServerProcess {
	url: string;
	child: ChildProcess;
	/** Every stdout/stderr line so far (pino JSON lines on stdout). */
	lines: string[];
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `server/index.ts` in a child process (node + tsx: the pid is the server itself, so a signal
 * reaches it, not a wrapper) and resolves with its URL once it logs "server listening".
 */
export async function spawnServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
	const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
		cwd: REPO,
		env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	const lines: string[] = [];
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
		child.once('exit', (code, signal) => resolve({ code, signal }))
	);
	const url = await new Promise<string>((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill('SIGKILL'); // never leave a half-started server behind (it would take jobs, hold ports)
			reject(new Error(`server did not start in ${timeoutMs} ms:\n${lines.join('\n')}`));
		}, timeoutMs);
		const onLine = (line: string) => {
			lines.push(line);
			if (!line.includes('"server listening"')) return;
			try {
				const parsed = JSON.parse(line) as { url?: string };
				if (parsed.url) {
					clearTimeout(timer);
					resolve(parsed.url);
				}
			} catch {
				// not JSON: keep waiting
			}
		};
		for (const stream of [child.stdout!, child.stderr!]) {
			let rest = '';
			stream.setEncoding('utf8');
			stream.on('data', (chunk: string) => {
				const parts = (rest + chunk).split('\n');
				rest = parts.pop() ?? '';
				parts.forEach(onLine);
			});
		}
		void exited.then(({ code, signal }) => {
			clearTimeout(timer);
			reject(new Error(`server exited (code ${code}, signal ${signal}) before listening:\n${lines.join('\n')}`));
		});
	});
	return { url, child, lines, exited };
}

/** Runs `server/index.ts` to its exit (for start-up failures); returns its code and output. */
export async function runServerToExit(env: Record<string, string>, timeoutMs = 30_000) {
	const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
		cwd: REPO,
		env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let stdout = '';
	let stderr = '';
	child.stdout!.on('data', (d) => (stdout += d));
	child.stderr!.on('data', (d) => (stderr += d));
	const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
	const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
	clearTimeout(timer);
	return { code, stdout, stderr };
}
