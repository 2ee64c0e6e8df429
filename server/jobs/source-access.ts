/**
 * Who may read a CSV file a `read_csv` block names. Uploads and outputs belong to the workflow
 * that made them, so a path copied from one workflow never reads its data in another; samples
 * belong to everyone; the data directory's own files (the database, its journals) are never a
 * source, however the path is spelt. Decided on the resolved file, not on the text of the path:
 * `uploads//x.csv`, `./uploads/x.csv` and an absolute path all name the same upload.
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { BUNDLED_SAMPLES_DIR } from '../files/csv-path';
import type { JobStore } from '../store/job-store';
import type { UploadRecord, UploadStore } from '../store/upload-store';

/** What a resolved file is, and whose. */
export type CsvSource =
	| { kind: 'sample' }
	| { kind: 'upload'; upload: UploadRecord; workflowId: string | null }
	| { kind: 'output'; jobId: string; workflowId: string | null }
	/** Elsewhere in the data dir (e.g. a file an operator placed in `uploads/`): nobody's. */
	| { kind: 'file' }
	/** The data directory's own files: never read by a workflow. */
	| { kind: 'private' };

export interface SourceClassifierOptions {
	dataDir: string;
	uploads: Pick<UploadStore, 'getByPath'>;
	jobs: Pick<JobStore, 'get'>;
}

/** save_csv names outputs `<job id>-<name>.csv`; job ids are UUIDs. */
const OUTPUT_FILE = /^outputs\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-[^/]+$/i;

const realOrSelf = (path: string) => {
	try {
		return realpathSync(path);
	} catch {
		return path;
	}
};

/**
 * Classifies files that `resolveDataPath` already accepted (absolute, real, inside the data dir or
 * the bundled samples).
 * @example const source = await createSourceClassifier({ dataDir, uploads, jobs })(file)
 */
export function createSourceClassifier(options: SourceClassifierOptions): (file: string) => Promise<CsvSource> {
	const root = realOrSelf(options.dataDir);
	const bundled = realOrSelf(BUNDLED_SAMPLES_DIR);
	return async (file) => {
		const inBundled = relative(bundled, file);
		if (inBundled && !inBundled.startsWith('..') && !isAbsolute(inBundled)) return { kind: 'sample' };
		const rel = relative(root, file).split(sep).join('/');
		if (rel === '' || rel.startsWith('../') || isAbsolute(rel)) return { kind: 'private' };
		if (dirname(rel) === '.') return { kind: 'private' };
		if (rel.startsWith('samples/')) return { kind: 'sample' };
		const upload = await options.uploads.getByPath(rel);
		if (upload) return { kind: 'upload', upload, workflowId: upload.workflowId };
		const output = OUTPUT_FILE.exec(rel);
		if (output) {
			const job = await options.jobs.get(output[1].toLowerCase());
			if (job) return { kind: 'output', jobId: job.id, workflowId: job.workflowId };
		}
		return { kind: 'file' };
	};
}

/** The workflow a source belongs to (null: anyone may read it). */
export function ownerOf(source: CsvSource): string | null {
	return source.kind === 'upload' || source.kind === 'output' ? source.workflowId : null;
}

/** The message a run gets for a file of another workflow (shown at `workflow.blocks.N.params.path`). */
export const OTHER_WORKFLOWS_FILE = 'this file belongs to another workflow';
/** The message for the data directory's own files. */
export const PRIVATE_FILE = 'this file is not a CSV a workflow can read: choose an upload or a sample';
