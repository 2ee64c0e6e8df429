/**
 * What makes an uploaded file a CSV we accept, checked on the stored bytes before anything else
 * reads it: text (no NUL bytes), valid UTF-8, a readable header of a sane width. Each refusal says
 * why, so a person knows what to change (e.g. "save as CSV UTF-8").
 */
import { createReadStream } from 'node:fs';
import { HttpError } from '../http-error';

/** Widest header accepted: beyond this a file is almost certainly not a lead list. */
export const MAX_UPLOAD_COLUMNS = 1_000;
/** Extensions a CSV upload may have (or none). */
const CSV_EXTENSIONS = new Set(['csv', 'txt']);

/** Refuses a client file name whose extension says it is not a CSV (415). */
export function checkCsvName(filename: string): void {
	const dot = filename.lastIndexOf('.');
	if (dot <= 0) return;
	const ext = filename.slice(dot + 1).toLowerCase();
	if (!CSV_EXTENSIONS.has(ext)) {
		throw new HttpError(415, 'unsupported_media_type', `Only .csv files can be uploaded (got a .${ext} file)`);
	}
}

/**
 * Streams the file once: a NUL byte means binary (415); bytes that are not UTF-8 → 415 with the
 * offset. Cheap (one pass, no parse) and it keeps garbage out of the CSV parser.
 */
export async function checkUtf8Text(file: string): Promise<void> {
	const decoder = new TextDecoder('utf-8', { fatal: true });
	let offset = 0;
	for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
		const nul = chunk.indexOf(0);
		if (nul >= 0) {
			throw new HttpError(415, 'unsupported_media_type', `This is not a CSV file: it holds binary data (a NUL byte at byte ${offset + nul})`);
		}
		try {
			decoder.decode(chunk, { stream: true });
		} catch {
			throw new HttpError(
				415,
				'unsupported_media_type',
				`The file is not UTF-8 text (near byte ${offset}). Save it as "CSV UTF-8" and upload it again`
			);
		}
		offset += chunk.length;
	}
	try {
		decoder.decode();
	} catch {
		throw new HttpError(415, 'unsupported_media_type', 'The file ends in the middle of a UTF-8 character');
	}
}

/** A client file name reduced to something safe to show: base name, no control characters, short. */
export function displayName(filename: string): string {
	const base = filename.split(/[\\/]/).pop() ?? '';
	// eslint-disable-next-line no-control-regex
	const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
	return clean || 'upload.csv';
}
