/**
 * The door to `/yjs/:workflowId?token=…`: everything is checked on the HTTP upgrade request,
 * before the WebSocket handshake, so a refused client gets a plain HTTP status (401, 403, 404,
 * 503) on the raw socket and never a single Yjs message. Browsers cannot set headers on a
 * WebSocket, hence the token in the query string.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CollabLogger } from './limits';
import type { Access } from './room';

/**
 * What a token grants on a workflow: `edit`, `view`, `null` when the token is unknown (401), or
 * `'forbidden'` when it is valid but for another workflow (403). May be async (a DB lookup).
 */
export type AuthorizeResult = Access | 'forbidden' | null;
export type Authorize = (workflowId: string, token: string) => AuthorizeResult | Promise<AuthorizeResult>;

/** Workflow ids in room URLs (ids are minted by the server: url-safe, ≥ 128 bits). */
const WORKFLOW_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_TOKEN_LENGTH = 512;

export interface CollabUpgradeOptions {
	authorize: Authorize;
	/** When set, a browser `Origin` not in the list is refused (403). Requests without one pass. */
	allowedOrigins?: readonly string[];
	/** URL prefix of the rooms (default `/yjs`). */
	pathPrefix?: string;
	/** True once the server is shutting down (new connections get 503). */
	isClosing: () => boolean;
	/** The request passed every check: complete the WebSocket handshake. */
	accept: (req: IncomingMessage, socket: Duplex, head: Buffer, workflowId: string, access: Access) => void;
	onRefused?: (status: number) => void;
	log: CollabLogger;
}

/**
 * Returns the `upgrade` listener part for rooms: `(req, socket, head) => boolean`, true when the
 * request was for `/yjs/…` (this handler now owns the socket), false to let another handler try.
 */
export function createUpgradeHandler(options: CollabUpgradeOptions) {
	const prefix = (options.pathPrefix ?? '/yjs').replace(/\/+$/, '');
	const allowed = options.allowedOrigins ? new Set(options.allowedOrigins) : null;

	return function handleCollabUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
		const url = parseUrl(req.url);
		if (!url || (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`))) return false;
		// A reset during the (possibly async) checks must not crash the process.
		socket.on('error', () => socket.destroy());

		const refuse = (status: number, message: string) => {
			options.onRefused?.(status);
			writeRefusal(socket, status, message);
		};
		const checked = options.isClosing()
			? { status: 503, message: 'Server shutting down' }
			: checkRequest(url, prefix, req.headers.origin, allowed);
		if ('status' in checked) {
			refuse(checked.status, checked.message);
			return true;
		}
		const { workflowId, token } = checked;

		Promise.resolve()
			.then(() => options.authorize(workflowId, token))
			.then(
				(access) => {
					if (socket.destroyed) return;
					if (options.isClosing()) refuse(503, 'Server shutting down');
					else if (access === 'edit' || access === 'view') options.accept(req, socket, head, workflowId, access);
					else if (access === 'forbidden') refuse(403, 'This link is for another workflow');
					else refuse(401, 'Invalid token');
				},
				(error: unknown) => {
					options.log.error({ workflowId, error: String(error) }, 'Collab authorize failed');
					refuse(500, 'Could not check access');
				}
			);
		return true;
	};
}

/** The checks that need no lookup: path, Origin, token presence. */
function checkRequest(
	url: URL,
	prefix: string,
	origin: string | undefined,
	allowed: Set<string> | null
): { workflowId: string; token: string } | { status: number; message: string } {
	const workflowId = url.pathname.slice(prefix.length + 1);
	if (!WORKFLOW_ID.test(workflowId)) return { status: 404, message: 'No such workflow' };
	if (allowed && origin !== undefined && !allowed.has(origin)) return { status: 403, message: 'Origin not allowed' };
	const token = url.searchParams.get('token');
	if (!token) return { status: 401, message: 'Missing token' };
	if (token.length > MAX_TOKEN_LENGTH) return { status: 401, message: 'Invalid token' };
	return { workflowId, token };
}

function parseUrl(raw: string | undefined): URL | null {
	try {
		return new URL(raw ?? '/', 'http://localhost');
	} catch {
		return null;
	}
}

/** Writes a complete HTTP response on the raw upgrade socket and closes it. */
function writeRefusal(socket: Duplex, status: number, message: string): void {
	if (socket.destroyed) return;
	const body = `${message}\n`;
	socket.once('finish', () => socket.destroy());
	socket.end(
		`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
			'Connection: close\r\n' +
			'Content-Type: text/plain; charset=utf-8\r\n' +
			`Content-Length: ${Buffer.byteLength(body)}\r\n` +
			'\r\n' +
			body
	);
}
