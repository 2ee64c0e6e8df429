/**
 * A run held back by the API's rate limit says so plainly ("waiting on the rate limit", not an
 * error), and a person can cancel it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPerson, screenshot } from './helpers/browser';
import { createWorkflow } from './helpers/api';
import { startFastApp, type FastApp } from './helpers/fast-app';

let app: FastApp;
let browser: Browser;

beforeAll(async () => {
	// 12 requests a minute: after the first burst, every call waits for the limiter.
	app = await startFastApp({ env: { SIXTYFOUR_RATE_LIMIT_PER_MIN: '12' } });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await app?.close();
});

describe('a run held back by the rate limit', () => {
	it('shows the wait honestly, without errors, and can be cancelled', async () => {
		const wf = await createWorkflow(app.url, { from: 'basic' });
		const { page, problems } = await newPerson(browser, { name: 'Pat Patient' });
		await page.goto(app.url + wf.edit_url);
		await page.locator('.block').first().waitFor();
		await page.getByRole('radio', { name: /whole file/ }).check();
		await page.getByRole('button', { name: 'Run the whole file' }).click();
		const job = page.locator('section.job');
		const state = job.locator('.state');
		await expect.poll(() => state.innerText(), { timeout: 30_000, interval: 200 }).toContain('Waiting on the API rate limit');
		expect(await job.locator('.badge').first().innerText()).toBe('Running');
		expect(await job.locator('.totals div', { hasText: 'Errors' }).locator('dd').innerText()).toBe('0');
		expect(await job.locator('.error').count()).toBe(0);
		// The card of the waiting block says it too.
		await expect.poll(() => page.locator('.block').nth(1).locator('.strip').innerText()).toContain('Waiting on rate limit');
		await screenshot(page, '50-rate-limited');

		await job.getByRole('button', { name: 'Cancel' }).click();
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 20_000 }).toBe('Cancelled');
		expect(await job.locator('.state').count()).toBe(0);
		// A cancel is a person's choice, not an error.
		expect(await job.locator('.note').innerText()).toContain('Cancelled');
		expect(await job.locator('.error').count()).toBe(0);
		await screenshot(page, '51-cancelled');
		expect(problems).toEqual([]);
	});
});
