/**
 * The operator's token (`ADMIN_TOKEN`): the one credential above the per-workflow capability
 * links. It lets its holder list every job, and — when `REQUIRE_ADMIN_FOR_POSTED_RUNS` is on — run
 * workflows posted as raw JSON (and retry their jobs). Unset, nobody holds it: the full job list is
 * closed and, with the switch on, posted runs are refused to everyone.
 */
import type { Context } from 'hono';
import { readToken, tokensEqual } from './access';
import { HttpError } from './http-error';

/** The Bearer token of a request: the operator's token never travels in a URL (logs, history). */
const bearerOf = (c: Context) => readToken('/', c.req.header('authorization'));

export interface AdminAccessOptions {
	/** ADMIN_TOKEN; undefined when not configured. */
	token: string | undefined;
	/** REQUIRE_ADMIN_FOR_POSTED_RUNS. */
	requireForPostedRuns: boolean;
}

export interface AdminAccess {
	/** True when the request carries the operator's token as `Authorization: Bearer …`. */
	isAdmin(c: Context): boolean;
	/**
	 * Throws 401 (no token) or 403 (another token) unless the request is the operator's.
	 * `what` finishes the sentence "… needs the operator's token".
	 * @example admin.require(c, 'Listing every job')
	 */
	require(c: Context, what: string): void;
	/** `require` for a run or retry of a posted workflow, when the configuration asks for it. */
	requireForPostedRun(c: Context): void;
}

/** Builds the check; compares in constant time (see `tokensEqual`). */
export function createAdminAccess(options: AdminAccessOptions): AdminAccess {
	const { token: adminToken } = options;
	const isAdmin = (c: Context) => {
		const given = bearerOf(c);
		return adminToken !== undefined && given !== null && tokensEqual(given, adminToken);
	};
	const access: AdminAccess = {
		isAdmin,
		require(c, what) {
			if (isAdmin(c)) return;
			const message = `${what} needs the operator's token (ADMIN_TOKEN, as a Bearer token)`;
			throw bearerOf(c) === null ? new HttpError(401, 'unauthorized', message) : new HttpError(403, 'forbidden', message);
		},
		requireForPostedRun(c) {
			if (options.requireForPostedRuns) access.require(c, 'Running a workflow posted as JSON (not a shared workflow)');
		}
	};
	return access;
}
