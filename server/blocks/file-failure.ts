/**
 * The boundary between the file modules (server/files) and a run: a `FileError` becomes the
 * run's `JobFailure`, message and code unchanged, whether it comes while opening the file or
 * while its rows stream (an unclosed quote at the end, a full xlsx sheet).
 */
import { FileError } from '../files/file-error';
import { JobFailure, type RowStream } from '../engine/types';

export function asJobFailure(err: unknown): unknown {
	return err instanceof FileError ? new JobFailure(err.message, err.code) : err;
}

/** Runs `open`, failing the job with the file's own message when it throws a `FileError`. */
export async function failingAsJob<T>(open: () => Promise<T>): Promise<T> {
	try {
		return await open();
	} catch (err) {
		throw asJobFailure(err);
	}
}

/** The same rows; a `FileError` thrown while they stream fails the job instead. */
export async function* rowsFailingAsJob(rows: RowStream): RowStream {
	try {
		yield* rows;
	} catch (err) {
		throw asJobFailure(err);
	}
}
