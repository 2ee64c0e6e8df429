/**
 * A CSV file written row by row through csv-stringify, with back-pressure, into a temporary file
 * that only becomes the final name once every row is on disk: a half-written file never looks
 * like a finished output, whether the job fails, is cancelled or the process dies.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Cell, Row } from '../../src/lib/workflow/schema';
import { neutraliseFormula } from './csv-formula';

export interface CsvSinkOptions {
	/** Final absolute path of the file. */
	path: string;
	columns: string[];
	/** Prefix formula-looking cells with `'` (default true). */
	neutraliseFormulas?: boolean;
	/** Start the file with a UTF-8 byte order mark (Excel then reads it as UTF-8; default false). */
	bom?: boolean;
	signal?: AbortSignal;
}

export interface CsvSink {
	/** Writes rows in order; resolves when the stringifier can take more (back-pressure). */
	write(rows: Row[]): Promise<void>;
	/** Flushes, closes and renames the temporary file to its final path. */
	commit(): Promise<void>;
	/** Stops writing and deletes the temporary file. Safe to call more than once, or after commit. */
	discard(): Promise<void>;
}

/** Opens a CSV sink; the header row is written at once (so a zero-row output still has it). */
export function createCsvSink(options: CsvSinkOptions): CsvSink {
	const { path, columns, signal } = options;
	const neutralise = options.neutraliseFormulas ?? true;
	const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`);
	// A one-column row whose cell is empty is written `""`: an empty line would read as no row.
	const stringifier = stringify({ quoted_empty: columns.length === 1, bom: options.bom ?? false });
	const file = createWriteStream(temp);
	const done = pipeline(stringifier, file);
	let broken: unknown = null;
	done.catch((err: unknown) => (broken = err)); // a disk error surfaces at the next write/commit
	const width = columns.length;
	let state: 'open' | 'committed' | 'discarded' = 'open';

	const toText = (value: Cell | undefined): string => {
		if (value === null || value === undefined) return '';
		if (typeof value === 'string') return neutralise ? (neutraliseFormula(value) as string) : value;
		if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
		if (typeof value === 'boolean') return value ? 'true' : 'false';
		return JSON.stringify(value);
	};

	stringifier.write(columns.map((c) => toText(c)));

	return {
		async write(rows) {
			if (state !== 'open') throw new Error('The CSV output is already closed');
			if (broken) throw broken;
			let ok = true;
			for (const row of rows) {
				const record = new Array<string>(width);
				for (let i = 0; i < width; i++) record[i] = toText(row[columns[i]]);
				ok = stringifier.write(record);
			}
			// Race the pipeline too: if the disk fails, 'drain' never comes but `done` rejects.
			if (!ok) await Promise.race([once(stringifier, 'drain', { signal }), done]);
		},
		async commit() {
			if (state !== 'open') throw new Error('The CSV output is already closed');
			stringifier.end();
			try {
				await done;
				await rename(temp, path);
				state = 'committed';
			} catch (err) {
				await this.discard();
				throw err;
			}
		},
		async discard() {
			if (state !== 'open') return;
			state = 'discarded';
			stringifier.destroy();
			file.destroy();
			await done.catch(() => {});
			await rm(temp, { force: true });
		}
	};
}
