/**
 * The everyday paths around the editor: the display name asked once, the home page's recent list
 * and JSON import, share links, drag and drop, and links that do not work.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { blockTitles, launchBrowser, newPerson, screenshot } from './helpers/browser';
import { createWorkflow, serverWorkflow } from './helpers/api';
import { startFastApp, type FastApp } from './helpers/fast-app';

const FILTERED_JSON = fileURLToPath(new URL('../../data/examples/filtered.json', import.meta.url));

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

describe('first visit', () => {
	it('asks for a display name once and remembers it', async () => {
		const wf = await createWorkflow(app.url, { from: 'basic' });
		const { page, problems } = await newPerson(browser);
		await page.goto(app.url + wf.edit_url);
		const dialog = page.getByRole('dialog', { name: 'What should others call you?' });
		await dialog.waitFor();
		await screenshot(page, '40-name-dialog');
		expect(await dialog.getByRole('button', { name: 'Continue' }).isDisabled()).toBe(true);
		await dialog.getByLabel('Display name').fill('Lin Park');
		await dialog.getByLabel('Display name').press('Enter');
		await page.locator('.block').first().waitFor();
		await expect.poll(() => page.getByRole('group', { name: /here/ }).getAttribute('aria-label')).toMatch(/Lin Park/);
		await page.reload();
		await page.locator('.block').first().waitFor();
		expect(await page.getByRole('dialog').count()).toBe(0);
		expect(problems).toEqual([]);
	});
});

describe('home page', () => {
	it('imports a workflow JSON file and lists it among recent workflows', async () => {
		const { page, problems } = await newPerson(browser, { name: 'Iris Import' });
		await page.goto(app.url);
		await expect.poll(() => page.getByText('No workflows yet.').isVisible()).toBe(true);
		await page.getByLabel('Import a workflow JSON file').setInputFiles(FILTERED_JSON);
		await page.waitForURL(/\/w\//);
		await expect.poll(() => blockTitles(page)).toEqual(['Read CSV', 'Filter', 'Enrich Lead', 'Filter', 'Save CSV']);
		await page.goto(app.url);
		const recent = page.getByRole('link', { name: /Filtered: Ariglad Inc people/ });
		await recent.waitFor();
		await screenshot(page, '41-home-recent');
		await recent.click();
		await page.locator('.block').first().waitFor();
		expect(problems).toEqual([]);
	});

	it('says plainly when an import is not a workflow', async () => {
		const { page } = await newPerson(browser, { name: 'Iris Import', allowStatuses: [400] });
		await page.goto(app.url);
		await page.getByLabel('Import a workflow JSON file').setInputFiles({
			name: 'broken.json',
			mimeType: 'application/json',
			buffer: Buffer.from(JSON.stringify({ blocks: [{ id: 'x', type: 'teleport', params: {} }] }))
		});
		await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/.+/);
		await page
			.getByLabel('Import a workflow JSON file')
			.setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('not json') });
		await expect.poll(() => page.getByRole('alert').innerText()).toContain('notes.json is not a JSON file');
		expect(page.url()).toBe(`${app.url}/`);
	});
});

describe('share links', () => {
	it('gives the edit link and a view link that opens read-only', async () => {
		const { page } = await newPerson(browser, { name: 'Sol Share' });
		await page.goto(app.url);
		await page.getByRole('button', { name: 'New workflow' }).click();
		await page.waitForURL(/\/w\//);
		await page.getByRole('button', { name: 'Share' }).click();
		const dialog = page.getByRole('dialog', { name: 'Share this workflow' });
		const edit = await dialog.getByLabel('Edit link', { exact: true }).inputValue();
		const view = await dialog.getByLabel('View-only link', { exact: true }).inputValue();
		expect(edit).toBe(page.url());
		expect(view).not.toBe(edit);
		await screenshot(page, '42-share');
		const other = await newPerson(browser, { name: 'Val Viewer' });
		await other.page.goto(view);
		await other.page.getByText('View only', { exact: true }).waitFor();
		expect(await other.page.getByRole('button', { name: /^Add / }).count()).toBe(0);
	});
});

describe('drag and drop', () => {
	it('adds a block from the palette where it is dropped, and moves a card by its handle', async () => {
		const wf = await createWorkflow(app.url, { from: 'basic' });
		// Tall enough that nothing scrolls mid-drag.
		const { page } = await newPerson(browser, { name: 'Dee Dragger', viewport: { width: 1280, height: 1600 } });
		await page.goto(app.url + wf.edit_url);
		await page.locator('.block').first().waitFor();
		expect(await blockTitles(page)).toEqual(['Read CSV', 'Enrich Lead', 'Save CSV']);

		await page
			.getByRole('button', { name: /^Add Filter\b/ })
			.dragTo(page.locator('.block').nth(1), { targetPosition: { x: 60, y: 8 } });
		await expect.poll(() => blockTitles(page)).toEqual(['Read CSV', 'Filter', 'Enrich Lead', 'Save CSV']);

		await page
			.locator('.block')
			.nth(3)
			.locator('.handle')
			.dragTo(page.locator('.block').nth(1), { targetPosition: { x: 60, y: 8 } });
		await expect.poll(() => blockTitles(page)).toEqual(['Read CSV', 'Save CSV', 'Filter', 'Enrich Lead']);
		const doc = await serverWorkflow(app.url, wf.id, wf.edit_token);
		expect(doc.blocks.map((b) => b.type)).toEqual(['read_csv', 'save_csv', 'filter', 'enrich_lead']);
		await screenshot(page, '43-after-drag');
	});
});

describe('card actions', () => {
	it('duplicates and removes a block, and undo brings a removed block back', async () => {
		const wf = await createWorkflow(app.url, { from: 'basic' });
		const { page, problems } = await newPerson(browser, { name: 'Cora Cards' });
		await page.goto(app.url + wf.edit_url);
		await page.locator('.block').first().waitFor();
		const enrich = page.locator('.block').nth(1);
		await enrich.getByRole('button', { name: 'Duplicate Enrich Lead', exact: true }).click();
		await expect.poll(() => blockTitles(page)).toEqual(['Read CSV', 'Enrich Lead', 'Enrich Lead', 'Save CSV']);
		// The copy has the same params and its own id.
		const doc = await serverWorkflow(app.url, wf.id, wf.edit_token);
		expect(doc.blocks[2].params).toEqual(doc.blocks[1].params);
		expect(doc.blocks[2].id).not.toBe(doc.blocks[1].id);

		// Two quick removals are two undo steps, not one.
		await page.locator('.block').nth(2).getByRole('button', { name: 'Remove Enrich Lead', exact: true }).click();
		await page.locator('.block').nth(0).getByRole('button', { name: 'Remove Read CSV', exact: true }).click({ delay: 0 });
		await expect.poll(() => blockTitles(page)).toEqual(['Enrich Lead', 'Save CSV']);
		// Without Read CSV the first block has nothing to work on: said on the card, in red.
		await expect.poll(() => page.locator('.block').first().locator('.problems .error').innerText()).toContain('comes after nothing');
		await page.getByRole('button', { name: 'Undo your last change' }).click();
		await expect.poll(() => blockTitles(page)).toEqual(['Read CSV', 'Enrich Lead', 'Save CSV']);
		expect(problems).toEqual([]);
	});
});

describe('links that do not work', () => {
	it.each([
		{ name: 'unknown workflow', path: '/w/AAAAAAAAAAAAAAAAAAAAAA?token=nope', status: 404, text: 'does not exist' },
		{ name: 'no token', path: '/w/AAAAAAAAAAAAAAAAAAAAAA', status: 0, text: 'no access token' }
	])('$name: a clear page, no editor', async ({ path, status, text }) => {
		const { page, problems } = await newPerson(browser, { name: 'Lost Larry', allowStatuses: status ? [status] : [] });
		await page.goto(app.url + path);
		await page.getByRole('heading', { name: "This link doesn't open a workflow" }).waitFor();
		expect(await page.locator('main, .panel').innerText()).toContain(text);
		expect(problems).toEqual([]);
	});

	it('a wrong token for a real workflow', async () => {
		const wf = await createWorkflow(app.url, {});
		const { page } = await newPerson(browser, { name: 'Lost Larry', allowStatuses: [403] });
		await page.goto(`${app.url}/w/${wf.id}?token=wrong-token`);
		await page.getByText('This link is not valid for this workflow').waitFor();
		await screenshot(page, '44-bad-link');
	});
});
