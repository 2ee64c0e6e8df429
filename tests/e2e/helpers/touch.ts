/**
 * Phone checks: every visible control's target measured (WCAG 2.5.5: 44 × 44 px; a checkbox or
 * radio counts with the label around it; a link inside a sentence is exempt, as WCAG allows), and
 * whether the page scrolls sideways.
 */
import type { Page } from 'playwright-core';

export const MIN_TARGET_PX = 44;

/** Visible controls smaller than 44 × 44 px, described ("button \"Share\" 40×32"). */
export async function smallTargets(page: Page, min = MIN_TARGET_PX): Promise<string[]> {
	return page.evaluate((min) => {
		const selector =
			'button, a[href], input:not([type="hidden"]), select, textarea, summary, [role="tab"], [role="button"], [tabindex]:not([tabindex="-1"])';
		const small: string[] = [];
		for (const el of document.querySelectorAll<HTMLElement>(selector)) {
			const style = getComputedStyle(el);
			const own = el.getBoundingClientRect();
			// Not shown: display none, hidden, a screen-reader-only 1-px box, or clipped away.
			if (own.width <= 1 || own.height <= 1 || style.visibility === 'hidden' || el.closest('[hidden], [inert]')) continue;
			if (
				el.matches('a, button.linklike') &&
				el.parentElement?.matches('p, li, span') &&
				(el.parentElement.textContent ?? '').trim() !== (el.textContent ?? '').trim()
			)
				continue;
			const target = el.matches('input[type="checkbox"], input[type="radio"]') ? (el.closest('label') ?? el) : el;
			const box = target.getBoundingClientRect();
			if (box.width + 0.5 < min || box.height + 0.5 < min) {
				const name = (el.getAttribute('aria-label') ?? el.textContent ?? el.getAttribute('name') ?? '')
					.trim()
					.replace(/\s+/g, ' ')
					.slice(0, 40);
				small.push(
					`${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ')[0]}` : ''} "${name}" ${Math.round(box.width)}×${Math.round(box.height)}`
				);
			}
		}
		return small;
	}, min);
}

/** How far the page scrolls sideways (0: not at all). */
export async function sidewaysScroll(page: Page): Promise<number> {
	return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
}
