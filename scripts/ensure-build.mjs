// `npm start`: build the web app first when there is no build yet (a fresh clone), then start.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (!existsSync(new URL('../build/handler.js', import.meta.url))) {
	console.error('No web build yet: running `vite build` once (about a minute)…');
	const result = spawnSync('npx', ['vite', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
	if (result.status !== 0) process.exit(result.status ?? 1);
}
