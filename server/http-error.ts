/**
 * The one HTTP error type, and the one function that turns any thrown value into the API's error
 * shape `{ error: { code, message, issues? } }`. Routes throw; `app.onError` calls `toErrorResponse`.
 */
import * as v from 'valibot';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isDatabaseUnavailable } from './store/unavailable';

/** One problem with a request, pointing at the field: `workflow.blocks.1.params.expression`. */
export interface Issue {
	path: string;
	message: string;
	/** For expressions: 0-based offset of the problem in the text, and how far it spans. */
	position?: number;
	length?: number;
}

export interface ErrorBody {
	error: { code: string; message: string; issues?: Issue[] };
}

/** A client or server error with a stable machine-readable `code` (e.g. `not_found`, `invalid_request`). */
export class HttpError extends HTTPException {
	constructor(
		status: ContentfulStatusCode,
		readonly code: string,
		message: string,
		readonly issues?: Issue[]
	) {
		super(status, { message });
		this.name = 'HttpError';
	}
}

/** Shorthands for the errors routes throw most. */
export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);
export const badRequest = (message: string, issues?: Issue[]) => new HttpError(400, 'invalid_request', message, issues);

/** Turns valibot issues into `{ path, message }` under an optional prefix (`workflow`). */
export function toIssues(issues: readonly v.BaseIssue<unknown>[], prefix = ''): Issue[] {
	return issues.map((issue) => {
		const path = v.getDotPath(issue);
		const full = [prefix, path].filter(Boolean).join('.');
		return { path: full || prefix || '(body)', message: issue.message };
	});
}

const STATUS_CODES: Partial<Record<number, string>> = {
	400: 'invalid_request',
	401: 'unauthorized',
	403: 'forbidden',
	404: 'not_found',
	405: 'method_not_allowed',
	409: 'conflict',
	413: 'payload_too_large',
	415: 'unsupported_media_type',
	429: 'too_many_requests'
};

/**
 * Maps anything thrown in a handler to a status and the error body. A database that cannot be
 * reached is a 503 (retry); other unknown errors become a 500 whose message says nothing about
 * internals (the log has the details).
 */
export function toErrorResponse(err: unknown): { status: ContentfulStatusCode; body: ErrorBody; internal: boolean } {
	if (err instanceof HttpError) {
		return {
			status: err.status,
			body: { error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } },
			internal: false
		};
	}
	if (err instanceof HTTPException) {
		const code = STATUS_CODES[err.status] ?? (err.status >= 500 ? 'internal_error' : 'error');
		const message = err.status === 413 ? 'Request body is too large' : err.message || code.replace(/_/g, ' ');
		return { status: err.status, body: { error: { code, message } }, internal: err.status >= 500 };
	}
	if (isDatabaseUnavailable(err)) {
		// A lost PostgreSQL connection (scale-out): the pool reconnects by itself; the client may retry.
		return {
			status: 503,
			body: { error: { code: 'database_unavailable', message: 'The database cannot be reached right now; try again shortly' } },
			internal: true
		};
	}
	return {
		status: 500,
		body: { error: { code: 'internal_error', message: 'Something went wrong on the server' } },
		internal: true
	};
}
