/**
 * One gate for both socket endpoints: on a server started with no options beyond its config (the
 * rooms, the live channel and the workflow routes are always there), `/yjs/:id` and `/live/:id`
 * answer every refused upgrade with the same status and the same JSON error body, and let the same
 * links in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../server/index';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let temp: TempDir;
let server: RunningServer;
let a: { id: string; edit_token: string; view_token: string };
let b: { id: string; edit_token: string };

/** The upgrade's answer: 101 when the socket opened, else the refusal's status and body. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { headers });
		ws.once('open', () => {
			ws.close();
			resolve({ status: 101, body: null });
		});
		ws.once('unexpected-response', (_req, res) => {
			let text = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (text += chunk));
			res.on('end', () => {
				resolve({ status: res.statusCode ?? 0, body: { type: res.headers['content-type'], json: parseJson(text) } });
				ws.terminate();
			});
		});
		ws.once('error', reject);
	});
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

const create = async (name: string) =>
	(
		await fetch(`${server.url}/api/workflows`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ name })
		})
	).json();

beforeAll(async () => {
	temp = await makeTempDir();
	server = await startTestServer(testServerEnv(temp.dir, null, { NODE_ENV: 'production', ALLOWED_ORIGINS: 'https://app.example' }));
	a = await create('A');
	b = await create('B');
});
afterAll(async () => {
	await server.close();
	await temp.cleanup();
});

describe('the socket gate, the same for /yjs and /live', () => {
	const cases: [string, number, string, () => string, Record<string, string>?][] = [
		['no token', 401, 'unauthorized', () => `/${a.id}`],
		['an empty token', 401, 'unauthorized', () => `/${a.id}?token=`],
		['a 600-character token', 401, 'unauthorized', () => `/${a.id}?token=${'x'.repeat(600)}`],
		['a workflow nobody created', 401, 'unauthorized', () => `/${'Z'.repeat(22)}?token=${a.edit_token}`],
		['a wrong token', 403, 'forbidden', () => `/${a.id}?token=${'W'.repeat(32)}`],
		["another workflow's token", 403, 'forbidden', () => `/${a.id}?token=${b.edit_token}`],
		['a foreign browser origin', 403, 'forbidden', () => `/${a.id}?token=${a.edit_token}`, { origin: 'https://evil.example' }],
		['a malformed id', 404, 'not_found', () => `/..%2F..?token=${a.edit_token}`],
		['no id', 404, 'not_found', () => `/?token=${a.edit_token}`]
	];

	it.each(cases)('%s → %i with the JSON error body on both', async (_label, status, code, path, headers) => {
		const ws = server.url.replace('http', 'ws');
		const yjs = await upgrade(`${ws}/yjs${path()}`, headers);
		const live = await upgrade(`${ws}/live${path()}`, headers);
		expect(yjs).toEqual({
			status,
			body: { type: 'application/json; charset=utf-8', json: { error: { code, message: expect.any(String) } } }
		});
		expect(live).toEqual(yjs);
	});

	it('lets the edit and view links in on both, from the allowed origin or none', async () => {
		const ws = server.url.replace('http', 'ws');
		for (const channel of ['yjs', 'live']) {
			for (const token of [a.edit_token, a.view_token]) {
				expect((await upgrade(`${ws}/${channel}/${a.id}?token=${token}`)).status, `${channel} ${token}`).toBe(101);
				expect((await upgrade(`${ws}/${channel}/${a.id}?token=${token}`, { origin: 'https://app.example' })).status).toBe(101);
			}
		}
	});
});
