/**
 * The Sixtyfour API key never reaches the browser: not in the built bundle, not in any HTTP
 * response, not in any WebSocket frame of a session that edits and runs a workflow.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPerson } from './helpers/browser';
import { startFastApp, type FastApp } from './helpers/fast-app';

const KEY = 'sk-e2e-marker-7f3a9c1d2b';
const CLIENT_BUILD = fileURLToPath(new URL('../../build/client', import.meta.url));

let app: FastApp;
let browser: Browser;

beforeAll(async () => {
	app = await startFastApp({ apiKey: KEY });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await app?.close();
});

async function* files(dir: string): AsyncGenerator<string> {
	for (const entry of await readdir(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) yield* files(path);
		else yield path;
	}
}

describe('the API key', () => {
	it('is not in the browser bundle', async () => {
		let checked = 0;
		for await (const file of files(CLIENT_BUILD)) {
			const text = await readFile(file, 'utf8');
			expect(text.includes(KEY), file).toBe(false);
			expect(/SIXTYFOUR_API_KEY\s*[:=]|process\.env/.test(text), file).toBe(false);
			checked++;
		}
		expect(checked).toBeGreaterThan(3);
	});

	it('is in no response and no WebSocket frame of a session that edits and runs', async () => {
		const { page } = await newPerson(browser, { name: 'Sam Secret' });
		const seen: string[] = [];
		page.on('response', async (res) => {
			try {
				seen.push(`${res.url()}\n${JSON.stringify(await res.allHeaders())}\n${await res.text()}`);
			} catch {
				/* a body that is gone (redirect, download) */
			}
		});
		page.on('websocket', (ws) => {
			ws.on('framereceived', (f) => seen.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('latin1')));
			ws.on('framesent', (f) => seen.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('latin1')));
		});
		await page.goto(app.url);
		await page.getByRole('button', { name: 'Open the demo' }).click();
		await page.locator('.block').first().waitFor();
		await page.getByRole('button', { name: /^Run first/ }).click();
		await expect.poll(() => page.locator('section.job .badge').first().innerText(), { timeout: 60_000 }).toBe('Completed');
		await page.getByRole('tab', { name: /Results/ }).click();
		await page.locator('.results tbody tr').first().waitFor();
		expect(seen.length).toBeGreaterThan(10);
		expect(seen.filter((s) => s.includes(KEY))).toEqual([]);
	});
});
