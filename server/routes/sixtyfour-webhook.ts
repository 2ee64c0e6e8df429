/**
 * `POST /api/sixtyfour/webhook/:secret`: Sixtyfour's completion POSTs for async tasks this server
 * submitted (task-webhooks.ts). The secret path is the only credential a webhook can carry, so a
 * wrong one is answered exactly like an unknown route (404). Bodies are size-limited and validated;
 * a delivery for a task nobody here waits for is a 404, a duplicate or late one a harmless 200.
 *
 * Answers: 200 `{ outcome: "applied" | "duplicate" | "ignored" }`; 400 malformed JSON or a body of
 * the wrong shape (with the field path); 404 wrong secret or unknown task; 413 too large.
 */
import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import * as v from 'valibot';
import { WebhookBodySchema, type TaskWebhooks } from '../enrichment/task-webhooks';
import { HttpError, badRequest, toIssues } from '../http-error';
import type { WebhookAnswer } from './responses';

/** An enrichment answer is a few kB; a generous bound that still stops a flood. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/** Where the webhook route lives under the server's base URL (the secret follows). */
export const WEBHOOK_PATH = '/api/sixtyfour/webhook';

export interface WebhookRoutesOptions {
	hooks: TaskWebhooks;
	/** The secret path segment (base64url, ≥ 32 characters). */
	secret: string;
}

/** Sub-app mounted under `/api/sixtyfour`. */
export function createWebhookRoutes(options: WebhookRoutesOptions) {
	const expected = Buffer.from(options.secret);
	const secretMatches = (given: string) => {
		const got = Buffer.from(given);
		return got.length === expected.length && timingSafeEqual(got, expected);
	};
	const limit = bodyLimit({
		maxSize: WEBHOOK_BODY_LIMIT,
		onError: () => {
			throw new HttpError(413, 'payload_too_large', `A webhook body is at most ${WEBHOOK_BODY_LIMIT / 1024} kB`);
		}
	});
	return new Hono().post(
		'/webhook/:secret',
		async (c, next) => {
			// Before reading a byte of the body: a wrong secret learns nothing, not even the size limit.
			if (!secretMatches(c.req.param('secret'))) throw new HttpError(404, 'not_found', `No route for POST ${c.req.path}`);
			return limit(c, next);
		},
		async (c) => {
			let raw: unknown;
			try {
				raw = JSON.parse(await c.req.text());
			} catch {
				throw badRequest('The webhook body is not valid JSON');
			}
			const parsed = v.safeParse(WebhookBodySchema, raw);
			if (!parsed.success) throw badRequest('The webhook body is not a task completion', toIssues(parsed.issues));
			const outcome = options.hooks.deliver(parsed.output);
			if (outcome === 'unknown_task') throw new HttpError(404, 'unknown_task', 'No task of this server waits for this webhook');
			const answer: WebhookAnswer = { outcome };
			return c.json(answer);
		}
	);
}
