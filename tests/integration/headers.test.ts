/**
 * Security headers on a real server serving a real SvelteKit build: pages carry a CSP with no
 * inline-script allowance (SvelteKit nonces its own bootstrap), framing and sniffing are refused,
 * no Referer leaks a token; API answers — errors and 404s included — are nosniff and not cached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/index';
import { isolatedBuild } from '../helpers/isolated-build';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let temp: TempDir;
let server: RunningServer;
let workflow: { id: string; edit_token: string; view_token: string };

beforeAll(async () => {
	const build = await isolatedBuild('leakcheck', { SIXTYFOUR_API_KEY: 'sk-test-LEAKCHECK-123' });
	temp = await makeTempDir();
	server = await startTestServer(testServerEnv(temp.dir, null), { pages: () => build.loadHandler() });
	const res = await fetch(`${server.url}/api/workflows`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: '{"from":"basic"}'
	});
	workflow = (await res.json()) as typeof workflow;
}, 180_000);
afterAll(async () => {
	await server?.close();
	await temp?.cleanup();
});

const COMMON = {
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'no-referrer',
	'x-frame-options': 'DENY',
	'cross-origin-opener-policy': 'same-origin'
};

/** The directives of a CSP header, by name. */
function directives(csp: string | null): Map<string, string[]> {
	const out = new Map<string, string[]>();
	for (const part of (csp ?? '').split(';')) {
		const [name, ...values] = part.trim().split(/\s+/);
		if (name) out.set(name, values);
	}
	return out;
}

type Workflow = typeof workflow;

describe('pages', () => {
	it.each([
		{ what: 'the home page', path: () => '/' },
		{ what: 'a workflow page with its edit token', path: (w: Workflow) => `/w/${w.id}?token=${w.edit_token}` },
		{ what: 'a workflow page with its view token', path: (w: Workflow) => `/w/${w.id}?token=${w.view_token}` }
	])('$what has the CSP the app needs and nothing looser', async ({ path }) => {
		const res = await fetch(`${server.url}${path(workflow)}`);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toMatch(/^text\/html/);
		for (const [name, value] of Object.entries(COMMON)) expect(res.headers.get(name), name).toBe(value);
		const csp = directives(res.headers.get('content-security-policy'));
		expect(csp.get('default-src')).toEqual(["'self'"]);
		expect(csp.get('connect-src')).toEqual(["'self'", 'ws:', 'wss:']);
		expect(csp.get('img-src')).toEqual(["'self'", 'data:']);
		expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
		expect(csp.get('object-src')).toEqual(["'none'"]);
		// Scripts: our origin, plus the one nonce SvelteKit gave its bootstrap — no 'unsafe-inline', no eval.
		const scripts = csp.get('script-src') ?? [];
		expect(scripts[0]).toBe("'self'");
		expect(scripts.slice(1)).toHaveLength(1);
		expect(scripts[1]).toMatch(/^'(nonce|sha256)-[A-Za-z0-9+/=]+'$/);
		const html = await res.text();
		const nonce = /^'nonce-(.+)'$/.exec(scripts[1])?.[1];
		if (nonce) expect(html).toContain(`nonce="${nonce}"`);
	});

	it.each([
		{ what: 'a workflow page with its edit token', path: (w: Workflow) => `/w/${w.id}?token=${w.edit_token}`, cache: 'no-store' },
		{ what: 'a workflow page with its view token', path: (w: Workflow) => `/w/${w.id}?token=${w.view_token}`, cache: 'no-store' },
		{
			what: 'a workflow page with the token after another parameter',
			path: (w: Workflow) => `/w/${w.id}?x=1&token=${w.view_token}`,
			cache: 'no-store'
		}
	])('$what is never stored by a browser or proxy cache (the URL is the capability)', async ({ path, cache }) => {
		const res = await fetch(`${server.url}${path(workflow)}`);
		await res.arrayBuffer();
		expect(res.status).toBe(200);
		expect(res.headers.get('cache-control')).toBe(cache);
	});

	it('gives each page load a fresh script nonce', async () => {
		const a = directives((await fetch(`${server.url}/`)).headers.get('content-security-policy')).get('script-src');
		const b = directives((await fetch(`${server.url}/`)).headers.get('content-security-policy')).get('script-src');
		expect(a).not.toEqual(b);
	});

	it('puts the common headers on static assets and on a page that is not there', async () => {
		const html = await (await fetch(`${server.url}/`)).text();
		const script = /import\("\.(\/_app\/immutable\/[^"]+\.js)"\)/.exec(html)?.[1];
		const style = /href="\.(\/_app\/immutable\/[^"]+\.css)"/.exec(html)?.[1];
		expect(script).toBeTruthy();
		expect(style).toBeTruthy();
		for (const path of [script!, style!, '/favicon.svg', '/no-such-page']) {
			const res = await fetch(`${server.url}${path}`);
			await res.arrayBuffer();
			for (const [name, value] of Object.entries(COMMON)) expect(res.headers.get(name), `${path} ${name}`).toBe(value);
		}
	});
});

describe('API and operational endpoints', () => {
	it.each([
		{ what: 'status', method: 'GET', path: () => '/api/status', status: 200, cache: 'no-store' },
		{
			what: 'the public block catalogue (keeps its own caching)',
			method: 'GET',
			path: () => '/api/workflows/blocks',
			status: 200,
			cache: 'public, max-age=60'
		},
		{ what: 'create (answers tokens)', method: 'POST', path: () => '/api/workflows', body: '{}', status: 201, cache: 'no-store' },
		{
			what: 'read with a token',
			method: 'GET',
			path: (w: Workflow) => `/api/workflows/${w.id}?token=${w.edit_token}`,
			status: 200,
			cache: 'no-store'
		},
		{
			what: 'export',
			method: 'GET',
			path: (w: Workflow) => `/api/workflows/${w.id}/export?token=${w.view_token}`,
			status: 200,
			cache: 'no-store'
		},
		{
			what: 'a wrong token',
			method: 'GET',
			path: (w: Workflow) => `/api/workflows/${w.id}?token=nope`,
			status: 403,
			cache: 'no-store'
		},
		{ what: 'a bad body', method: 'POST', path: () => '/api/workflows', body: '{"from":', status: 400, cache: 'no-store' },
		{ what: 'an unknown route', method: 'GET', path: () => '/api/nope', status: 404, cache: 'no-store' },
		{ what: 'an unknown job', method: 'GET', path: () => '/api/workflows/jobs/nope', status: 404, cache: 'no-store' },
		{ what: 'health', method: 'GET', path: () => '/healthz', status: 200, cache: 'no-store' },
		{ what: 'metrics', method: 'GET', path: () => '/metrics', status: 200, cache: 'no-store' }
	])('$what ($status): nosniff, no framing, no referrer, cache-control $cache', async ({ method, path, body, status, cache }) => {
		const res = await fetch(`${server.url}${path(workflow)}`, {
			method,
			...(body ? { body, headers: { 'content-type': 'application/json' } } : {})
		});
		await res.arrayBuffer();
		expect(res.status).toBe(status);
		for (const [name, value] of Object.entries(COMMON)) expect(res.headers.get(name), name).toBe(value);
		expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
		expect(res.headers.get('cache-control')).toBe(cache);
	});
});
