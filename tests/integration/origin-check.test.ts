/**
 * Production mode: a browser may open /yjs and /live only from the server's own origin (or from
 * ALLOWED_ORIGINS when set). Refused before the handshake, with 403.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collaboration } from '../../server/collaboration';
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

/** Status of the upgrade answer: 101 when the socket opened. */
function upgradeStatus(url: string, origin: string | undefined): Promise<number> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, origin ? { origin } : {});
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
	server = await startTestServer(testServerEnv(tmp.dir, null, extra), { extensions: [collaboration] });
	const created = await (await fetch(`${server.url}/api/workflows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json();
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

	it('development: any origin (Vite may serve the page from another port)', async () => {
		const urls = await start({ NODE_ENV: 'development' });
		expect(await upgradeStatus(urls.yjs, 'http://localhost:5173')).toBe(101);
	});
});
