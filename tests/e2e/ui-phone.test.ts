/**
 * On a phone (390 × 844): Run is on screen without scrolling (the run bar), every control is at
 * least 44 × 44 px, blocks move with buttons that say "Move up" / "Move down" (the hint never says
 * "drag"), the connection status is words, and nothing scrolls sideways — on the home page, the
 * editor, a run and its results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startFastApp, type FastApp } from './helpers/fast-app';
import { blockTitles, launchBrowser, newPerson, screenshot } from './helpers/browser';
import { createWorkflow } from './helpers/api';
import { sidewaysScroll, smallTargets } from './helpers/touch';

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

const PHONE = { width: 390, height: 844 };

async function expectPhoneFriendly(page: Page, state: string): Promise<void> {
	expect(await smallTargets(page), `controls under 44 px (${state})`).toEqual([]);
	expect(await sidewaysScroll(page), `sideways scroll (${state})`).toBe(0);
}

/** True when the element's box is wholly inside the viewport as the page is scrolled now. */
async function onScreen(page: Page, selector: string): Promise<boolean> {
	const box = await page.locator(selector).boundingBox();
	return box !== null && box.y >= 0 && box.y + box.height <= PHONE.height && box.x >= 0 && box.x + box.width <= PHONE.width;
}

describe('a phone', () => {
	it('reaches Run without scrolling, taps 44-px targets, moves blocks with buttons, never scrolls sideways', async () => {
		const { page, problems } = await newPerson(browser, { name: 'Pia Phone', viewport: PHONE });
		await page.goto(app.url);
		await page.locator('.template').first().waitFor();
		await expectPhoneFriendly(page, 'home');

		const demo = await createWorkflow(app.url, { from: 'filtered' });
		await page.goto(`${app.url}${demo.edit_url}`);
		await page.locator('.block').first().waitFor();
		await expect.poll(() => page.locator('.run-bar .go').innerText(), { timeout: 15_000 }).toBe('Run 5 rows');
		await expectPhoneFriendly(page, 'editor');

		// The connection status is words, not a bare dot; the hint says what works on touch.
		expect(
			await page
				.getByTestId('save-status')
				.filter({ hasText: /Connected|All changes saved/ })
				.isVisible()
		).toBe(true);
		const hint = await page.locator('.palette .hint').innerText();
		expect(hint).toMatch(/Move up \/ Move down/);
		expect(hint).not.toMatch(/drag/i);

		// Move buttons say so, and move the block (one tap, no drag).
		const before = await blockTitles(page);
		const down = page
			.locator('.block')
			.nth(1)
			.getByRole('button', { name: `Move down: ${before[1]}` });
		expect(await down.innerText()).toBe('Move down');
		await down.click();
		await expect.poll(() => blockTitles(page)).toEqual([before[0], before[2], before[1], ...before.slice(3)]);
		await page
			.locator('.block')
			.nth(2)
			.getByRole('button', { name: `Move up: ${before[1]}` })
			.click();
		await expect.poll(() => blockTitles(page)).toEqual(before);

		// Run is on screen at the top of the page and at the bottom of the blocks, without scrolling to it.
		await page.evaluate(() => window.scrollTo(0, 0));
		expect(await onScreen(page, '.run-bar .go')).toBe(true);
		await page.locator('.block').last().scrollIntoViewIfNeeded();
		expect(await onScreen(page, '.run-bar .go')).toBe(true);
		await screenshot(page, 'phone-editor');

		// "Add block" brings the palette to the screen.
		await page.evaluate(() => window.scrollTo(0, 0));
		await page.locator('.run-bar').getByRole('button', { name: 'Add block' }).click();
		await expect.poll(() => onScreen(page, '#palette h2')).toBe(true);

		// Run from the bar: the run starts and finishes; the results are phone-friendly too.
		await page.evaluate(() => window.scrollTo(0, 0));
		await page.locator('.run-bar .go').click();
		const job = page.locator('section.job');
		await expect.poll(() => job.locator('.badge').first().innerText(), { timeout: 60_000, interval: 300 }).toBe('Completed');
		await expectPhoneFriendly(page, 'after a run');
		await page.getByRole('tab', { name: /Results/ }).click();
		await page.locator('.results tbody tr').first().waitFor({ timeout: 20_000 });
		await expectPhoneFriendly(page, 'results');
		await screenshot(page, 'phone-results');
		expect(problems).toEqual([]);
	});
});
