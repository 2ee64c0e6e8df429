/**
 * Benchmark — a fast client against the room server's flow control (issue 13). Three processes:
 * the room server (`collab.ts --serve`), a stock y-websocket client making N transactions as fast
 * as it can (this file `--flood`), and this one: a second client in that room, waiting for the
 * last transaction, and a bystander room in which one client edits every 20 ms and another times
 * each edit's arrival, first alone (baseline), then during the flood.
 * Targets: the second client has the last transaction within 10 s; bystander p99 ≤ 100 ms; the
 * fast client is never disconnected.
 * Runnable alone: `npx tsx tests/bench/collab-flood.ts [transactions]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { getParamText, workflowToDoc } from '../../src/lib/workflow/doc';
import { spawnServer, type LoopDelay } from './collab';

export const FLOOD_LAST_TARGET_MS = 10_000;
export const BYSTANDER_P99_TARGET_MS = 100;
const BYSTANDER_EVERY_MS = 20;
const BASELINE_MS = 2_000;
const SEED = { blocks: [{ id: 'f', type: 'enrich_lead' as const, params: { struct: {}, research_plan: '' } }] };

export interface Latencies {
	edits: number;
	p50: number;
	p99: number;
	max: number;
	lost: number;
}

export interface CollabFloodResult {
	transactions: number;
	/** The fast client's loop (all its transactions made and handed to its socket). */
	sendLoopMs: number;
	/** From the start of the loop until the second client applied the last transaction. */
	lastArrivedMs: number;
	/** Connection closes the fast client saw (should be none). */
	fastClientCloses: number[];
	/** Appends to the update log for the whole flood (merged turns: far fewer than transactions). */
	appends: number;
	throttledFrames: number;
	pausedReads: number;
	floods: number;
	/** CPU the server process used from the start of the flood until the last transaction arrived (and the bystander's edits meanwhile), ms. */
	serverCpuMs: number;
	/** The server's event-loop delay over the same span (ms): how long any room's message could wait there. */
	serverLoopDelay: LoopDelay;
	bystanderBefore: Latencies;
	bystanderDuring: Latencies;
	loadAverage: number;
	cores: number;
}

export async function benchCollabFlood(options: { transactions?: number } = {}): Promise<CollabFloodResult> {
	const transactions = options.transactions ?? 5_000;
	process.setMaxListeners(Math.max(process.getMaxListeners(), 100));
	const server = await spawnServer();
	const clients: WebsocketProvider[] = [];
	const open = (room: string) => {
		const doc = new Y.Doc();
		const provider = new WebsocketProvider(server.base, room, doc, {
			params: { token: 'bench' },
			WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
			disableBc: true
		});
		clients.push(provider);
		return doc;
	};
	try {
		const reader = open('flood');
		const calmA = open('calm');
		const calmB = open('calm');
		await waitUntil(() => clients.every((p) => p.synced), 30_000, 'clients sync');
		workflowToDoc(SEED, reader);
		workflowToDoc(SEED, calmA);
		await waitUntil(() => calmB.getMap('blocks').size === 1, 10_000, 'bystander seed');
		const flooder = await spawnFlooder(server.base, 'flood', transactions);

		const bystanderBefore = await bystander(calmA, calmB).runFor(BASELINE_MS);
		const before = await server.stats();
		const during = bystander(calmA, calmB);
		const started = performance.now();
		const sent = flooder.go();
		const text = getParamText(reader, 'f', 'research_plan');
		await waitUntil(() => text.length >= transactions, 120_000, 'the last transaction');
		const lastArrivedMs = performance.now() - started;
		const atLast = await server.stats();
		const sendLoopMs = await sent;
		const bystanderDuring = await during.stop();
		const after = await server.stats();
		const fastClientCloses = await flooder.exit();
		return {
			transactions,
			sendLoopMs: Math.round(sendLoopMs),
			lastArrivedMs: Math.round(lastArrivedMs),
			fastClientCloses,
			appends: after.collab.updatesPersisted - before.collab.updatesPersisted - bystanderDuring.edits,
			throttledFrames: after.collab.throttledFrames - before.collab.throttledFrames,
			pausedReads: after.collab.pausedReads - before.collab.pausedReads,
			floods: after.collab.floods - before.collab.floods,
			serverLoopDelay: atLast.loopDelay,
			serverCpuMs: Math.round((atLast.cpu.user + atLast.cpu.system - before.cpu.user - before.cpu.system) / 1_000),
			bystanderBefore,
			bystanderDuring,
			loadAverage: Math.round(loadavg()[0] * 10) / 10,
			cores: cpus().length
		};
	} finally {
		for (const provider of clients) {
			provider.destroy();
			provider.doc.destroy();
		}
		await server.close();
	}
}

export function formatCollabFlood(r: CollabFloodResult): string {
	const row = (label: string, l: Latencies) => `| ${label} | ${l.edits} | ${l.p50} | ${l.p99} | ${l.max} | ${l.lost} |`;
	return [
		'| transactions | sender loop ms | last one at 2nd client ms | target ms | appends | frames throttled | socket pauses | fast client closed | floods | server CPU ms |',
		'|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
		`| ${r.transactions} | ${r.sendLoopMs} | ${r.lastArrivedMs} | ≤ ${FLOOD_LAST_TARGET_MS} | ${r.appends} | ${r.throttledFrames} | ${r.pausedReads} | ${r.fastClientCloses.length === 0 ? 'never' : r.fastClientCloses.join(', ')} | ${r.floods} | ${r.serverCpuMs} |`,
		'',
		`| bystander room (an edit every ${BYSTANDER_EVERY_MS} ms) | edits | p50 ms | p99 ms | max ms | lost |`,
		'|---|---:|---:|---:|---:|---:|',
		row('before the flood', r.bystanderBefore),
		row('during the flood', r.bystanderDuring),
		'',
		`Targets: last transaction ≤ ${FLOOD_LAST_TARGET_MS / 1000} s — ${r.lastArrivedMs <= FLOOD_LAST_TARGET_MS ? 'met' : 'NOT met'}; ` +
			`bystander p99 ≤ ${BYSTANDER_P99_TARGET_MS} ms during the flood — ${r.bystanderDuring.p99 <= BYSTANDER_P99_TARGET_MS ? 'met' : 'NOT met'} ` +
			`(${ratio(r.bystanderDuring.p99, r.bystanderBefore.p99)} the baseline). ` +
			`Server event-loop delay during the flood: p99 ${r.serverLoopDelay.p99} ms, max ${r.serverLoopDelay.max} ms. ` +
			`Machine load average: ${r.loadAverage} on ${r.cores} cores.`
	].join('\n');
}

