/**
 * The API reference on the real server: node:http sets the API's headers (`default-src 'none'`)
 * before the route runs, so the page must come out with its own policy — its stylesheet allowed
 * by hash, still no script, no framing — and the common security headers.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { validate } from '@readme/openapi-parser';
import type { RunningServer } from '../../server/index';
import { REFERENCE_PAGE_CSP } from '../../server/openapi/reference-page';
import { startTestServer, testServerEnv } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let temp: TempDir;
let server: RunningServer;

beforeAll(async () => {
	temp = await makeTempDir();
	server = await startTestServer(testServerEnv(temp.dir, null));
});
afterAll(async () => {
	await server?.close();
	await temp?.cleanup();
});

it('serves the reference page with its own policy: its stylesheet, no script', async () => {
	const res = await fetch(`${server.url}/api/docs`);
	expect(res.status).toBe(200);
	expect(res.headers.get('content-security-policy')).toBe(REFERENCE_PAGE_CSP);
	expect(REFERENCE_PAGE_CSP).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'/);
	expect(res.headers.get('x-frame-options')).toBe('DENY');
	expect(res.headers.get('x-content-type-options')).toBe('nosniff');
	const html = await res.text();
	expect(html).not.toMatch(/<script/i);
	expect(html).toContain('href="/api/openapi.json"');
});

it('serves the OpenAPI document, valid, with the shared-workflow routes the server mounts', async () => {
	const res = await fetch(`${server.url}/api/openapi.json`);
	expect(res.status).toBe(200);
	const doc = (await res.json()) as { paths: Record<string, unknown> };
	expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/workflows', '/api/workflows/{id}', '/api/workflows/run']));
	await expect(validate(doc as never)).resolves.toMatchObject({ valid: true });
});
