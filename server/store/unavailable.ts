/**
 * Is a thrown error "the database is not there right now" (retry later) rather than a bug or bad
 * data? Such errors become HTTP 503 `database_unavailable` (http-error.ts). No imports: the error
 * mapper uses it without pulling in the drivers.
 */

/** Codes and messages of a database that is not there right now (rather than a bad query). */
const UNAVAILABLE_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ETIMEDOUT',
	'EPIPE',
	'ENOTFOUND',
	'EAI_AGAIN',
	'57P01', // admin_shutdown (pg_terminate_backend, server stopping)
	'57P02', // crash_shutdown
	'57P03', // cannot_connect_now (starting up)
	'08000',
	'08001',
	'08003',
	'08004',
	'08006',
	'53300' // too_many_connections
]);
const UNAVAILABLE_MESSAGES = [
	/Connection terminated/i,
	/connection error/i,
	/timeout exceeded when trying to connect/i,
	/Client was closed/i,
	/Cannot use a pool after calling end/i,
	/driver has already been destroyed/i,
	/The database connection is not open/i,
	/not currently accepting connections/i,
	/the database system is (starting up|shutting down|in recovery mode)/i
];

/**
 * True when `error` means the database cannot be reached at the moment (the request may be retried),
 * as opposed to a bug or bad data: such errors become 503 `database_unavailable`.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
	for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
		const code = (e as { code?: unknown }).code;
		if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
		const message = e instanceof Error ? e.message : '';
		if (UNAVAILABLE_MESSAGES.some((re) => re.test(message))) return true;
	}
	return false;
}
