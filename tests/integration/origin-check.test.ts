/**
 * Production mode: a browser may open /yjs and /live only from the server's own origin (or from
 * ALLOWED_ORIGINS when set). Refused before the handshake, with 403. And the Host a request names
 * must be the configured public one (PUBLIC_URL, ALLOWED_ORIGINS), an IP address or localhost: a
 * DNS-rebound name is refused on sockets and HTTP alike.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import type { RunningServer } from '../../server/index';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';
import { startTestServer, testServerEnv } from '../helpers/server';

let server: RunningServer | null = null;
let tmp: TempDir | null = null;
afterEach(async () => {
	await server?.close();
	await tmp?.cleanup();
	server = tmp = null;
});

/** Status of the upgrade answer: 101 when the socket opened. `host` replaces the Host header. */
function upgradeStatus(url: string, origin: string | undefined, host?: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { ...(origin ? { origin } : {}), ...(host ? { headers: { host } } : {}) });
		ws.once('open', () => {
			ws.close();
			resolve(101);
		});
		ws.once('unexpected-response', (_req, res) => {
			resolve(res.statusCode ?? 0);
			ws.terminate();
		});
		ws.once('error', reject);
	});
}

async function start(extra: Record<string, string>) {
	tmp = await makeTempDir();
	server = await startTestServer(testServerEnv(tmp.dir, null, extra));
	const created = await (
		await fetch(`${server.url}/api/workflows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
	).json();
	const ws = server.url.replace('http', 'ws');
	return { yjs: `${ws}/yjs/${created.id}?token=${created.edit_token}`, live: `${ws}/live/${created.id}?token=${created.edit_token}` };
}

describe('Origin checks on sockets', () => {
	it.each(['yjs', 'live'] as const)('production: /%s accepts the own origin and no origin, refuses another', async (channel) => {
		const urls = await start({ NODE_ENV: 'production' });
		const own = server!.url;
		expect(await upgradeStatus(urls[channel], own)).toBe(101);
		expect(await upgradeStatus(urls[channel], undefined)).toBe(101);
		expect(await upgradeStatus(urls[channel], 'https://evil.example')).toBe(403);
	});

	it('production with ALLOWED_ORIGINS: only the listed origins', async () => {
		const urls = await start({ NODE_ENV: 'production', ALLOWED_ORIGINS: 'https://app.example' });
		expect(await upgradeStatus(urls.live, 'https://app.example')).toBe(101);
		expect(await upgradeStatus(urls.live, 'https://evil.example')).toBe(403);
	});

	// DNS rebinding: evil.example's page, its name now resolving to this server, sends Origin and
	// Host both saying evil.example. Only the Host the operator configured (or an IP address or
	// localhost, which no one can rebind) may reach the server in production.
	it.each(['yjs', 'live'] as const)('production: /%s refuses a rebound name even when Origin matches Host', async (channel) => {
		const urls = await start({ NODE_ENV: 'production' });
		const port = new URL(server!.url).port;
		expect(await upgradeStatus(urls[channel], `http://evil.example:${port}`, `evil.example:${port}`)).toBe(403);
		expect(await upgradeStatus(urls[channel], `http://localhost:${port}`, `localhost:${port}`)).toBe(101);
	});

	it('production with PUBLIC_URL: its host and origin are let in, another name is not', async () => {
		const urls = await start({ NODE_ENV: 'production', PUBLIC_URL: 'https://leads.example.com' });
		expect(await upgradeStatus(urls.live, 'https://leads.example.com', 'leads.example.com')).toBe(101);
		expect(await upgradeStatus(urls.yjs, 'https://leads.example.com', 'leads.example.com')).toBe(101);
		expect(await upgradeStatus(urls.live, 'https://evil.example', 'evil.example')).toBe(403);
		expect(await upgradeStatus(urls.live, 'https://leads.example.com', 'evil.example')).toBe(403);
	});

	it('production: HTTP requests naming another host are refused before any route', async () => {
		await start({ NODE_ENV: 'production', PUBLIC_URL: 'https://leads.example.com' });
		const { port } = new URL(server!.url);
		const status = (host: string, path: string) =>
			new Promise<number>((resolve, reject) => {
				const req = httpRequest(
					{
						host: '127.0.0.1',
						port,
						path,
						method: 'POST',
						headers: { host, 'content-type': 'application/json', 'content-length': 2 }
					},
					(res) => {
						res.resume();
						resolve(res.statusCode ?? 0);
					}
				);
				req.on('error', reject);
				req.end('{}');
			});
		expect(await status('evil.example', '/api/workflows')).toBe(403);
		expect(await status(`evil.example:${port}`, '/api/workflows/run')).toBe(403);
		expect(await status('leads.example.com', '/api/workflows')).toBe(201);
		expect(await status(`127.0.0.1:${port}`, '/api/workflows')).toBe(201);
	});

	it('development: any origin (Vite may serve the page from another port)', async () => {
		const urls = await start({ NODE_ENV: 'development' });
		expect(await upgradeStatus(urls.yjs, 'http://localhost:5173')).toBe(101);
	});
});
