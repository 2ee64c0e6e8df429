/**
 * `GET /api/status`: what the UI must say plainly — whether answers come from the built-in
 * simulator or the real Sixtyfour API — and the limits a form should know (upload size). Never the
 * key, never a URL that could carry one.
 */
import { Hono } from 'hono';
import type { StatusAnswer } from './responses';

export interface StatusRoutesOptions {
	simulated: boolean;
	uploadLimitBytes: number;
}

/** Sub-app mounted under `/api`. */
export function createStatusRoutes(options: StatusRoutesOptions) {
	const body: StatusAnswer = {
		enrichment: options.simulated ? 'simulator' : 'sixtyfour',
		upload_limit_bytes: options.uploadLimitBytes
	};
	return new Hono().get('/status', (c) => c.json(body));
}
