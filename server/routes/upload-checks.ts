/**
 * What makes an uploaded file one we accept, checked on the stored bytes before anything else
 * reads it: a CSV is text (no NUL bytes in an 8-bit encoding) with a readable header of a sane
 * width; an .xlsx is a zip. Each refusal says why, so a person knows what to change (e.g. "save as
 * CSV UTF-8"). Text that is not UTF-8 is no longer refused: the reader detects its encoding.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { detectEncoding } from '../files/csv-dialect';
import { HttpError } from '../http-error';

/** Widest header accepted: beyond this a file is almost certainly not a lead list. */
export const MAX_UPLOAD_COLUMNS = 1_000;
/** Extensions a CSV upload may have (or none). */
const CSV_EXTENSIONS = new Set(['csv', 'txt', 'tsv']);
/** The start of every zip file, so of every .xlsx. */
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/**
 * What a client file name says the upload is: `xlsx` for `.xlsx`, `csv` for `.csv`/`.txt`/`.tsv`
 * or no extension. Anything else is refused (415), `.xls` with a hint.
 */
export function uploadFormatOf(filename: string): 'csv' | 'xlsx' {
	const dot = filename.lastIndexOf('.');
	if (dot <= 0) return 'csv';
	const ext = filename.slice(dot + 1).toLowerCase();
	if (ext === 'xlsx') return 'xlsx';
	if (CSV_EXTENSIONS.has(ext)) return 'csv';
	if (ext === 'xls') {
		throw new HttpError(
			415,
			'unsupported_media_type',
			'Old .xls workbooks are not supported: save it as .xlsx (Excel Workbook) or CSV UTF-8'
		);
	}
	throw new HttpError(415, 'unsupported_media_type', `Only .csv and .xlsx files can be uploaded (got a .${ext} file)`);
}

/** Refuses an .xlsx upload that is not a zip file at all (415), before the workbook reader sees it. */
export async function checkXlsxFile(file: string): Promise<void> {
	const handle = await open(file, 'r');
	try {
		const head = Buffer.alloc(4);
		const { bytesRead } = await handle.read(head, 0, 4, 0);
		if (bytesRead < 4 || !head.equals(ZIP_MAGIC)) {
			throw new HttpError(
				415,
				'unsupported_media_type',
				'This is not an Excel workbook (.xlsx): save it again from Excel, or as CSV UTF-8'
			);
		}
	} finally {
		await handle.close();
	}
}

/**
 * Streams a CSV upload once, in the encoding its first bytes show (`detectEncoding`): a NUL byte in
 * an 8-bit encoding means binary (415); UTF-8 that turns invalid past the detected start is kept
 * (those bytes read as U+FFFD) and counted, so the card can say so. Cheap: one pass, no parse.
 * Returns a note for the person, or null.
 */
export async function checkTextFile(file: string): Promise<string | null> {
	let offset = 0;
	let decoder: TextDecoder | null = null;
	let eightBit = true;
	let replaced = 0;
	for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
		if (decoder === null) {
			const { encoding } = detectEncoding(chunk);
			eightBit = encoding === 'utf-8' || encoding === 'windows-1252';
			// Only UTF-8 can turn out invalid: every byte is a Windows-1252 character, UTF-16 is decoded as is.
			decoder = encoding === 'utf-8' ? new TextDecoder('utf-8', { fatal: false }) : null;
			if (decoder === null && !eightBit) return null;
		}
		if (eightBit) {
			const nul = chunk.indexOf(0);
			if (nul >= 0) {
				throw new HttpError(
					415,
					'unsupported_media_type',
					`This is not a CSV file: it holds binary data (a NUL byte at byte ${offset + nul})`
				);
			}
		}
		if (decoder) replaced += countReplacements(decoder.decode(chunk, { stream: true }));
		offset += chunk.length;
	}
	if (decoder) replaced += countReplacements(decoder.decode());
	if (replaced === 0) return null;
	return `${replaced.toLocaleString('en-US')} ${replaced === 1 ? 'character is' : 'characters are'} not valid UTF-8 and show${replaced === 1 ? 's' : ''} as �.`;
}

function countReplacements(text: string): number {
	let n = 0;
	for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) n++;
	return n;
}

/** C0 controls and DEL: never part of a name shown to people. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

/** A client file name reduced to something safe to show: base name, no control characters, short. */
export function displayName(filename: string): string {
	const base = filename.split(/[\\/]/).pop() ?? '';
	const clean = base.replace(CONTROL_CHARACTERS, '').trim().slice(0, 200);
	return clean || 'upload.csv';
}
