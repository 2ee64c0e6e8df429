/**
 * Benchmark — edit propagation through the room server on loopback. The server runs in its own
 * process (so its CPU and RSS are its own); the clients are real y-websocket providers in this
 * process. One client edits a shared workflow (a keystroke in a filter expression, through
 * doc.ts); the figure is the time until every other client in the room has applied it.
 *   - 50 clients in one room: edits one after another, each awaited by the 49 others.
 *   - 500 clients across 100 rooms: every room edits at the same moment, round after round.
 * Target: p99 ≤ 50 ms for 50 clients in a room.
 * Runnable alone: `npx tsx tests/bench/collab.ts [edits]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createCollabServer, type CollabStats } from '../../server/collab';
import { openDatabase } from '../../server/store/db';
import type * as Y from 'yjs';
import { getParamText, workflowToDoc } from '../../src/lib/workflow/doc';
import { makeTempDir } from '../helpers/temp-dir';
import { connectEditClient, destroyClients, quantile, round1, timeEdit, waitUntil, type EditClient } from './edit-latency';

export const COLLAB_P99_TARGET_MS = 50;
/** Unmeasured rounds first, so JIT compilation is not counted as latency. */
const WARMUP_ROUNDS = 10;

export interface CollabScenarioResult {
	name: string;
	clients: number;
	rooms: number;
	edits: number;
	/** One sample per (edit, receiving client). */
	samples: number;
	p50: number;
	p95: number;
	p99: number;
	max: number;
	/** Samples that never arrived within the wait (should be 0). */
	lost: number;
	/** Server process CPU over the measured phase, in % of one core. */
	serverCpuPercent: number;
	serverRssMiB: number;
}

export interface CollabBenchResult {
	scenarios: CollabScenarioResult[];
	target: number;
	meetsTarget: boolean;
	/** 1-minute load average at the end and core count: on a busy machine the tail says more about it. */
	loadAverage: number;
	cores: number;
}

export interface CollabBenchOptions {
	/** Edits in the one-room scenario (default 200); rounds in the many-rooms one = edits / 4. */
	edits?: number;
}

/** Runs both scenarios; prints nothing (the caller does). */
export async function benchCollab(options: CollabBenchOptions = {}): Promise<CollabBenchResult> {
	const edits = options.edits ?? 200;
	process.setMaxListeners(Math.max(process.getMaxListeners(), 1_000));
	const server = await spawnServer();
	try {
		const one = await runScenario(server, { name: '50 clients, 1 room', rooms: 1, perRoom: 50, rounds: edits });
		const many = await runScenario(server, {
			name: '500 clients, 100 rooms',
			rooms: 100,
			perRoom: 5,
			rounds: Math.max(1, Math.round(edits / 4))
		});
		return {
			scenarios: [one, many],
			target: COLLAB_P99_TARGET_MS,
			meetsTarget: one.p99 <= COLLAB_P99_TARGET_MS,
			loadAverage: Math.round(loadavg()[0] * 10) / 10,
			cores: cpus().length
		};
	} finally {
		await server.close();
	}
}

/** The result as a Markdown table. */
export function formatCollab(r: CollabBenchResult): string {
	return [
		'| scenario | clients | rooms | edits | samples | p50 ms | p95 ms | p99 ms | max ms | lost | server CPU | server RSS |',
		'|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
		...r.scenarios.map(
			(s) =>
				`| ${s.name} | ${s.clients} | ${s.rooms} | ${s.edits} | ${s.samples} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} | ${s.lost} | ${s.serverCpuPercent}% | ${s.serverRssMiB} MiB |`
		),
		'',
		`Target: p99 ≤ ${r.target} ms with 50 clients in a room — ${r.meetsTarget ? 'met' : 'NOT met'}. Latency is edit → applied ` +
			'by every other client; all clients share one process (and the machine with the server), so their event loop is part of it. ' +
			`Machine load average during the run: ${r.loadAverage} on ${r.cores} cores.`
	].join('\n');
}

// ─── scenario ───────────────────────────────────────────────────────────────────────────────

interface ScenarioSpec {
	name: string;
	rooms: number;
	perRoom: number;
	/** One-room: edits in sequence; many rooms: rounds in which every room edits once. */
	rounds: number;
}

