/**
 * Temporary data directories for tests: each test gets its own, removed afterwards, so tests never
 * share `app.db`, uploads or outputs (and never touch the repository's `data/`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
	dir: string;
	cleanup(): Promise<void>;
}

/** Creates an empty directory under the OS temp dir. */
export async function makeTempDir(prefix = 'leadflow-test-'): Promise<TempDir> {
	const dir = await mkdtemp(join(tmpdir(), prefix));
	return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