// ─── the bystander room ─────────────────────────────────────────────────────────────────────

/** `a` edits every BYSTANDER_EVERY_MS; each edit's arrival at `b` is timed. */
function bystander(a: Y.Doc, b: Y.Doc) {
	const pending = new Map<number, number>();
	const latencies: number[] = [];
	let seq = (a.getMap('bench').get('seq') as number | undefined) ?? 0;
	const onUpdate = () => {
		const got = b.getMap('bench').get('seq');
		if (typeof got !== 'number') return;
		const now = performance.now();
		for (const [s, at] of pending) {
			if (s > got) continue;
			latencies.push(now - at);
			pending.delete(s);
		}
	};
	b.on('update', onUpdate);
	const timer = setInterval(() => {
		seq++;
		pending.set(seq, performance.now());
		a.transact(() => {
			getParamText(a, 'f', 'research_plan').insert(0, 'x');
			a.getMap('bench').set('seq', seq);
		});
	}, BYSTANDER_EVERY_MS);
	const stop = async (): Promise<Latencies> => {
		clearInterval(timer);
		const grace = performance.now();
		while (pending.size > 0 && performance.now() - grace < 5_000) await sleep(10);
		b.off('update', onUpdate);
		latencies.sort((x, y) => x - y);
		return {
			edits: latencies.length + pending.size,
			p50: round1(quantile(latencies, 0.5)),
			p99: round1(quantile(latencies, 0.99)),
			max: round1(latencies.at(-1) ?? 0),
			lost: pending.size
		};
	};
	return {
		stop,
		async runFor(ms: number) {
			await sleep(ms);
			return stop();
		}
	};
}

// ─── the fast client, in a process of its own ───────────────────────────────────────────────

type ToFlooder = { type: 'go' } | { type: 'exit' };
type FromFlooder = { type: 'ready' } | { type: 'sent'; ms: number } | { type: 'bye'; closes: number[] };

async function spawnFlooder(base: string, room: string, transactions: number) {
	const child: ChildProcess = spawn(
		process.execPath,
		['--import', 'tsx', fileURLToPath(import.meta.url), '--flood', base, room, String(transactions)],
		{ stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }
	);
	const next = <T extends FromFlooder['type']>(type: T) =>
		new Promise<Extract<FromFlooder, { type: T }>>((resolve, reject) => {
			const onExit = (code: number | null) => reject(new Error(`flood client exited with ${code}`));
			child.once('exit', onExit);
			const onMessage = (message: FromFlooder) => {
				if (message.type !== type) return;
				child.off('message', onMessage);
				child.off('exit', onExit);
				resolve(message as Extract<FromFlooder, { type: T }>);
			};
			child.on('message', onMessage);
		});
	const send = (message: ToFlooder) => child.send(message);
	await next('ready');
	return {
		async go(): Promise<number> {
			const reply = next('sent');
			send({ type: 'go' });
			return (await reply).ms;
		},
		async exit(): Promise<number[]> {
			const reply = next('bye');
			send({ type: 'exit' });
			const { closes } = await reply;
			if (child.exitCode === null) await once(child, 'exit');
			return closes;
		}
	};
}

/** The child side: one stock provider, N transactions in a loop when told. */
async function flood(base: string, room: string, transactions: number): Promise<void> {
	const doc = new Y.Doc();
	const provider = new WebsocketProvider(base, room, doc, {
		params: { token: 'bench' },
		WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
		disableBc: true
	});
	const closes: number[] = [];
	provider.on('connection-close', (event) => closes.push(event?.code ?? 0));
	await waitUntil(() => provider.synced && doc.getMap('blocks').size === 1, 30_000, 'flood client sync');
	const reply = (message: FromFlooder) => process.send!(message);
	process.on('message', (message: ToFlooder) => {
		if (message.type === 'go') {
			const text = getParamText(doc, 'f', 'research_plan');
			const started = performance.now();
			for (let i = 0; i < transactions; i++) doc.transact(() => text.insert(text.length, String(i % 10)));
			reply({ type: 'sent', ms: performance.now() - started });
		} else {
			reply({ type: 'bye', closes });
			provider.destroy();
			setTimeout(() => process.exit(0), 50);
		}
	});
	reply({ type: 'ready' });
}

// ─── helpers ────────────────────────────────────────────────────────────────────────────────

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
	const start = Date.now();
	while (!predicate()) {
		if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
		await sleep(5);
	}
}

function quantile(sorted: number[], q: number): number {
	if (sorted.length === 0) return 0;
	return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(1)}×` : 'n/a ×');

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	if (process.argv[2] === '--flood') {
		await flood(process.argv[3] ?? '', process.argv[4] ?? '', Number(process.argv[5]));
	} else {
		const result = await benchCollabFlood({ transactions: Number(process.argv[2]) || undefined });
		console.log(formatCollabFlood(result));
		process.exit(0);
	}
}
