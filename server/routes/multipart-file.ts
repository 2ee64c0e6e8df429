/**
 * Streams one file field of a `multipart/form-data` body straight to disk, counting bytes as they
 * come, so a 50 MB upload never sits in memory and a 5 GB one is refused after the limit, not after
 * it has been read. Deliberately narrow: one named file field, plus the few short text fields the
 * caller names (e.g. `workflow_id`); other fields are skipped (bounded).
 */
import { open, rm } from 'node:fs/promises';
import { HttpError } from '../http-error';

export interface ReceiveFileOptions {
	/** The form field holding the file (`file`). */
	field: string;
	/** Absolute path the file is written to; removed again on any failure. */
	destination: string;
	/** Largest file accepted, in bytes (→ 413 beyond). */
	maxBytes: number;
	/** Short text fields to keep (each at most `MAX_TEXT_FIELD_BYTES`); the first of each name counts. */
	textFields?: readonly string[];
}

export interface ReceivedFile {
	/** The client's name for the file (display only: never used as a path). */
	filename: string;
	contentType: string;
	sizeBytes: number;
	/** The kept text fields that were present, by name. */
	fields: Record<string, string>;
}

/** Longest value of a kept text field. */
export const MAX_TEXT_FIELD_BYTES = 1024;

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_PART_HEADER_BYTES = 16 * 1024;
/** Bytes of other (non-file) fields read and thrown away before the request counts as abuse. */
const MAX_SKIPPED_BYTES = 1024 * 1024;

/** Reads the boundary from a Content-Type header, or throws 415. */
export function multipartBoundary(contentType: string | null | undefined): string {
	const type = (contentType ?? '').toLowerCase();
	if (!type.startsWith('multipart/form-data')) {
		throw new HttpError(415, 'unsupported_media_type', 'Send the file as multipart/form-data in a field named "file"');
	}
	const m = /boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType ?? '');
	if (!m) throw new HttpError(400, 'invalid_request', 'The multipart body has no boundary');
	return m[1] ?? m[2];
}

function partHeaders(raw: string): { name: string | null; filename: string | null; contentType: string } {
	let name: string | null = null;
	let filename: string | null = null;
	let contentType = 'application/octet-stream';
	for (const line of raw.split('\r\n')) {
		const colon = line.indexOf(':');
		if (colon < 0) continue;
		const key = line.slice(0, colon).trim().toLowerCase();
		const value = line.slice(colon + 1).trim();
		if (key === 'content-disposition') {
			name = /\bname="([^"]*)"/i.exec(value)?.[1] ?? /\bname=([^;\s]+)/i.exec(value)?.[1] ?? null;
			const star = /\bfilename\*=(?:UTF-8'')?([^;]+)/i.exec(value)?.[1];
			filename = /\bfilename="([^"]*)"/i.exec(value)?.[1] ?? /\bfilename=([^;\s]+)/i.exec(value)?.[1] ?? null;
			if (star) {
				try {
					filename = decodeURIComponent(star.trim());
				} catch {
					// keep the plain filename
				}
			}
		} else if (key === 'content-type') {
			contentType = value;
		}
	}
	return { name, filename, contentType };
}

/**
 * Writes the `field` file of a multipart request to `destination`. Throws `HttpError` 400 (no such
 * field, malformed body), 413 (over `maxBytes`) or 415 (not multipart).
 */
