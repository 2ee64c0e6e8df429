/**
 * Refusing a WebSocket upgrade with a plain HTTP answer on the raw socket: the client learns why
 * (401, 403, 404, 503) and never gets a single protocol message.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** Writes `status` with the API's JSON error body, then closes the socket once it is flushed. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
	if (socket.destroyed) return;
	const body = JSON.stringify({ error: { code, message } });
	socket.once('finish', () => socket.destroy());
	socket.end(
		`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
			'Content-Type: application/json; charset=utf-8\r\n' +
			`Content-Length: ${Buffer.byteLength(body)}\r\n` +
			'Connection: close\r\n\r\n' +
			body
	);
}
