/**
 * Version history in the editor (issue 13): Ada saves a named version, changes the workflow, finds
 * the version in the panel with a readable diff against now, and restores it while Grace types in
 * another block: both pages converge on the same document (the restore plus Grace's typing), and
 * one Undo by Ada takes the restore back for everyone, Grace's typing kept. A view link (on a phone)
 * browses the history but has no Restore. Screenshots at 1440×900 and 390×844.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { blockTitles, launchBrowser, newPerson, screenshot, type Person } from './helpers/browser';
import { createWorkflow, serverWorkflow, type Created } from './helpers/api';
import { startFastApp, type FastApp } from './helpers/fast-app';

let app: FastApp;
let browser: Browser;
let wf: Created;
let ada: Person;
let grace: Person;

const SOON = { timeout: 5_000, interval: 50 };
const ORIGINAL = 'contains(company, "Ariglad Inc")';
const CHANGED = 'contains(company, "Changed Inc")';
const PLAN = "Look at the person's LinkedIn education section first, then university alumni pages.";
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const card = (page: Page, n: number) => page.locator('.block').nth(n);
const expression = (page: Page) => card(page, 1).locator('textarea[data-field="expression"]');
const plan = (page: Page) => card(page, 2).locator('textarea[data-field="research_plan"]');
const panel = (page: Page) => page.getByTestId('history-panel');
const version = (page: Page, title: string) => panel(page).getByTestId('version').filter({ hasText: title });

async function openHistory(page: Page) {
	if ((await panel(page).count()) === 0) await page.getByRole('button', { name: 'Version history', exact: true }).click();
	await panel(page).waitFor();
}

beforeAll(async () => {
	app = await startFastApp();
	browser = await launchBrowser();
	wf = await createWorkflow(app.url, { from: 'filtered' });
	ada = await newPerson(browser, { name: 'Ada Lovelace', viewport: { width: 1440, height: 900 } });
	grace = await newPerson(browser, { name: 'Grace Hopper' });
	for (const p of [ada.page, grace.page]) {
		await p.goto(app.url + wf.edit_url);
		await expression(p).waitFor();
	}
});

afterAll(async () => {
	await browser?.close();
	await app?.close();
});

describe('version history', () => {
	it('saves a named version and lists it with who saved it', async () => {
		await openHistory(ada.page);
		await panel(ada.page).getByRole('button', { name: 'Save version…' }).click();
		await panel(ada.page).getByLabel('Version name').fill('Original plan');
		await panel(ada.page).getByRole('button', { name: 'Save', exact: true }).click();
		await version(ada.page, 'Original plan').waitFor();
		expect(await version(ada.page, 'Original plan').innerText()).toMatch(/saved by Ada Lovelace/);
		await ada.page.keyboard.press('Escape');
		await expect.poll(() => panel(ada.page).count()).toBe(0);
	});

	it('shows what changed since a version, as sentences', async () => {
		await expression(ada.page).fill(CHANGED);
		await ada.page.getByRole('button', { name: /^Add Find Email\b/ }).click();
		await expect.poll(() => blockTitles(grace.page), SOON).toContain('Find Email');
		await expect.poll(() => expression(grace.page).inputValue(), SOON).toBe(CHANGED);

		await openHistory(ada.page);
		await version(ada.page, 'Original plan').getByRole('button').first().click();
		const diff = panel(ada.page).getByTestId('version-diff');
		await diff.waitFor();
		const lines = await diff.locator('li').allInnerTexts();
		expect(lines).toEqual([
			expect.stringMatching(/^Added Find Email \([\w-]+\) at 6$/),
			`Filter (only_ariglad): expression “${ORIGINAL}” → “${CHANGED}”`
		]);
		expect(await panel(ada.page).getByTestId('since-summary').innerText()).toBe('Since this version: 1 block added, 1 setting changed');
		await screenshot(ada.page, '40-history-panel-1440');
	});

	it('restores a version while another person edits: both converge, and one Undo takes the restore back', async () => {
		const before = await serverWorkflow(app.url, wf.id, wf.edit_token);
		await plan(grace.page).click();
		await plan(grace.page).press('End');
		// Grace types while Ada restores.
		const typing = plan(grace.page).pressSequentially(' Then the alumni list.', { delay: 40 });
		await panel(ada.page).getByRole('button', { name: 'Restore this version' }).click();
		await typing;
		await expect.poll(() => panel(ada.page).getByRole('status').innerText(), SOON).toMatch(/^Restored original plan \(version \d+\)/);

		// Converged: the version's blocks and expression on both pages and the server, Grace's words kept.
		for (const page of [ada.page, grace.page]) {
			await expect.poll(() => blockTitles(page), SOON).toEqual(['Read CSV', 'Filter', 'Enrich Lead', 'Filter', 'Save CSV']);
			await expect.poll(() => expression(page).inputValue(), SOON).toBe(ORIGINAL);
		}
		// The plan: the version's text (a restore sets every value, so what Grace had typed before it
		// is reverted with the rest), then whatever she typed after it; the same on both pages.
		await expect.poll(async () => (await plan(ada.page).inputValue()) === (await plan(grace.page).inputValue()), SOON).toBe(true);
		expect(await plan(ada.page).inputValue()).toMatch(new RegExp(`^${escape(PLAN)}`));
		await expect.poll(async () => (await serverWorkflow(app.url, wf.id, wf.edit_token)).blocks.length, SOON).toBe(5);

		// One Undo by Ada: the restore is gone for both, Grace's typing stays.
		await ada.page.keyboard.press('Escape');
		await ada.page.keyboard.press('Control+z');
		for (const page of [ada.page, grace.page]) {
			await expect.poll(() => expression(page).inputValue(), SOON).toBe(CHANGED);
			await expect.poll(() => blockTitles(page), SOON).toEqual(before.blocks.map(() => expect.any(String)));
			await expect.poll(() => blockTitles(page), SOON).toContain('Find Email');
			// Undo brings back what the restore removed, Grace's first keystrokes included.
			await expect.poll(() => plan(page).inputValue(), SOON).toBe(`${PLAN} Then the alumni list.`);
		}
		const after = await serverWorkflow(app.url, wf.id, wf.edit_token);
		expect(after.blocks.map((b) => b.id)).toEqual(before.blocks.map((b) => b.id));

		// The state before the restore was saved as a version too.
		await openHistory(ada.page);
		await version(ada.page, 'Before restoring version').waitFor();
		expect(await version(ada.page, 'Before restoring version').innerText()).toMatch(/restore by Ada Lovelace/);
		expect([...ada.problems, ...grace.problems]).toEqual([]);
	});

	it('a view link on a phone browses the history and its diff, with no Restore or Save', async () => {
		const carol = await newPerson(browser, { name: 'Carol Viewer', viewport: { width: 390, height: 844 } });
		await carol.page.goto(app.url + wf.view_url);
		await carol.page.locator('.block').first().waitFor();
		await openHistory(carol.page);
		await version(carol.page, 'Original plan').getByRole('button').first().click();
		await panel(carol.page).getByTestId('version-diff').waitFor();
		expect(await panel(carol.page).innerText()).toMatch(/View-only link: you can browse the history/);
		expect(await panel(carol.page).getByRole('button', { name: 'Restore this version' }).count()).toBe(0);
		expect(await panel(carol.page).getByRole('button', { name: 'Save version…' }).count()).toBe(0);
		await screenshot(carol.page, '41-history-panel-390');
		expect(carol.problems).toEqual([]);
	});

	it('the run history says who started each run, how long it took and how it ended', async () => {
		await grace.page.getByRole('button', { name: /^Run first \d+ rows$/ }).click();
		for (const page of [ada.page, grace.page]) {
			const run = page.locator('.history .item').first();
			await expect.poll(() => run.innerText(), { timeout: 30_000, interval: 100 }).toMatch(/by Grace Hopper/);
			await expect
				.poll(() => run.getByTestId('run-outcome').innerText(), { timeout: 30_000, interval: 100 })
				.toMatch(/^Completed · took \d/);
		}
		// The run is a version too, started by Grace.
		await openHistory(ada.page);
		await expect.poll(() => version(ada.page, 'Run').first().innerText(), SOON).toMatch(/started by Grace Hopper/);
		// What the version before the restore changed itself, and by whom.
		await version(ada.page, 'Before restoring version').getByRole('button').first().click();
		await panel(ada.page).getByTestId('version-own-changes').waitFor();
		expect(await panel(ada.page).getByTestId('version-own-changes').locator('li').allInnerTexts()).toContainEqual(
			expect.stringMatching(/^Filter \(only_ariglad\): expression/)
		);
		await screenshot(ada.page, '42-history-panel-list-1440');
		await ada.page.keyboard.press('Escape');
		await ada.page.locator('.history').scrollIntoViewIfNeeded();
		await screenshot(ada.page, '43-run-history-1440');
	});
});
