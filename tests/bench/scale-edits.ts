/**
 * Benchmark — edit propagation across two web processes (issue 11): two real servers
 * (`server/index.ts`, scale-out mode) on one DATA_DIR and one Redis (needs Redis and PostgreSQL on
 * 127.0.0.1, as `npm run test:scale`); 50 stock y-websocket clients on one workflow, 25 on each
 * process. One client after another types a keystroke into a filter expression; the figure is the
 * time until each other client has applied it — separately for clients on the other process
 * (stored, relayed through Redis, applied there, sent) and on the sender's own.
 * Target: p99 ≤ 50 ms across processes with 50 clients.
 * `npm run bench -- scale-edits`, or alone: `npx tsx tests/bench/scale-edits.ts [edits]`.
 */
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { getParamText } from '../../src/lib/workflow/doc';
import { freshPostgres, freshRedis } from '../helpers/scale-services';
import { spawnServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir } from '../helpers/temp-dir';

export const SCALE_EDITS_P99_TARGET_MS = 50;
const CLIENTS = 50;
/** Unmeasured edits first, so JIT compilation is not counted as latency. */
const WARMUP = 20;

export interface LatencyFigures {
	samples: number;
	p50: number;
	p95: number;
	p99: number;
	max: number;
}

export interface ScaleEditsResult {
	clients: number;
	edits: number;
	acrossProcesses: LatencyFigures;
	sameProcess: LatencyFigures;
	lost: number;
	target: number;
	meetsTarget: boolean;
	loadAverage: number;
	cores: number;
}

interface BenchClient {
	doc: Y.Doc;
	provider: WebsocketProvider;
	process: number;
	seen: number;
}

export async function benchScaleEdits(options: { edits?: number } = {}): Promise<ScaleEditsResult> {
	const edits = options.edits ?? 200;
	process.setMaxListeners(Math.max(process.getMaxListeners(), 1_000));
	const [redis, postgres, temp] = await Promise.all([freshRedis(), freshPostgres(), makeTempDir('leadflow-scale-bench-')]);
	const servers: ServerProcess[] = [];
	const clients: BenchClient[] = [];
	try {
		for (let i = 0; i < 2; i++) {
			const env = testServerEnv(temp.dir, null, { REDIS_URL: redis.url, DATABASE_URL: postgres.url });
			servers.push(await spawnServer(env));
		}
		const res = await fetch(`${servers[0].url}/api/workflows`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({
				name: 'Bench',
				from: {
					name: 'Bench',
					blocks: [
						{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
						{ id: 'f', type: 'filter', params: { expression: 'employees > 1' } }
					]
				}
			})
		});
		if (res.status !== 201) throw new Error(`could not create the workflow: ${res.status} ${await res.text()}`);
		const wf = (await res.json()) as { id: string; edit_token: string };
		for (let i = 0; i < CLIENTS; i++) clients.push(connect(servers[i % 2].url, wf.id, wf.edit_token, i % 2));
		await waitUntil(() => clients.every((c) => c.provider.synced && c.doc.getMap('blocks').size === 2), 60_000, 'clients sync');

		const across: number[] = [];
		const same: number[] = [];
		let lost = 0;
		for (let seq = 1; seq <= WARMUP + edits; seq++) {
			const measured = seq > WARMUP;
			const sender = clients[seq % clients.length];
			const sentAt = performance.now();
			const pending = clients
				.filter((c) => c !== sender)
				.map((c) =>
					arrival(c, seq, 5_000).then(
						(at) => {
							if (measured) (c.process === sender.process ? same : across).push(at - sentAt);
						},
						() => void (measured && lost++)
					)
				);
			sender.doc.transact(() => {
				getParamText(sender.doc, 'f', 'expression').insert(0, 'x');
				sender.doc.getMap('bench').set('seq', seq);
			});
			sender.seen = seq;
			await Promise.all(pending);
			await new Promise((resolve) => setTimeout(resolve, 2));
		}
		const acrossProcesses = figures(across);
		return {
			clients: CLIENTS,
			edits,
			acrossProcesses,
			sameProcess: figures(same),
			lost,
			target: SCALE_EDITS_P99_TARGET_MS,
			meetsTarget: acrossProcesses.p99 <= SCALE_EDITS_P99_TARGET_MS && lost === 0,
			loadAverage: Math.round(loadavg()[0] * 10) / 10,
			cores: cpus().length
		};
	} finally {
		for (const c of clients) {
			c.provider.destroy();
			c.doc.destroy();
		}
		for (const s of servers) {
			s.child.kill('SIGTERM');
			await s.exited;
		}
		await Promise.all([redis.release(), postgres.drop(), temp.cleanup()]);
	}
}

export function formatScaleEdits(r: ScaleEditsResult): string {
	const row = (name: string, f: LatencyFigures) => `| ${name} | ${f.samples} | ${f.p50} | ${f.p95} | ${f.p99} | ${f.max} |`;
	return [
		`${r.clients} clients on one workflow, half on each of 2 web processes (one Redis), ${r.edits} edits one after another.`,
		'',
		'| receivers | samples | p50 ms | p95 ms | p99 ms | max ms |',
		'|---|---:|---:|---:|---:|---:|',
		row('on the other process (via Redis)', r.acrossProcesses),
		row('on the sender’s process', r.sameProcess),
		'',
		`Lost: ${r.lost}. Target: p99 ≤ ${r.target} ms across processes — ${r.meetsTarget ? 'met' : 'NOT met'}. Latency is edit → ` +
			'applied by the receiving client; clients, both servers and Redis share the machine. ' +
			`Load average during the run: ${r.loadAverage} on ${r.cores} cores.`
	].join('\n');
}

function connect(url: string, workflowId: string, token: string, processIndex: number): BenchClient {
	const doc = new Y.Doc();
	const provider = new WebsocketProvider(`${url.replace(/^http/, 'ws')}/yjs`, workflowId, doc, {
		params: { token },
		WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
		disableBc: true
	});
	const client: BenchClient = { doc, provider, process: processIndex, seen: 0 };
	doc.on('update', () => {
		const seq = doc.getMap('bench').get('seq');
		if (typeof seq === 'number' && seq > client.seen) {
			client.seen = seq;
			doc.emit('bench-seq' as never, [seq] as never);
		}
	});
	return client;
}

/** Resolves with the time client `c` applied edit `seq`. */
function arrival(c: BenchClient, seq: number, timeoutMs: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			c.doc.off('bench-seq' as never, on as never);
			reject(new Error('lost'));
		}, timeoutMs);
		function on(got: number) {
			if (got < seq) return;
			clearTimeout(timer);
			c.doc.off('bench-seq' as never, on as never);
			resolve(performance.now());
		}
		c.doc.on('bench-seq' as never, on as never);
	});
}

function figures(samples: number[]): LatencyFigures {
	const sorted = [...samples].sort((a, b) => a - b);
	const q = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]);
	const r = (x: number) => Math.round(x * 10) / 10;
	return { samples: sorted.length, p50: r(q(0.5)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(sorted.at(-1) ?? 0) };
}

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
	const start = Date.now();
	while (!predicate()) {
		if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	const edits = Number(process.argv[2]) || undefined;
	const result = await benchScaleEdits({ edits });
	console.log(formatScaleEdits(result));
	process.exit(0);
}
