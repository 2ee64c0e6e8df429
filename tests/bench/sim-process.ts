/**
 * Starts the simulator as its own process (as `npm run simulator` does), so a benchmark measures
 * the engine against a server that does not share its event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { SimStats } from '../../server/enrichment/simulator';

export interface SimProcess {
	url: string;
	stats(): Promise<SimStats>;
	reset(): Promise<void>;
	close(): Promise<void>;
}

export async function spawnSimulator(args: string[]): Promise<SimProcess> {
	const child: ChildProcess = spawn(
		process.execPath,
		['--import', 'tsx', 'server/enrichment/simulator/main.ts', '--port', '0', ...args],
		{ stdio: ['ignore', 'pipe', 'inherit'] }
	);
	const lines = createInterface({ input: child.stdout! });
	const url = await new Promise<string>((resolve, reject) => {
		child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
		lines.on('line', (line) => {
			const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line);
			if (match) resolve(match[1]);
		});
	});
	return {
		url,
		stats: async () => (await (await fetch(`${url}/__sim/stats`)).json()) as SimStats,
		reset: async () => void (await fetch(`${url}/__sim/reset`, { method: 'POST' })),
		close: async () => {
			if (child.exitCode !== null) return;
			child.kill('SIGTERM');
			await once(child, 'exit');
		}
	};
}
