/**
 * Accessibility as a gate: axe-core runs inside every page and state a person meets — home, the
 * name dialog, the editor (with a problem and its fix buttons), the share menu, a run in progress,
 * the results, the run history, the version history, the view-only page — at a desktop width and at a phone's. No
 * serious or critical violation is allowed; minor ones are logged.
 *
 * Another panel (e.g. a version history) gets the gate by adding a state to STATES below, or by
 * calling `expectAccessible(page, 'its name')` from its own test (tests/e2e/helpers/axe.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from './helpers/app';
import { launchBrowser, newPerson } from './helpers/browser';
import { createWorkflow } from './helpers/api';
import { axeScan, describeFindings, type AxeScan } from './helpers/axe';

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
	app = await startTestApp(); // the built-in simulator: runs last long enough to look at them running
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await app?.close();
});

const VIEWPORTS = [
	{ name: 'desktop', width: 1440, height: 900 },
	{ name: 'phone', width: 390, height: 844 }
] as const;

/** Waits until the editor shows the shared workflow. */
async function editorReady(page: Page): Promise<void> {
	await page.locator('.block').first().waitFor({ timeout: 20_000 });
}

describe.each(VIEWPORTS)('axe-core on every state at $name width', (viewport) => {
	it('finds no serious or critical violation', async () => {
		const scans: AxeScan[] = [];
		const scan = async (page: Page, state: string) => scans.push(await axeScan(page, `${viewport.name}: ${state}`));
		const size = { width: viewport.width, height: viewport.height };

		// A newcomer: the name dialog first.
		const newcomer = await newPerson(browser, { viewport: size });
		const demo = await createWorkflow(app.url, { from: 'filtered' });
		await newcomer.page.goto(`${app.url}${demo.edit_url}`);
		await newcomer.page.getByRole('dialog').waitFor();
		await scan(newcomer.page, 'name dialog');
		await newcomer.context.close();

		const { page, problems, context } = await newPerson(browser, { name: 'Axe Tester', viewport: size });
		await page.goto(app.url);
		await page.getByRole('heading', { name: 'Start from a template' }).waitFor();
		await page.locator('.template').first().waitFor();
		await scan(page, 'home');

		await page.goto(`${app.url}${demo.edit_url}`);
		await editorReady(page);
		await scan(page, 'editor');

		await page.getByRole('button', { name: 'Version history', exact: true }).click();
		await page.getByTestId('history-panel').waitFor();
		await scan(page, 'version history');
		await page.getByTestId('history-panel').getByRole('button', { name: 'Close', exact: true }).click();
		await page.getByTestId('history-panel').waitFor({ state: 'detached' });

		await page.getByRole('button', { name: 'Share' }).click();
		await page.getByRole('dialog', { name: 'Share this workflow' }).waitFor();
		await scan(page, 'share menu');
		await page.keyboard.press('Escape');
		await page
			.getByRole('button', { name: 'Share' })
			.click({ trial: false })
			.catch(() => {});

		// A workflow with a problem that has one-click fixes.
		const broken = await createWorkflow(app.url, {
			from: {
				name: 'Needs a fix',
				blocks: [
					{ id: 'r', type: 'read_csv', params: { path: 'samples/leads.csv' } },
					{ id: 'c', type: 'enrich_company', params: { struct: { industry: 'The industry' } } }
				]
			}
		});
		await page.goto(`${app.url}${broken.edit_url}`);
		await editorReady(page);
		await page.locator('.fix').first().waitFor({ timeout: 20_000 });
		await scan(page, 'editor with a problem and its fixes');

		// A run in progress, then its results and the run history.
		await page.goto(`${app.url}${demo.edit_url}`);
		await editorReady(page);
		await page.getByRole('radio', { name: /whole file/ }).check();
		await expect.poll(() => page.locator('.estimate').innerText(), { timeout: 15_000 }).toMatch(/At most/);
		await page.getByRole('button', { name: 'Run the whole file' }).click();
		const job = page.locator('section.job');
		// A short run may already have finished when the badge is read: the state scanned is then its end.
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 15_000 }).toMatch(/Queued|Running|Completed/);
		await scan(page, 'running');
		await page.getByRole('tab', { name: /Results/ }).click();
		await scan(page, 'results while running');
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 120_000, interval: 500 }).toBe('Completed');
		await page.locator('.results tbody tr').first().waitFor({ timeout: 20_000 });
		await scan(page, 'results');
		await page.getByRole('tab', { name: 'Workflow' }).click();
		await scan(page, 'editor after a run (run history)');

		// The view-only page.
		await page.goto(`${app.url}${demo.view_url}`);
		await editorReady(page);
		await scan(page, 'view only');
		await context.close();

		for (const s of scans) {
			console.log(
				`[axe] ${s.state}: ${s.blocking.length} serious/critical, ${s.other.length} minor/moderate${s.other.length ? ` (${s.other.map((f) => f.id).join(', ')})` : ''}${s.blocking.length ? `\n${describeFindings(s.blocking)}` : ''}`
			);
		}
		const blocking = scans.filter((s) => s.blocking.length > 0);
		expect(blocking.map((s) => `${s.state}:\n${describeFindings(s.blocking)}`).join('\n')).toBe('');
		expect(scans.length).toBe(11);
		expect(problems).toEqual([]);
	});
});
