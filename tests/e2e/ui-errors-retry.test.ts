/**
 * Rows that fail are data, not a failed job: they are highlighted in the results and can be
 * filtered, and "Retry failed rows" sends only those rows to the API again (the rest come from the
 * cache).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPerson, screenshot } from './helpers/browser';
import { createWorkflow } from './helpers/api';
import { startFastApp, type FastApp } from './helpers/fast-app';

let app: FastApp;
let browser: Browser;

beforeAll(async () => {
	app = await startFastApp();
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await app?.close();
});

const number = (text: string) => Number(text.replace(/[^\d]/g, ''));

describe('failed rows', () => {
	it('are highlighted, filterable, and retried alone', async () => {
		app.simulator.configure({ faults: { asyncFailed: 0.4 } });
		const wf = await createWorkflow(app.url, { from: 'basic' });
		const { page, problems } = await newPerson(browser, { name: 'Rita Retry' });
		await page.goto(app.url + wf.edit_url);
		await page.locator('.block').first().waitFor();
		await page.getByRole('radio', { name: /whole file/ }).check();
		await page.getByRole('button', { name: 'Run the whole file' }).click();
		const job = page.locator('section.job');
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 60_000, interval: 250 }).toBe('Completed');

		const errors = number(await job.locator('.totals div', { hasText: 'Errors' }).locator('dd').innerText());
		expect(errors).toBeGreaterThan(0);
		expect(errors).toBeLessThan(10);

		await page.getByRole('tab', { name: /Results/ }).click();
		// The live grid: one row per input row, in the file's order.
		const rows = page.locator('.results tr.row');
		await expect.poll(() => rows.count()).toBe(10);
		await expect.poll(() => page.locator('.results tr.row.error').count()).toBe(errors);
		// The reason is in the block's own cells, the first column group, readable without scrolling.
		expect((await page.locator('.results thead tr.groups th.group').allInnerTexts())[0]).toBe('ENRICH LEAD');
		const reasons = await page.locator('.results tr.row.error td[data-state="error"] .reason').allInnerTexts();
		expect(reasons).toHaveLength(errors);
		for (const reason of reasons) expect(reason).toMatch(/^Enrich Lead: /);
		// The filter is the server's (every page of a big result), not this page's.
		await page.getByRole('checkbox', { name: /Only rows with errors/ }).check();
		await expect
			.poll(async () => (await page.locator('.results header').innerText()).replace(/\s+/g, ' '))
			.toContain(`${errors} rows with errors`);
		await expect.poll(() => rows.count()).toBe(errors);
		expect(await page.locator('.results tr.row:not(.error)').count()).toBe(0);
		await screenshot(page, '30-errors-filtered');

		app.simulator.configure({ faults: { asyncFailed: 0 } });
		await job.getByRole('button', { name: 'Retry failed rows' }).click();
		await expect.poll(() => job.locator('p.muted').first().innerText(), { timeout: 10_000 }).toContain('retry of an earlier run');
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 60_000, interval: 250 }).toBe('Completed');
		expect(number(await job.locator('.totals div', { hasText: 'Errors' }).locator('dd').innerText())).toBe(0);
		// Only the failed rows reached the API: every other answer came from the cache.
		expect(number(await job.locator('.totals div', { hasText: 'Cached' }).locator('dd').innerText())).toBe(10 - errors);
		for (const value of await job
			.locator('.blocks [role="progressbar"]')
			.evaluateAll((els) => els.map((e) => e.getAttribute('aria-valuenow')))) {
			expect(value).toBe('100');
		}
		await expect.poll(() => page.locator('.results').innerText(), { timeout: 10_000 }).toContain('No row failed');
		await page.getByRole('checkbox', { name: /Only rows with errors/ }).uncheck();
		await expect.poll(() => rows.count()).toBe(10);
		expect(await page.locator('.results tr.row.error').count()).toBe(0);
		// The grid says which answers came from the cache: all but the rows that had failed.
		await expect.poll(() => page.locator('.results td[data-block="enrich"] .cached').count()).toBe(10 - errors);
		await screenshot(page, '31-retried');
		expect(problems).toEqual([]);
	});
});
