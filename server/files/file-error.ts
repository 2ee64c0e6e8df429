/**
 * Why a source file could not be read or an output file written. The file modules know no engine:
 * routes answer it as an HTTP error, `read_csv` / `save_csv` turn it into the run's `JobFailure`.
 */
export type FileErrorCode =
	| 'invalid_path'
	| 'file_not_found'
	| 'file_unreadable'
	| 'empty_file'
	| 'invalid_csv'
	| 'invalid_file'
	| 'too_many_rows'
	/** A file this caller may not read (another workflow's upload or output). */
	| 'forbidden';

/** `message` is written for the person who chose the file; `code` is for programs. */
export class FileError extends Error {
	constructor(
		message: string,
		readonly code: FileErrorCode
	) {
		super(message);
		this.name = 'FileError';
	}
}
