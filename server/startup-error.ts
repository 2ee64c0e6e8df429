/**
 * Start-up failures a person can fix — a data directory that is read-only, missing its
 * permissions, or on a full disk — said in one line that names the directory, instead of a raw
 * SQLite error and its stack. Anything else is left to the fatal log (it is our bug then).
 * An unusable DATABASE_URL is one line too (store.ts's DatabaseStartError).
 */
import { DatabaseStartError } from './store/store';

/** File-system and SQLite codes that mean "the data directory cannot be written". */
const DATA_DIR_CODES: Record<string, string> = {
	EACCES: 'permission denied',
	EPERM: 'permission denied',
	EROFS: 'read-only file system',
	ENOSPC: 'no space left on the device',
	EDQUOT: 'disk quota exceeded',
	ENOTDIR: 'a path component is a file, not a directory',
	SQLITE_CANTOPEN: 'the database file cannot be created or opened there',
	SQLITE_READONLY: 'the database is read-only',
	SQLITE_READONLY_DIRECTORY: 'the directory is read-only',
	SQLITE_FULL: 'the disk is full',
	SQLITE_IOERR: 'an I/O error'
};

/**
 * The one line to print when `error` stopped the start because of the data directory, or null
 * when it is some other failure.
 * @example describeStartupError(Object.assign(new Error('x'), { code: 'EROFS' }), '/srv/data')
 * // 'Cannot start: the data directory /srv/data is not writable (read-only file system, EROFS). …'
 */
export function describeStartupError(error: unknown, dataDir: string): string | null {
	// PostgreSQL (DATABASE_URL) unreachable or refusing us: store.ts already said it in one line, without the password.
	if (error instanceof DatabaseStartError) return error.message;
	const code = (error as { code?: unknown } | null)?.code;
	if (typeof code !== 'string') return null;
	const base = code.startsWith('SQLITE_IOERR') ? 'SQLITE_IOERR' : code;
	const why = DATA_DIR_CODES[base];
	if (!why) return null;
	return `Cannot start: the data directory ${dataDir} is not writable (${why}, ${code}). Give the server a writable DATA_DIR.`;
}
