/**
 * The app under test: the SvelteKit build served by the real server (rooms, live events, shared
 * workflows: always part of the server) on an ephemeral port, with its own data directory. Builds the UI first when
 * there is no build or it is older than the sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../server/config';
import { createLogger } from '../../../server/log';
import { startServer, type RunningServer } from '../../../server/index';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const HANDLER = join(REPO, 'build', 'handler.js');

function newestMtime(dir: string): number {
	let newest = 0;
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
	}
	return newest;
}

/** Runs `vite build` when the build is missing or older than `src/`. */
export function ensureBuild(): void {
	if (existsSync(HANDLER) && statSync(HANDLER).mtimeMs >= newestMtime(join(REPO, 'src'))) return;
	const result = spawnSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], {
		cwd: REPO,
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe']
	});
	if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
}

export interface TestApp {
	url: string;
	server: RunningServer;
	data: TempDir;
	close(): Promise<void>;
}

/**
 * Starts the whole app. Without `env.SIXTYFOUR_API_KEY` the server runs its built-in simulator
 * (the demo's few-second latencies); tests that need speed pass a fast simulator's URL and a key.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
	ensureBuild();
	const data = await makeTempDir('leadflow-e2e-');
	const config = loadConfig({
		env: { PORT: '0', HOST: '127.0.0.1', DATA_DIR: data.dir, NODE_ENV: 'test', ...env },
		envFile: null
	});
	const server = await startServer(config, {
		logger: createLogger({ level: env.LOG_LEVEL ?? 'silent' })
	});
	return {
		url: server.url,
		server,
		data,
		async close() {
			await server.close();
			await data.cleanup();
		}
	};
}
