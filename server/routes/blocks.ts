/**
 * `GET /api/workflows/blocks`: the block catalogue with each block's params as JSON Schema, for
 * the palette and the generated param forms. Computed once: the catalogue never changes at run time.
 */
import { Hono } from 'hono';
import { describeBlocks } from '../../src/lib/workflow/blocks';
import type { BlocksAnswer } from './responses';

/** Sub-app mounted under `/api/workflows`. */
export function createBlockRoutes() {
	// A JSON Schema is a plain JSON object (`{ ...params }` only tells the type so).
	const catalogue: BlocksAnswer = { blocks: describeBlocks().map((b) => ({ ...b, params: { ...b.params } })) };
	return new Hono().get('/blocks', (c) => {
		c.header('Cache-Control', 'public, max-age=60');
		return c.json(catalogue);
	});
}
