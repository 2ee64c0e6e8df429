/**
 * A SvelteKit build of the web app made with a test's own environment (e.g. a fake API key, to
 * prove it never reaches the bundle), in `tmp/test-builds/<name>/` — never the `build/` the app
 * serves. Built once and reused while it is newer than the sources; test files running at the same
 * time wait for one another's build through a lock directory instead of building twice.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { NodeHandler } from '../../server/index';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface IsolatedBuild {
	/** Holds `build/` (adapter-node output) and `.svelte-kit/` (with `output/`). */
	dir: string;
	/** `build/client`: what browsers download. */
	clientDir: string;
	/** The adapter-node request handler, for `startServer({ pages })`. */
	loadHandler(): Promise<NodeHandler>;
}

function newestMtime(path: string): number {
	const stat = statSync(path);
	if (!stat.isDirectory()) return stat.mtimeMs;
	let newest = stat.mtimeMs;
	for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
	return newest;
}

/**
 * Builds (or reuses) the app under `tmp/test-builds/<name>` with `env` added to the build's
 * environment. Synchronous build: a few seconds; callers give their hook a generous timeout.
 */
export async function isolatedBuild(name: string, env: Record<string, string>, timeoutMs = 150_000): Promise<IsolatedBuild> {
	if (!/^[\w-]+$/.test(name)) throw new Error(`bad build name ${name}`);
	const relative = join('tmp', 'test-builds', name);
	const dir = join(REPO, relative);
	const handlerPath = join(dir, 'build', 'handler.js');
	const lock = `${dir}.lock`;
	const sourcesAt = () => Math.max(newestMtime(join(REPO, 'src')), newestMtime(join(REPO, 'svelte.config.js')));
	const fresh = () => existsSync(handlerPath) && statSync(handlerPath).mtimeMs >= sourcesAt();

	mkdirSync(join(REPO, 'tmp', 'test-builds'), { recursive: true });
	const deadline = Date.now() + timeoutMs;
	while (!fresh()) {
		try {
			mkdirSync(lock);
		} catch {
			// Another test file is building this one: wait for it (a lock older than the timeout is stale).
			const held = statSync(lock, { throwIfNoEntry: false });
			if (held && Date.now() - held.mtimeMs > timeoutMs) rmSync(lock, { recursive: true, force: true });
			if (Date.now() > deadline) throw new Error(`timed out waiting for the ${name} build`);
			await new Promise((r) => setTimeout(r, 250));
			continue;
		}
		try {
			if (fresh()) break;
			rmSync(dir, { recursive: true, force: true });
			const result = spawnSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], {
				cwd: REPO,
				// A production build, whatever the test runner's NODE_ENV.
				env: { ...process.env, NODE_ENV: 'production', ...env, LEADFLOW_BUILD_DIR: relative },
				encoding: 'utf8',
				stdio: ['ignore', 'pipe', 'pipe'],
				timeout: timeoutMs
			});
			if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
		} finally {
			rmSync(lock, { recursive: true, force: true });
		}
	}
	return {
		dir,
		clientDir: join(dir, 'build', 'client'),
		async loadHandler() {
			return ((await import(pathToFileURL(handlerPath).href)) as { handler: NodeHandler }).handler;
		}
	};
}
