/**
 * A scripted stand-in for the Sixtyfour API on 127.0.0.1:0, for unit tests of the client, the
 * cache and the service: each test decides every answer, and sees every request with its arrival
 * time. (The full simulator lives in server/enrichment/simulator; these tests must not depend on it.)
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
	method: string;
	path: string;
	headers: IncomingHttpHeaders;
	body: unknown;
	/** performance.now() when the request arrived. */
	at: number;
}

export interface FakeAnswer {
	status?: number;
	/** An object is sent as JSON; a string is sent verbatim (e.g. malformed JSON). */
	body?: unknown;
	headers?: Record<string, string>;
	/** Wait this long before answering (ms). */
	delayMs?: number;
	/** Never answer (the client must time out or abort). */
	hang?: boolean;
}

export type FakeHandler = (request: FakeRequest, index: number) => FakeAnswer | Promise<FakeAnswer>;

export interface FakeSixtyfour {
	url: string;
	requests: FakeRequest[];
	/** Requests being answered right now, and the most there ever were at once. */
	inFlight(): number;
	peakInFlight(): number;
	setHandler(handler: FakeHandler): void;
	close(): Promise<void>;
}

/** Starts the fake on an ephemeral loopback port. */
export async function startFakeSixtyfour(handler: FakeHandler): Promise<FakeSixtyfour> {
	let current = handler;
	const requests: FakeRequest[] = [];
	const open = new Set<ServerResponse>();
	let inFlight = 0;
	let peak = 0;
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', async () => {
			const text = Buffer.concat(chunks).toString('utf8');
			let body: unknown;
			try {
				body = text ? JSON.parse(text) : null;
			} catch {
				body = text;
			}
			const request: FakeRequest = {
				method: req.method ?? 'GET',
				path: req.url ?? '/',
				headers: req.headers,
				body,
				at: performance.now()
			};
			const index = requests.push(request) - 1;
			inFlight++;
			peak = Math.max(peak, inFlight);
			open.add(res);
			res.on('close', () => {
				open.delete(res);
				inFlight--;
			});
			const answer = await current(request, index);
			if (answer.hang) return;
			if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
			if (res.destroyed) return;
			const payload = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
			res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
			res.end(payload);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		inFlight: () => inFlight,
		peakInFlight: () => peak,
		setHandler(next) {
			current = next;
		},
		close() {
			for (const res of open) res.destroy();
			server.closeAllConnections();
			return new Promise((resolve) => server.close(() => resolve()));
		}
	};
}
