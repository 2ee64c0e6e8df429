/**
 * Where a `read_csv` path may point. A path comes from people (a workflow's params, an import), so
 * it is checked before any byte is read: it must name a regular file inside the data directory,
 * after symlinks are followed.
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileError } from './file-error';

/**
 * The samples committed with the project (`data/samples`). A data directory elsewhere (tests, a
 * `DATA_DIR` setting) still finds `samples/leads.csv` here when it has no copy of its own.
 */
export const BUNDLED_SAMPLES_DIR = fileURLToPath(new URL('../../data/samples', import.meta.url));

const SAMPLES_PREFIX = 'samples/';

/**
 * Resolves a `read_csv` path to an absolute file path inside `dataDir`, or throws a `FileError`
 * saying why not (code `invalid_path` or `file_not_found`).
 *
 * Rules: paths are relative to the data directory (`uploads/abc.csv`, `samples/leads.csv`); a bare
 * name (`leads.csv`) means a sample; `..` segments, backslashes, NUL bytes and URL-encoded bytes
 * (`%2e%2e`) are refused outright, absolute paths only pass when they lie inside the data
 * directory, and a symlink whose target lies outside it is refused. Synchronous so the server can
 * validate a workflow's paths before it queues a run.
 *
 * @example resolveDataPath('/srv/data', 'samples/leads.csv') // '/srv/data/samples/leads.csv'
 */
export function resolveDataPath(dataDir: string, path: string): string {
	const shown = JSON.stringify(path);
	const refuse = (why: string): never => {
		throw new FileError(`The file path ${shown} ${why}`, 'invalid_path');
	};
	if (typeof path !== 'string' || path.trim() === '') throw new FileError('Choose a CSV file', 'invalid_path');
	if (path.includes('\0')) refuse('contains a NUL byte');
	if (path.includes('\\')) refuse('contains a backslash: use / between folders');
	if (/%[0-9a-f]{2}/i.test(path)) refuse('looks URL-encoded: give the plain file path');
	if (path.split('/').includes('..')) refuse('must not contain ".." segments');

	const root = realDir(dataDir);
	const candidates: { file: string; root: string }[] = [];
	if (isAbsolute(path)) {
		if (!isInside(resolve(dataDir), resolve(path)) && !isInside(root, resolve(path))) {
			refuse('is outside the data directory');
		}
		candidates.push({ file: resolve(path), root });
	} else {
		const clean = path.replace(/^(\.\/)+/, '');
		const sample = !clean.includes('/') ? clean : clean.startsWith(SAMPLES_PREFIX) ? clean.slice(SAMPLES_PREFIX.length) : null;
		if (sample !== null) {
			candidates.push({ file: join(dataDir, 'samples', sample), root });
			const bundled = safeRealDir(BUNDLED_SAMPLES_DIR);
			if (bundled) candidates.push({ file: join(BUNDLED_SAMPLES_DIR, sample), root: bundled });
		} else {
			candidates.push({ file: join(dataDir, clean), root });
		}
	}

	for (const candidate of candidates) {
		let real: string;
		try {
			real = realpathSync(candidate.file);
		} catch {
			continue; // missing here: try the next place, then say "not found"
		}
		if (!isInside(candidate.root, real)) refuse('leads outside the data directory (through a symlink)');
		if (!statSync(real).isFile()) refuse('is not a file');
		// The database (workflow tokens, cached answers) shares the data directory: never a source.
		if (/\.(db|sqlite3?)(-wal|-shm|-journal)?$/i.test(real)) refuse('is not a CSV file');
		return real;
	}
	throw new FileError(`File not found: ${shown}`, 'file_not_found');
}

function isInside(root: string, file: string): boolean {
	const rel = relative(root, file);
	return rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel);
}

function realDir(dir: string): string {
	const real = safeRealDir(dir);
	if (!real) throw new FileError(`The data directory ${JSON.stringify(dir)} does not exist`, 'invalid_path');
	return real;
}

function safeRealDir(dir: string): string | null {
	try {
		return realpathSync(dir);
	} catch {
		return null;
	}
}
