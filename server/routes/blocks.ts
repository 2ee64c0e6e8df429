/**
 * `GET /api/workflows/blocks`: the block catalogue with each block's params as JSON Schema, for
 * the palette and the generated param forms. Computed once: the catalogue never changes at run time.
 */
import { Hono } from 'hono';
import { describeBlocks } from '../../src/lib/workflow/blocks';

/** Sub-app mounted under `/api/workflows`. */
export function createBlockRoutes() {
	const catalogue = describeBlocks();
	return new Hono().get('/blocks', (c) => {
		c.header('Cache-Control', 'public, max-age=60');
		return c.json({ blocks: catalogue });
	});
}
