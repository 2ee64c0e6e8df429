/**
 * The original brief's Filtered workflow, built from an empty workflow through the UI only: upload
 * the sample CSV, add and fill every block, run, and see the filtered, enriched rows.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { blockTitles, launchBrowser, newPerson, screenshot } from './helpers/browser';
import { serverWorkflow } from './helpers/api';
import { startFastApp, type FastApp } from './helpers/fast-app';

const SAMPLE = fileURLToPath(new URL('../../data/samples/leads.csv', import.meta.url));

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

const card = (page: Page, n: number) => page.locator('.block').nth(n);
const addBlock = (page: Page, label: string) => page.getByRole('button', { name: new RegExp(`^Add ${label}\\b`) }).click();

/** Renames a struct field: type the new name, press Enter. */
async function renameField(block: Locator, index: number, name: string) {
	const input = block.getByRole('textbox', { name: 'Field name' }).nth(index);
	await input.fill(name);
	await input.press('Enter');
	await expect.poll(() => block.getByRole('textbox', { name: `What to find for ${name}` }).count()).toBe(1);
}

describe('building the Filtered workflow through the UI', () => {
	it('uploads, adds and fills every block, runs, and shows the filtered, enriched rows', async () => {
		const { page, problems } = await newPerson(browser, { name: 'Bea Builder' });
		await page.goto(app.url);
		await page.getByRole('button', { name: 'New workflow' }).click();
		await page.waitForURL(/\/w\//);
		const url = new URL(page.url());
		const id = url.pathname.split('/').pop()!;
		const token = url.searchParams.get('token')!;

		await page.getByRole('textbox', { name: 'Workflow name' }).fill('Filtered');
		await page.getByRole('button', { name: 'Add a Read CSV block' }).click();
		await card(page, 0).getByLabel('Choose a CSV or Excel file to upload').setInputFiles(SAMPLE);
		await expect.poll(() => card(page, 0).innerText()).toContain('10 rows · 5 columns');
		await screenshot(page, '20-build-uploaded');

		await addBlock(page, 'Filter');
		await card(page, 1).locator('textarea[data-field="expression"]').fill('contains(company, "Ariglad Inc"');
		// Validation as you type: the missing ) is pointed at.
		await expect.poll(() => card(page, 1).locator('.errors').innerText()).toMatch(/\)/);
		await screenshot(page, '21-build-expression-error');
		await card(page, 1).locator('textarea[data-field="expression"]').press('End');
		await card(page, 1).locator('textarea[data-field="expression"]').pressSequentially(')');
		await expect.poll(() => card(page, 1).locator('.errors').count()).toBe(0);

		await addBlock(page, 'Enrich Lead');
		const enrich = card(page, 2);
		await renameField(enrich, 0, 'educational_background');
		await enrich
			.getByRole('textbox', { name: 'What to find for educational_background' })
			.fill('Degrees earned, with the institution and year');
		await enrich.getByRole('button', { name: '+ Add field' }).click();
		await renameField(enrich, 1, 'undergrad_university');
		await enrich
			.getByRole('textbox', { name: 'What to find for undergrad_university' })
			.fill('Where they did their undergraduate degree');
		await enrich.getByRole('button', { name: '+ Add field' }).click();
		await renameField(enrich, 2, 'is_american_education');
		await enrich.getByRole('textbox', { name: 'What to find for is_american_education' }).fill('True if that university is in the USA');
		await enrich.getByRole('combobox', { name: 'Type of is_american_education' }).selectOption('bool');
		await enrich.locator('textarea[data-field="research_plan"]').fill('Check the LinkedIn education section first.');

		await addBlock(page, 'Filter');
		await card(page, 3).locator('textarea[data-field="expression"]').fill('is_american_education == true');
		await addBlock(page, 'Save CSV');
		await card(page, 4).getByRole('textbox', { name: 'File name' }).fill('ariglad-american-education');

		expect(await blockTitles(page)).toEqual(['Read CSV', 'Filter', 'Enrich Lead', 'Filter', 'Save CSV']);
		// Every card says what kind of rows flow through it: the sample's rows are people.
		expect(await page.locator('.block .kinds').allInnerTexts()).toEqual([
			'lead rows',
			'lead rows',
			'lead rows → lead rows',
			'lead rows',
			'lead rows'
		]);
		await expect.poll(() => card(page, 2).getByRole('img', { name: 'This block needs lead rows and gives lead rows' }).count()).toBe(1);
		expect(await page.locator('.block .kinds.mismatch').count()).toBe(0);
		await expect.poll(() => page.locator('.problems').count()).toBe(0);
		await screenshot(page, '22-build-complete', true);

		// The server holds exactly what was built.
		await expect.poll(async () => (await serverWorkflow(app.url, id, token)).blocks.length).toBe(5);
		const doc = await serverWorkflow(app.url, id, token);
		expect(doc.name).toBe('Filtered');
		expect(doc.blocks.map((b) => b.type)).toEqual(['read_csv', 'filter', 'enrich_lead', 'filter', 'save_csv']);
		expect(doc.blocks[0].params).toMatchObject({ path: expect.stringMatching(/^uploads\/.+\.csv$/) });
		expect(doc.blocks[1].params).toMatchObject({ expression: 'contains(company, "Ariglad Inc")' });
		expect(doc.blocks[2].params).toMatchObject({
			struct: {
				educational_background: 'Degrees earned, with the institution and year',
				undergrad_university: 'Where they did their undergraduate degree',
				is_american_education: { description: 'True if that university is in the USA', type: 'bool' }
			},
			research_plan: 'Check the LinkedIn education section first.'
		});
		expect(Object.keys((doc.blocks[2].params as { struct: object }).struct)).toEqual([
			'educational_background',
			'undergrad_university',
			'is_american_education'
		]);
		expect(doc.blocks[3].params).toMatchObject({ expression: 'is_american_education == true' });
		expect(doc.blocks[4].params).toMatchObject({ filename: 'ariglad-american-education' });

		await page.getByRole('radio', { name: /whole file/ }).check();
		await page.getByRole('button', { name: 'Run the whole file' }).click();
		await expect
			.poll(() => page.locator('section.job .badge').first().innerText(), { timeout: 60_000, interval: 250 })
			.toBe('Completed');
		await page.getByRole('tab', { name: /Results/ }).click();
		const rows = page.locator('.results tbody tr.row[data-row]');
		await expect.poll(() => rows.count()).toBeGreaterThan(0);
		const header = await page.locator('.results thead th').allInnerTexts();
		const col = (name: string) => header.indexOf(name);
		expect(col('is_american_education')).toBeGreaterThan(0);
		expect(col('undergrad_university')).toBeGreaterThan(0);
		const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
		// Every row read is in the grid; the filter's dropped rows are marked, not hidden.
		expect(cells.length).toBe(10);
		expect(cells.filter((row) => row.some((cell) => cell.includes('Filtered out'))).length).toBeGreaterThan(0);
		// Rows past the first filter are Ariglad Inc's people (the second filter's keep/drop is in the download).
		for (const row of cells.filter((r) => !r.some((cell) => cell.includes('Filtered out')))) expect(row).toContain('Ariglad Inc');
		await screenshot(page, '23-build-results');
		expect(problems).toEqual([]);
	});
});
