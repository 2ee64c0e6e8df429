/**
 * Security headers on every HTTP answer, set once where node:http routes a request (index.ts), so
 * pages, static assets, API answers, errors and 404s all get them whoever produced the body.
 *
 * Pages take their Content-Security-Policy from SvelteKit (`kit.csp` in svelte.config.js: it knows
 * the nonce/hash of its own bootstrap script); everything here is what a CSP cannot say or what the
 * API needs. Capability tokens travel in URLs (`/w/:id?token=…`), hence `no-referrer` everywhere
 * and `no-store` on API answers.
 */
import type { ServerResponse } from 'node:http';

/** Headers every answer gets. */
export const COMMON_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
	'X-Content-Type-Options': 'nosniff',
	// A page URL can hold an edit token: never hand it to another site in a Referer.
	'Referrer-Policy': 'no-referrer',
	// `frame-ancestors 'none'` in the page CSP says the same to modern browsers; this covers the rest.
	'X-Frame-Options': 'DENY',
	'Cross-Origin-Opener-Policy': 'same-origin'
});

/**
 * Extra headers of `/api/*` and the operational endpoints. JSON is never a document: no scripts,
 * no framing. Answers may carry tokens, job rows or output files: not cached anywhere unless the
 * route said otherwise (the block catalogue is public and cacheable).
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
	'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
	'Cache-Control': 'no-store'
});

/**
 * Which set of headers a request gets. `capability-page`: a page whose URL holds a token
 * (`/w/<id>?token=…`) — the page is the capability, so no browser or proxy cache may keep it
 * (a shared computer's history or back-forward cache would hand the link on).
 */
export type HeaderScope = 'page' | 'capability-page' | 'api';

/** Headers of a page whose URL carries a token. */
export const CAPABILITY_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'Cache-Control': 'no-store' });

/**
 * `/api/*`, `/healthz` and `/metrics` are API-like; a workflow page or any page with a `token`
 * in its query is a capability page; everything else is a page or a page asset.
 * @example headerScope('/w/abc', 'token=…') // 'capability-page'
 */
export function headerScope(path: string, query = ''): HeaderScope {
	if (path === '/api' || path.startsWith('/api/') || path === '/healthz' || path === '/metrics') return 'api';
	const hasToken = new URLSearchParams(query).has('token');
	return path.startsWith('/w/') || hasToken ? 'capability-page' : 'page';
}

/**
 * Sets the security headers on `res` before any handler writes. Handlers may still override a
 * value (node merges `writeHead` headers over `setHeader` ones): a route that sets its own
 * `Cache-Control` (e.g. `public, max-age=60` on the block catalogue) keeps it.
 * @example setSecurityHeaders(res, headerScope(path, query))
 */
export function setSecurityHeaders(res: ServerResponse, scope: HeaderScope): void {
	for (const [name, value] of Object.entries(COMMON_SECURITY_HEADERS)) res.setHeader(name, value);
	if (scope === 'api') for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) res.setHeader(name, value);
	if (scope === 'capability-page') for (const [name, value] of Object.entries(CAPABILITY_PAGE_HEADERS)) res.setHeader(name, value);
}