async function runScenario(server: ServerProcess, spec: ScenarioSpec): Promise<CollabScenarioResult> {
	const rooms: EditClient[][] = [];
	const prefix = `bench-${spec.rooms}x${spec.perRoom}`;
	for (let r = 0; r < spec.rooms; r++) {
		const clients = Array.from({ length: spec.perRoom }, () => connectEditClient(server.base, `${prefix}-${r}`, 'bench'));
		rooms.push(clients);
	}
	const all = rooms.flat();
	await waitUntil(() => all.every((c) => c.provider.synced), 60_000, 'clients sync');
	for (const clients of rooms)
		workflowToDoc({ blocks: [{ id: 'f', type: 'enrich_lead', params: { struct: {}, research_plan: '' } }] }, clients[0].doc);
	await waitUntil(() => all.every((c) => c.doc.getMap('blocks').size === 1), 30_000, 'seed reaches everyone');

	const latencies: number[] = [];
	let lost = 0;
	let seq = 0;
	let before = await server.stats();
	let started = performance.now();
	for (let round = -WARMUP_ROUNDS; round < spec.rounds; round++) {
		if (round === 0) {
			// Warm-up done (JIT, socket buffers): measure from here.
			latencies.length = 0;
			lost = 0;
			before = await server.stats();
			started = performance.now();
		}
		seq++;
		const edit = (doc: Y.Doc) => getParamText(doc, 'f', 'research_plan').insert(0, 'x');
		const pending = rooms.map((clients) => {
			const sender = clients[(round + WARMUP_ROUNDS) % clients.length];
			return timeEdit(
				sender,
				clients.filter((c) => c !== sender),
				seq,
				edit
			);
		});
		for (const arrivals of await Promise.all(pending)) {
			for (const at of arrivals) {
				if (at === null) lost++;
				else latencies.push(at);
			}
		}
		await new Promise((resolve) => setTimeout(resolve, 2));
	}
	const elapsedMs = performance.now() - started;
	const after = await server.stats();

	destroyClients(all);
	latencies.sort((a, b) => a - b);
	const cpuMs = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1_000;
	return {
		name: spec.name,
		clients: all.length,
		rooms: spec.rooms,
		edits: spec.rounds * spec.rooms,
		samples: latencies.length,
		p50: round1(quantile(latencies, 0.5)),
		p95: round1(quantile(latencies, 0.95)),
		p99: round1(quantile(latencies, 0.99)),
		max: round1(latencies.at(-1) ?? 0),
		lost,
		serverCpuPercent: Math.round((cpuMs / elapsedMs) * 100),
		serverRssMiB: Math.round(after.rss / 2 ** 20)
	};
}

// ─── the server process ─────────────────────────────────────────────────────────────────────

export interface ServerProcess {
	base: string;
	/** `loopDelay`: the server's event-loop delay (ms) since the previous `stats()` call. */
	stats(): Promise<{ cpu: NodeJS.CpuUsage; rss: number; collab: CollabStats; loopDelay: LoopDelay }>;
	close(): Promise<void>;
}

type ToServer = { type: 'stats' } | { type: 'exit' };
/** How late the server's event loop ran timers (ms): what any room's message waited at worst. */
export interface LoopDelay {
	p99: number;
	max: number;
}

type FromServer =
	{ type: 'ready'; port: number } | { type: 'stats'; cpu: NodeJS.CpuUsage; rss: number; collab: CollabStats; loopDelay: LoopDelay };

/** The room server in a child process of its own (so its CPU and RSS are its own). */
export async function spawnServer(): Promise<ServerProcess> {
	const child: ChildProcess = spawn(
		process.execPath,
		[
			...(process.env.PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.PROF_DIR] : []),
			'--import',
			'tsx',
			fileURLToPath(import.meta.url),
			'--serve'
		],
		{
			stdio: ['ignore', 'inherit', 'inherit', 'ipc']
		}
	);
	const next = <T extends FromServer['type']>(type: T) =>
		new Promise<Extract<FromServer, { type: T }>>((resolve, reject) => {
			const onExit = (code: number | null) => reject(new Error(`collab bench server exited with ${code}`));
			child.once('exit', onExit);
			const onMessage = (message: FromServer) => {
				if (message.type !== type) return;
				child.off('message', onMessage);
				child.off('exit', onExit);
				resolve(message as Extract<FromServer, { type: T }>);
			};
			child.on('message', onMessage);
		});
	const { port } = await next('ready');
	const send = (message: ToServer) => child.send(message);
	return {
		base: `ws://127.0.0.1:${port}/yjs`,
		async stats() {
			const reply = next('stats');
			send({ type: 'stats' });
			const { cpu, rss, collab, loopDelay } = await reply;
			return { cpu, rss, collab, loopDelay };
		},
		async close() {
			if (child.exitCode !== null) return;
			send({ type: 'exit' });
			await once(child, 'exit');
		}
	};
}

/** The child side: a room server on an ephemeral loopback port, answering stats over IPC. */
async function serve(): Promise<void> {
	const temp = await makeTempDir('collab-bench-');
	const db = openDatabase(`${temp.dir}/bench.db`);
	const collab = createCollabServer({ db, authorize: (_id, token) => (token === 'bench' ? 'edit' : null) });
	const server = createServer((_req, res) => res.writeHead(404).end());
	server.on('upgrade', (req, socket, head) => {
		if (!collab.handleUpgrade(req, socket, head)) socket.destroy();
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const reply = (message: FromServer) => process.send!(message);
	const loop = monitorEventLoopDelay({ resolution: 5 });
	loop.enable();
	process.on('message', async (message: ToServer) => {
		if (message.type === 'stats') {
			const loopDelay = { p99: round1(loop.percentile(99) / 1e6), max: round1(loop.max / 1e6) };
			loop.reset();
			reply({ type: 'stats', cpu: process.cpuUsage(), rss: process.memoryUsage().rss, collab: collab.stats(), loopDelay });
		} else if (message.type === 'exit') {
			await collab.close();
			server.closeAllConnections();
			server.close();
			db.close();
			await temp.cleanup();
			process.exit(0);
		}
	});
	reply({ type: 'ready', port: (server.address() as AddressInfo).port });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	if (process.argv[2] === '--serve') await serve();
	else {
		const edits = Number(process.argv[2]) || undefined;
		const result = await benchCollab({ edits });
		console.log(formatCollab(result));
		process.exit(0);
	}
}
