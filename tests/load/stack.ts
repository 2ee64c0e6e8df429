/**
 * The whole product as the load suites drive it: the simulator in one process, the real server
 * (`server/index.ts`, rooms and live channel included) in another on a loopback port 0, and a small
 * REST client that talks to it the way the browser does (bearer token of the workflow, `workflow_id`
 * on uploads and runs). The server runs apart so that its RSS and CPU are its own.
 */
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { spawnSimulator, type SimProcess } from '../bench/sim-process';
import { spawnServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import { connectHeapProbe, inspectorUrl, type HeapProbe } from './heap-probe';
import type { WorkflowInput } from '../../src/lib/workflow/schema';

export interface StackOptions {
	/** Simulator flags (`--latency-ms 5` …). */
	simulatorArgs: string[];
	/** Extra server environment (MAX_CONCURRENT_JOBS …). */
	env?: Record<string, string>;
	/** Open the server's inspector on a loopback port, for `heapAfterGc()`. */
	inspect?: boolean;
}

/** What `POST /api/workflows` answers. */
export interface CreatedWorkflow {
	id: string;
	edit_token: string;
	view_token: string;
}

export interface Stack {
	/** `http://127.0.0.1:<port>` */
	url: string;
	/** `ws://127.0.0.1:<port>` */
	wsOrigin: string;
	server: ServerProcess;
	sim: SimProcess;
	/** The server process's resident set size now, in bytes. */
	rss(): Promise<number>;
	/** The server process's CPU time so far (user + system), in seconds. */
	cpuSeconds(): Promise<number>;
	/** The server's used heap after a forced full GC, in bytes (needs `inspect`). */
	heapAfterGc(): Promise<number>;
	createWorkflow(workflow: WorkflowInput): Promise<CreatedWorkflow>;
	/** Uploads a CSV for the workflow; its stored path, for read_csv. */
	upload(workflow: CreatedWorkflow, csv: string): Promise<string>;
	/**
	 * Changes the workflow's shared document as an editor would (through its room) and resolves once
	 * the server's snapshot shows the change (`done` says when).
	 */
	edit(workflow: CreatedWorkflow, change: (doc: Y.Doc) => void, done: (snapshot: WorkflowInput) => boolean): Promise<void>;
	/** Starts a run of the workflow's shared document, as its editor; the job id. */
	run(workflow: CreatedWorkflow): Promise<string>;
	/** `GET /api/workflows/jobs/:id` */
	job(jobId: string, token: string): Promise<{ status: string; workflow_id: string | null; rows_out?: number } & Record<string, unknown>>;
	close(): Promise<void>;
}

/** Starts simulator and server in a fresh data directory; `close()` stops both and removes it. */
export async function startStack(options: StackOptions): Promise<Stack> {
	const temp: TempDir = await makeTempDir('leadflow-load-');
	let sim: SimProcess | null = null;
	let server: ServerProcess | null = null;
	let probe: HeapProbe | null = null;
	try {
		sim = await spawnSimulator(options.simulatorArgs);
		const inspect: Record<string, string> = options.inspect ? { NODE_OPTIONS: '--inspect=127.0.0.1:0' } : {};
		server = await spawnServer(testServerEnv(temp.dir, sim.url, { SIXTYFOUR_ASYNC: 'false', ...inspect, ...options.env }));
		if (options.inspect) {
			const url = inspectorUrl(server.lines);
			if (!url) throw new Error('the server did not open its inspector');
			probe = await connectHeapProbe(url);
		}
	} catch (err) {
		probe?.close();
		if (server) await stopServer(server);
		await sim?.close();
		await temp.cleanup();
		throw err;
	}
	const pid = server.child.pid!;
	const base = server.url;

	async function call<T>(path: string, init: RequestInit & { token?: string } = {}): Promise<T> {
		const headers = new Headers(init.headers);
		headers.set('accept', 'application/json');
		if (init.token) headers.set('authorization', `Bearer ${init.token}`);
		const res = await fetch(`${base}${path}`, { ...init, headers });
		const text = await res.text();
		if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${text.slice(0, 300)}`);
		return JSON.parse(text) as T;
	}

	const stack: Stack = {
		url: base,
		wsOrigin: base.replace(/^http/, 'ws'),
		server,
		sim,
		rss: async () => (await procStatus(pid, 'VmRSS')) * 1024,
		cpuSeconds: () => procCpuSeconds(pid),
		heapAfterGc: () => (probe ? probe.usedAfterGc() : Promise.reject(new Error('start the stack with inspect: true'))),
		createWorkflow: (workflow) =>
			call<CreatedWorkflow>('/api/workflows', {
				method: 'POST',
				body: JSON.stringify({ from: workflow }),
				headers: { 'content-type': 'application/json' }
			}),
		async upload(workflow, csv) {
			const form = new FormData();
			form.append('workflow_id', workflow.id);
			form.append('file', new Blob([csv], { type: 'text/csv' }), 'leads.csv');
			const answer = await call<{ file_path: string }>(`/api/workflows/upload?workflow_id=${encodeURIComponent(workflow.id)}`, {
				method: 'POST',
				body: form,
				token: workflow.edit_token
			});
			return answer.file_path;
		},
		async edit(workflow, change, done) {
			const doc = new Y.Doc();
			const provider = new WebsocketProvider(`${base.replace(/^http/, 'ws')}/yjs`, workflow.id, doc, {
				params: { token: workflow.edit_token },
				WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
				disableBc: true
			});
			try {
				const deadline = Date.now() + 15_000;
				while (!provider.synced) {
					if (Date.now() > deadline) throw new Error('the room did not sync within 15 s');
					await new Promise((resolve) => setTimeout(resolve, 20));
				}
				change(doc);
				for (;;) {
					const { workflow: snapshot } = await call<{ workflow: WorkflowInput }>(`/api/workflows/${workflow.id}`, {
						token: workflow.edit_token
					});
					if (done(snapshot)) return;
					if (Date.now() > deadline) throw new Error('the server did not show the edit within 15 s');
					await new Promise((resolve) => setTimeout(resolve, 50));
				}
			} finally {
				provider.destroy();
				doc.destroy();
			}
		},
		async run(workflow) {
			const answer = await call<{ job_id: string }>('/api/workflows/run', {
				method: 'POST',
				body: JSON.stringify({ workflow_id: workflow.id, options: {} }),
				headers: { 'content-type': 'application/json' },
				token: workflow.edit_token
			});
			return answer.job_id;
		},
		job: (jobId, token) => call(`/api/workflows/jobs/${encodeURIComponent(jobId)}`, { token }),
		async close() {
			probe?.close();
			await stopServer(server!);
			await sim!.close();
			await temp.cleanup();
		}
	};
	return stack;
}

/** SIGTERM, then SIGKILL if the server has not exited within 10 s. */
async function stopServer(server: ServerProcess): Promise<void> {
	if (server.child.exitCode !== null || server.child.signalCode !== null) return;
	server.child.kill('SIGTERM');
	const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
	await Promise.race([server.exited, once(server.child, 'exit')]);
	clearTimeout(timer);
}

/** A `kB` field of /proc/<pid>/status (Linux). */
async function procStatus(pid: number, field: string): Promise<number> {
	const text = await readFile(`/proc/${pid}/status`, 'utf8');
	const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
	if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
	return Number(match[1]);
}

/** utime + stime of /proc/<pid>/stat, in seconds (clock ticks are 100 Hz on Linux). */
async function procCpuSeconds(pid: number): Promise<number> {
	const text = await readFile(`/proc/${pid}/stat`, 'utf8');
	// Fields after the command name (which may hold spaces) start after the last ')'.
	const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
	return (Number(fields[11]) + Number(fields[12])) / 100;
}
