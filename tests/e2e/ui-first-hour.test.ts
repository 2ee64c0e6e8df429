/**
 * The first hour (issue 16): a one-click fix applied as one undoable edit that a collaborator sees;
 * a workflow built, run and downloaded with the keyboard alone; and a fresh user who runs a
 * template, timed (the figure is logged, never asserted: this machine is shared).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from './helpers/app';
import { blockTitles, launchBrowser, newPerson, screenshot } from './helpers/browser';
import { createWorkflow, serverWorkflow } from './helpers/api';
import { expectAccessible } from './helpers/axe';

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
	app = await startTestApp(); // the built-in simulator, as a newcomer gets it
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await app?.close();
});

/** Presses Tab until the focused element's accessible text matches `name` (at most `max` times). */
async function tabTo(page: Page, name: RegExp, max = 120): Promise<void> {
	for (let i = 0; i < max; i++) {
		await page.keyboard.press('Tab');
		const focused = await page.evaluate(() => {
			const el = document.activeElement as HTMLElement | null;
			return el ? `${el.getAttribute('aria-label') ?? ''} ${el.innerText ?? ''}`.replace(/\s+/g, ' ').trim() : '';
		});
		if (name.test(focused)) return;
	}
	throw new Error(`Tab never reached ${name}`);
}

describe('a one-click fix', () => {
	it('switches Enrich Company on lead rows to Enrich Lead, for everyone, as one undo step', async () => {
		const wf = await createWorkflow(app.url, {
			from: {
				name: 'Leads, wrong block',
				blocks: [
					{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
					{ id: 'enrich', type: 'enrich_company', params: { struct: { industry: 'The industry the company is in' } } },
					{ id: 'save', type: 'save_csv', params: {} }
				]
			}
		});
		const ada = await newPerson(browser, { name: 'Ada' });
		const bob = await newPerson(browser, { name: 'Bob' });
		for (const p of [ada, bob]) {
			await p.page.goto(`${app.url}${wf.edit_url}`);
			await p.page.locator('.block').first().waitFor();
		}
		const fix = ada.page.getByRole('button', { name: 'Switch to Enrich Lead' });
		await fix.waitFor({ timeout: 20_000 });
		await expectAccessible(ada.page, 'a problem with its fixes');
		await fix.click();

		for (const p of [ada, bob]) {
			await expect.poll(() => blockTitles(p.page)).toEqual(['Read CSV', 'Enrich Lead', 'Save CSV']);
			await expect.poll(() => p.page.locator('.problems .error').count()).toBe(0);
		}
		await expect
			.poll(async () => (await serverWorkflow(app.url, wf.id, wf.edit_token)).blocks[1])
			.toMatchObject({
				id: 'enrich',
				type: 'enrich_lead',
				params: { struct: { industry: 'The industry the company is in' } }
			});

		// One undo brings Enrich Company (and its problem) back, for both.
		await ada.page.getByRole('button', { name: 'Undo your last change' }).click();
		for (const p of [ada, bob]) await expect.poll(() => blockTitles(p.page)).toEqual(['Read CSV', 'Enrich Company', 'Save CSV']);
		await expect.poll(() => bob.page.getByRole('button', { name: 'Switch to Enrich Lead' }).count()).toBe(1);
		// The estimate is asked of the server's copy a moment after each edit; one asked just before the
		// server has the edit is refused (400) and asked again after: that is not a problem of the fix.
		expect([...ada.problems, ...bob.problems].filter((p) => !/^HTTP 400 POST \S+\/api\/workflows\/estimate$/.test(p))).toEqual([]);
		await ada.context.close();
		await bob.context.close();
	});
});

describe('the keyboard alone', () => {
	it('builds a workflow, runs it and downloads the file: Tab, Enter and Space only', async () => {
		const { page, problems, context } = await newPerson(browser, { name: 'Kay Board' });
		await page.goto(app.url);
		await page.locator('.template').first().waitFor();
		await tabTo(page, /^New workflow$/);
		await page.keyboard.press('Enter');
		await page.waitForURL(/\/w\/[^/]+\?token=/);
		await page.getByRole('heading', { name: 'This workflow is empty' }).waitFor();

		await tabTo(page, /^Add a Read CSV block$/);
		await page.keyboard.press('Enter');
		await tabTo(page, /^Use the sample leads$/);
		await page.keyboard.press('Enter');
		await page.getByText('leads.csv').first().waitFor();
		await tabTo(page, /^Add Find Email\b/);
		await page.keyboard.press('Enter');
		await tabTo(page, /^Add Save CSV\b/);
		await page.keyboard.press('Space');
		await expect.poll(() => blockTitles(page)).toEqual(['Read CSV', 'Find Email', 'Save CSV']);
		await expectAccessible(page, 'editor built with the keyboard');

		await expect.poll(() => page.locator('.estimate').innerText(), { timeout: 15_000 }).toMatch(/At most/);
		await tabTo(page, /^Run first 5 rows$/);
		await page.keyboard.press('Enter');
		const job = page.locator('section.job');
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 90_000, interval: 500 }).toBe('Completed');

		await tabTo(page, /^Download CSV$/);
		const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
		const csv = await readFile((await download.path())!, 'utf8');
		expect(csv.split('\n')[0]).toMatch(/email/);
		expect(csv.trim().split('\n').length).toBe(6); // the header and the 5 rows run
		await screenshot(page, 'keyboard-only-done');
		expect(problems).toEqual([]);
		await context.close();
	});
});

describe('a fresh user', () => {
	it('opens a template, gives a name, runs it and sees the results (timed)', async () => {
		const { page, problems, context } = await newPerson(browser, { viewport: { width: 1440, height: 900 } });
		const started = performance.now();
		await page.goto(app.url);
		await page
			.getByRole('button', { name: /^Use this template: / })
			.first()
			.click();
		const dialog = page.getByRole('dialog');
		await dialog.waitFor();
		await dialog.getByRole('textbox', { name: 'Display name' }).fill('Fresh Fran');
		await dialog.getByRole('button', { name: 'Continue' }).click();
		await page.locator('.block').first().waitFor();
		await expect.poll(() => page.locator('.estimate').innerText(), { timeout: 20_000 }).toMatch(/At most/);
		await page.getByRole('button', { name: /^Run first \d+ rows$/ }).click();
		const job = page.locator('section.job');
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 120_000, interval: 250 }).toBe('Completed');
		await page.getByRole('tab', { name: /Results/ }).click();
		await page.locator('.results tbody tr').first().waitFor({ timeout: 30_000 });
		const seconds = (performance.now() - started) / 1000;
		console.log(`[timing] a fresh user: home → template → name → run → results in ${seconds.toFixed(1)} s (built-in simulator)`);
		await screenshot(page, 'fresh-user-results');
		expect(problems).toEqual([]);
		await context.close();
	});
});
