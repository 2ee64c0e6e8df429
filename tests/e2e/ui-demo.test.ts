/**
 * A newcomer opens the app, opens the demo, runs it on the built-in simulator, watches every block
 * reach 100%, and downloads a CSV whose rows are the server's output.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from './helpers/app';
import { launchBrowser, newPerson, screenshot } from './helpers/browser';
import { jobRows } from './helpers/api';

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
	app = await startTestApp(); // no key: the built-in simulator, as a newcomer gets it
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await app?.close();
});

describe('a newcomer runs the demo', () => {
	it('opens the demo, runs it to 100% and downloads the same rows the server has', async () => {
		const { page, problems } = await newPerson(browser, { name: 'Nora Newcomer' });
		await page.goto(app.url);
		await expect.poll(() => page.getByText('Simulator mode.').isVisible()).toBe(true);
		await screenshot(page, '01-home');

		await page.getByRole('button', { name: 'Open the demo' }).click();
		await page.waitForURL(/\/w\/[^/]+\?token=/);
		await page.locator('.block').first().waitFor();
		await expect.poll(() => page.locator('.block').count()).toBe(5);
		await screenshot(page, '02-demo-editor');

		await page.getByRole('radio', { name: /whole file/ }).check();
		// The estimate is shown before anything starts.
		await expect.poll(() => page.locator('.estimate').innerText(), { timeout: 10_000 }).toMatch(/At most \d+ API call/);
		await page.getByRole('button', { name: 'Run the whole file' }).click();
		const job = page.locator('section.job');
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 10_000 }).toMatch(/Queued|Running|Completed/);
		await screenshot(page, '03-demo-running');
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 90_000, interval: 500 }).toBe('Completed');
		await screenshot(page, '04-demo-done', true);

		// Every block of the run is at 100%.
		const bars = job.locator('.blocks [role="progressbar"]');
		expect(await bars.count()).toBe(5);
		for (const value of await bars.evaluateAll((els) => els.map((e) => e.getAttribute('aria-valuenow')))) expect(value).toBe('100');

		// The downloaded CSV holds exactly the rows the server stored for the job.
		const link = job.getByRole('link', { name: 'Download CSV' });
		const jobId = /jobs\/([^/]+)\/download/.exec((await link.getAttribute('href')) ?? '')?.[1];
		expect(jobId).toBeTruthy();
		const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
		const csv = parse(await readFile((await download.path())!, 'utf8'), { columns: true }) as Record<string, string>[];
		const server = await jobRows(app.url, jobId!, new URL(page.url()).searchParams.get('token')!);
		expect(csv.length).toBe(server.rows.length);
		expect(csv.length).toBeGreaterThan(0);
		const asText = (v: unknown) => (v === null || v === undefined ? '' : String(v));
		csv.forEach((row, i) => {
			for (const column of server.columns) expect(row[column], `row ${i} ${column}`).toBe(asText(server.rows[i][column]));
		});

		// The results grid shows every row read (the bundled sample's 10, filtered ones marked so);
		// the download above holds the rows that came out.
		await page.getByRole('tab', { name: /Results/ }).click();
		await expect.poll(() => page.locator('.results tbody tr.row[data-row]').count()).toBe(10);
		expect(await page.locator('.results tbody tr.row').filter({ hasText: 'Filtered out' }).count()).toBeGreaterThan(0);
		await screenshot(page, '05-demo-results');
		expect(problems).toEqual([]);
	});
});
