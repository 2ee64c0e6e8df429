/**
 * Capability links: a workflow is reached with one of its two tokens (edit or view), never with an
 * account. This module mints ids and tokens, compares them in constant time, reads a token from a
 * request, and offers the Hono middleware other routes use to guard a workflow's resources.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { HttpError, notFound } from './http-error';

/** What a token lets its holder do. `edit` includes everything `view` may. */
export type Access = 'edit' | 'view';

/** Shape of workflow ids and tokens (base64url): anything else is refused before a lookup. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** 16 random bytes = 128 bits for ids, 24 bytes = 192 bits for tokens (unguessable, URL-safe). */
export function newWorkflowId(): string {
	return randomBytes(16).toString('base64url');
}

export function newToken(): string {
	return randomBytes(24).toString('base64url');
}

/**
 * Compares two secrets in time that depends on neither: both are hashed first, so even a length
 * difference leaks nothing.
 */
export function tokensEqual(given: string, expected: string): boolean {
	const a = createHash('sha256').update(given).digest();
	const b = createHash('sha256').update(expected).digest();
	return timingSafeEqual(a, b);
}

/** The two tokens of a workflow, as stored. */
export interface WorkflowTokens {
	editToken: string;
	viewToken: string;
}

/** The access a token grants on a workflow, or null. Both tokens are always compared. */
export function accessFor(tokens: WorkflowTokens, token: string): Access | null {
	const edit = tokensEqual(token, tokens.editToken);
	const view = tokensEqual(token, tokens.viewToken);
	return edit ? 'edit' : view ? 'view' : null;
}

/** True when `access` is enough for `needed`. */
export function allows(access: Access | null, needed: Access): boolean {
	return access === 'edit' || (access === 'view' && needed === 'view');
}

/**
 * The token of a request: `?token=` (links, WebSockets: browsers cannot set their headers) or
 * `Authorization: Bearer <token>` (the API client). Null when neither is there.
 */
export function readToken(url: string, authorization: string | null | undefined): string | null {
	const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
	if (bearer) return bearer[1];
	const query = new URL(url, 'http://localhost').searchParams.get('token');
	return query ? query : null;
}

/** What the middleware needs to look a workflow up: the repository satisfies it. */
export interface WorkflowLookup<W extends WorkflowTokens = WorkflowTokens> {
	get(id: string): Promise<W | null>;
}

/** Variables the middleware sets for the handlers after it. */
export type WorkflowAccessEnv<W extends WorkflowTokens = WorkflowTokens> = {
	Variables: { workflow: W; access: Access };
};

export interface RequireWorkflowAccessOptions<W extends WorkflowTokens> {
	workflows: WorkflowLookup<W>;
	level: Access;
	/** Where the workflow id is (default: the `:id` route parameter). Null → 404. */
	workflowId?: (c: Context) => string | null | undefined | Promise<string | null | undefined>;
}

/**
 * Guards a route with a workflow's tokens: unknown workflow → 404, no token → 401, wrong token or
 * a view token where editing is needed → 403. Sets `c.var.workflow` and `c.var.access`.
 * @example jobs.post('/jobs/:id/cancel', requireWorkflowAccess({ workflows, level: 'edit', workflowId: jobWorkflow }), …)
 */
export function requireWorkflowAccess<W extends WorkflowTokens>(
	options: RequireWorkflowAccessOptions<W>
): MiddlewareHandler<WorkflowAccessEnv<W>> {
	const pick = options.workflowId ?? ((c: Context) => c.req.param('id'));
	return async (c, next) => {
		const id = await pick(c);
		const workflow = id && ID_PATTERN.test(id) ? await options.workflows.get(id) : null;
		if (!workflow) throw notFound('Workflow');
		const token = readToken(c.req.url, c.req.header('authorization'));
		if (!token) throw new HttpError(401, 'unauthorized', 'This workflow needs its link token (?token=… or a Bearer token)');
		const access = accessFor(workflow, token);
		if (!access) throw new HttpError(403, 'forbidden', 'This link token is not valid for this workflow');
		if (!allows(access, options.level)) throw new HttpError(403, 'forbidden', 'This is a view-only link: it cannot change anything');
		c.set('workflow', workflow);
		c.set('access', access);
		await next();
	};
}
