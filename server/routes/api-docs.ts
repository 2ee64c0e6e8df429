/**
 * The API describing itself: `GET /api/openapi.json` (OpenAPI 3.1, generated from the routes' own
 * valibot schemas, see server/openapi) and `GET /api/docs`, the same document as a static HTML
 * reference. Both are built once, on first request: they never change while the server runs.
 */
import { Hono } from 'hono';
import { readFileSync } from 'node:fs';
import { createOpenApiDocument } from '../openapi/document';
import { REFERENCE_PAGE_CSP, renderReferencePage } from '../openapi/reference-page';

/** The API's version is the package's. */
const packageVersion = () =>
	(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Sub-app mounted under `/api`. */
export function createApiDocsRoutes() {
	let built: { json: string; html: string } | null = null;
	const build = () => {
		if (built) return built;
		const doc = createOpenApiDocument({ version: packageVersion() });
		built = { json: JSON.stringify(doc), html: renderReferencePage(doc) };
		return built;
	};
	return new Hono()
		.get('/openapi.json', (c) => {
			c.header('Cache-Control', 'public, max-age=300');
			return c.body(build().json, 200, { 'Content-Type': 'application/json; charset=utf-8' });
		})
		.get('/docs', (c) => {
			// A document, unlike every other API answer: its own policy allows its stylesheet, still no script.
			c.header('Content-Security-Policy', REFERENCE_PAGE_CSP);
			c.header('Cache-Control', 'public, max-age=300');
			return c.html(build().html);
		});
}
