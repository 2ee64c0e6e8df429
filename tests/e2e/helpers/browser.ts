/**
 * Debian's Chromium driven by playwright-core, with what every UI test needs: a person with a
 * display name already chosen, every console error and failed request collected (a test fails on
 * them), and screenshots kept for people to look at (`E2E_SHOTS`, default /tmp/shots/e2e).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.E2E_SHOTS ?? '/tmp/shots/e2e';

/** Launches headless Chromium with the flags this machine needs (no sandbox, no GPU, quiet). */
export function launchBrowser(): Promise<Browser> {
	return chromium.launch({
		executablePath: CHROMIUM,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run'
		]
	});
}

export interface Person {
	context: BrowserContext;
	page: Page;
	/** Console errors, page errors and failed responses seen so far. */
	problems: string[];
}

export interface PersonOptions {
	/** Display name remembered before the first visit (no name dialog); omit to see the dialog. */
	name?: string;
	viewport?: { width: number; height: number };
	/** HTTP statuses expected in this test (e.g. 404 for a bad link) that are not problems. */
	allowStatuses?: number[];
}

/** A fresh browser context: one person on their own computer. */
export async function newPerson(browser: Browser, options: PersonOptions = {}): Promise<Person> {
	const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, acceptDownloads: true });
	if (options.name !== undefined) {
		await context.addInitScript((name) => {
			if (!localStorage.getItem('leadflow.identity.v1')) localStorage.setItem('leadflow.identity.v1', JSON.stringify({ name }));
		}, options.name);
	}
	const page = await context.newPage();
	const problems: string[] = [];
	const allowed = new Set(options.allowStatuses ?? []);
	page.on('console', (m) => {
		if (m.type() !== 'error') return;
		// Failed responses also log a console line; they are judged below, by status.
		if (/Failed to load resource: the server responded with a status of (\d+)/.test(m.text())) return;
		problems.push(`console: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	page.on('response', (r) => {
		if (r.status() >= 400 && !allowed.has(r.status())) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
	});
	return { context, page, problems };
}

/** Saves a screenshot for people to look at (not committed). */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
	mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

/** The block titles in order, as the editor shows them ("Read CSV", "Filter", …). */
export async function blockTitles(page: Page): Promise<string[]> {
	const titles = await page.locator('.block .title').allInnerTexts();
	return titles.map((t) => t.replace(/^\s*\d+\s*/, '').trim());
}