export async function receiveFile(request: Request, options: ReceiveFileOptions): Promise<ReceivedFile> {
	const boundary = multipartBoundary(request.headers.get('content-type'));
	if (!request.body) throw new HttpError(400, 'invalid_request', 'The request has no body');
	const delimiter = Buffer.from(`\r\n--${boundary}`);
	const reader = request.body.getReader();
	// Pretend a CRLF precedes the body so the first boundary looks like every other one.
	let buffer: Buffer = Buffer.from(CRLF);
	let done = false;
	const pull = async (): Promise<boolean> => {
		if (done) return false;
		const chunk = await reader.read();
		if (chunk.done) {
			done = true;
			return false;
		}
		buffer = buffer.length ? Buffer.concat([buffer, chunk.value]) : Buffer.from(chunk.value);
		return true;
	};
	const malformed = (why: string) => new HttpError(400, 'invalid_request', `Malformed multipart body: ${why}`);

	const handle = await open(options.destination, 'wx');
	let written = 0;
	let found: Omit<ReceivedFile, 'fields'> | null = null;
	let skipped = 0;
	const fields: Record<string, string> = {};
	try {
		// Skip the preamble up to the first delimiter.
		for (;;) {
			const i = buffer.indexOf(delimiter);
			if (i >= 0) {
				buffer = buffer.subarray(i + delimiter.length);
				break;
			}
			buffer = buffer.subarray(Math.max(0, buffer.length - delimiter.length));
			if (!(await pull())) throw malformed('no boundary found');
		}
		for (;;) {
			// After a delimiter: "--" ends the body, CRLF starts a part.
			while (buffer.length < 2) if (!(await pull())) throw malformed('ended after a boundary');
			if (buffer[0] === 0x2d && buffer[1] === 0x2d) break;
			let headerEnd = buffer.indexOf(HEADER_END);
			while (headerEnd < 0) {
				if (buffer.length > MAX_PART_HEADER_BYTES) throw malformed('part headers are too long');
				if (!(await pull())) throw malformed('part headers never end');
				headerEnd = buffer.indexOf(HEADER_END);
			}
			const headers = partHeaders(buffer.subarray(0, headerEnd).toString('utf8'));
			buffer = buffer.subarray(headerEnd + HEADER_END.length);
			const isFile = headers.name === options.field && headers.filename !== null && found === null;
			const keep =
				!isFile &&
				headers.filename === null &&
				headers.name !== null &&
				options.textFields?.includes(headers.name) &&
				!(headers.name in fields);
			const kept: Buffer[] = [];
			let keptBytes = 0;

			// The part's content runs to the next delimiter; keep a tail that might hold its start.
			for (;;) {
				const end = buffer.indexOf(delimiter);
				const upto = end >= 0 ? end : Math.max(0, buffer.length - delimiter.length + 1);
				const content = buffer.subarray(0, upto);
				if (content.length > 0) {
					if (isFile) {
						written += content.length;
						if (written > options.maxBytes) {
							throw new HttpError(
								413,
								'payload_too_large',
								`The file is larger than the upload limit of ${formatBytes(options.maxBytes)}`
							);
						}
						await handle.write(content);
					} else if (keep) {
						if ((keptBytes += content.length) > MAX_TEXT_FIELD_BYTES)
							throw malformed(`the field "${headers.name}" is too long`);
						kept.push(Buffer.from(content));
					} else if ((skipped += content.length) > MAX_SKIPPED_BYTES) {
						throw malformed(`fields other than "${options.field}" are too large`);
					}
				}
				buffer = buffer.subarray(upto);
				if (end >= 0) {
					buffer = buffer.subarray(delimiter.length);
					break;
				}
				if (!(await pull())) throw malformed('the body ended inside a part');
			}
			if (isFile) found = { filename: headers.filename!, contentType: headers.contentType, sizeBytes: written };
			if (keep) fields[headers.name!] = Buffer.concat(kept).toString('utf8');
		}
		if (!found) throw new HttpError(400, 'invalid_request', `No file in the form field "${options.field}"`);
		await handle.close();
		return { ...found, fields };
	} catch (err) {
		await handle.close().catch(() => {});
		await rm(options.destination, { force: true });
		await reader.cancel().catch(() => {});
		throw err;
	}
}

/** `52428800` → `50 MB`. */
export function formatBytes(bytes: number): string {
	if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
	if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KB`;
	return `${bytes} bytes`;
}
