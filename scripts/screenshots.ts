/**
 * The README's "What you see": screenshots of every state a person meets, at a phone's width
 * (390 × 844) and a desktop's (1440 × 900), into docs/screenshots/<state>-<width>.png. Each is
 * the viewport only, at device scale 1, so the files stay small.
 *
 * Runs the real app (built-in simulator, one run at a time so a second run shows as queued) with a
 * fresh data directory, and a headless Chromium. `npm run screenshots` (builds the UI when stale).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startTestApp } from '../tests/e2e/helpers/app';
import { createWorkflow } from '../tests/e2e/helpers/api';
import { launchBrowser, newPerson } from '../tests/e2e/helpers/browser';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const VIEWPORTS = [
	{ width: 390, height: 844 },
	{ width: 1440, height: 900 }
] as const;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check().catch(() => false))) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

async function main(): Promise<void> {
	mkdirSync(OUT, { recursive: true });
	const browser = await launchBrowser();
	const written: string[] = [];
	try {
		for (const viewport of VIEWPORTS) {
			// A fresh server (and answer cache) each time, so the runs take as long as a first run does.
			const app = await startTestApp({ MAX_CONCURRENT_JOBS: '1' });
			const shot = async (page: Page, state: string) => {
				// Let transitions and the estimate settle, and put the mouse out of the way.
				await page.mouse.move(0, viewport.height - 1);
				await page.waitForTimeout(400);
				const path = join(OUT, `${state}-${viewport.width}.png`);
				await page.screenshot({ path });
				written.push(path);
			};

			const demo = await createWorkflow(app.url, { from: 'filtered' });
			const newcomer = await newPerson(browser, { viewport });
			await newcomer.page.goto(`${app.url}${demo.edit_url}`);
			await newcomer.page.getByRole('dialog').waitFor();
			await shot(newcomer.page, 'name-dialog');
			await newcomer.context.close();

			const { page, context } = await newPerson(browser, { name: 'Ada Lovelace', viewport });
			await page.goto(app.url);
			await page.locator('.template').first().waitFor();
			await shot(page, 'home');

			await page.goto(`${app.url}${demo.edit_url}`);
			await page.locator('.block').first().waitFor();
			await until(
				() =>
					page
						.locator('.estimate')
						.innerText()
						.then((t) => /At most/.test(t)),
				'the estimate'
			);
			await shot(page, 'editor');

			await page.getByRole('button', { name: 'Share' }).click();
			await page.getByRole('dialog', { name: 'Share this workflow' }).waitFor();
			await shot(page, 'share-menu');
			await page.keyboard.press('Escape');

			const broken = await createWorkflow(app.url, {
				from: {
					name: 'Leads → companies?',
					blocks: [
						{ id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } },
						{ id: 'company', type: 'enrich_company', params: { struct: { industry: 'The industry the company is in' } } },
						{ id: 'save', type: 'save_csv', params: { filename: 'leads/out?' } }
					]
				}
			});
			await page.goto(`${app.url}${broken.edit_url}`);
			await page.locator('.fix').first().waitFor({ timeout: 30_000 });
			await page.locator('.block[data-block-id="company"] .problems').scrollIntoViewIfNeeded();
			await shot(page, 'one-click-fix');

			// Two runs at once on a server that runs one: the second waits, and says for what.
			await page.goto(`${app.url}${demo.edit_url}`);
			await page.locator('.block').first().waitFor();
			await page.getByRole('radio', { name: /whole file/ }).check();
			await until(
				() =>
					page
						.locator('.estimate')
						.innerText()
						.then((t) => /At most/.test(t)),
				'the estimate'
			);
			const run = page.getByRole('button', { name: /^Run / });
			await run.click();
			await until(
				() =>
					page
						.locator('section.job .badge')
						.first()
						.innerText()
						.then((t) => t === 'Running'),
				'the first run'
			);
			await shot(page, 'running');
			await run.click();
			await until(
				() =>
					page
						.locator('section.job .badge')
						.first()
						.innerText()
						.then((t) => t === 'Queued'),
				'the queued run'
			);
			await until(
				() =>
					page
						.locator('.queue-note')
						.first()
						.innerText()
						.then((t) => /ahead|next in line/.test(t)),
				'the queue place'
			);
			await page.locator('section.job').first().scrollIntoViewIfNeeded();
			await shot(page, 'queued');
			await page.getByRole('tab', { name: /Results/ }).click();
			await shot(page, 'results-queued');
			await until(
				() =>
					page
						.locator('section.job .badge')
						.first()
						.innerText()
						.then((t) => t === 'Completed'),
				'the runs to finish',
				240_000
			);
			await page.locator('.results tbody tr').first().waitFor({ timeout: 30_000 });
			await shot(page, 'results');

			await page.goto(`${app.url}${demo.view_url}`);
			await page.locator('.block').first().waitFor();
			await shot(page, 'view-only');
			await context.close();
			await app.close();
		}
	} finally {
		await browser.close();
	}
	console.log(`Wrote ${written.length} screenshots:\n${written.map((p) => `  ${p}`).join('\n')}`);
}

await main();
