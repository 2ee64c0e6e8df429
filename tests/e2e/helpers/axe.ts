/**
 * The accessibility gate: axe-core run inside a page, in whatever state the test has put it in.
 * Any e2e test can call `expectAccessible(page, 'state name')` (or `axeScan` to look at the
 * findings itself); serious and critical violations fail, the rest are returned for the log.
 *
 * @example
 * await page.getByRole('button', { name: 'Share' }).click();
 * await expectAccessible(page, 'share menu');
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The impacts that fail the gate. */
export const BLOCKING_IMPACTS = ['serious', 'critical'] as const;

export interface AxeFinding {
	id: string;
	impact: string | null;
	help: string;
	/** CSS selectors and a failure summary of the first few elements at fault. */
	nodes: { target: string; summary: string }[];
}

export interface AxeScan {
	state: string;
	/** Serious and critical violations: the gate. */
	blocking: AxeFinding[];
	/** Minor and moderate ones: reported, not failed on. */
	other: AxeFinding[];
}

/** Runs axe-core (WCAG 2.0/2.1 A and AA rules and best practices) on the page as it is now. */
export async function axeScan(page: Page, state: string): Promise<AxeScan> {
	// Evaluated through the DevTools protocol: the page's Content-Security-Policy does not apply.
	if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
	const violations = await page.evaluate(async () => {
		const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: unknown[] }> } }).axe;
		const result = await axe.run(document, { resultTypes: ['violations'] });
		return result.violations as {
			id: string;
			impact: string | null;
			help: string;
			nodes: { target: unknown[]; failureSummary?: string }[];
		}[];
	});
	const findings: AxeFinding[] = violations.map((v) => ({
		id: v.id,
		impact: v.impact,
		help: v.help,
		nodes: v.nodes
			.slice(0, 5)
			.map((n) => ({ target: n.target.map(String).join(' '), summary: (n.failureSummary ?? '').replace(/\s+/g, ' ') }))
	}));
	const blocking = findings.filter((f) => (BLOCKING_IMPACTS as readonly (string | null)[]).includes(f.impact));
	return { state, blocking, other: findings.filter((f) => !blocking.includes(f)) };
}

/** One line per finding, for logs and failure messages. */
export function describeFindings(findings: AxeFinding[]): string {
	return findings
		.map((f) => `${f.impact} ${f.id}: ${f.help}\n${f.nodes.map((n) => `    ${n.target} — ${n.summary}`).join('\n')}`)
		.join('\n');
}

/** Fails the test when the page, in this state, has a serious or critical violation. Returns the scan. */
export async function expectAccessible(page: Page, state: string): Promise<AxeScan> {
	const scan = await axeScan(page, state);
	if (process.env.AXE_LOG) console.log(`[axe] ${state}: ${scan.blocking.length} serious/critical, ${scan.other.length} minor/moderate`);
	expect(scan.blocking, `axe: serious or critical violations in "${state}":\n${describeFindings(scan.blocking)}`).toEqual([]);
	return scan;
}
