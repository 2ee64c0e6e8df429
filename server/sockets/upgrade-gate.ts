/**
 * The one door to every WebSocket endpoint (`/yjs/:workflowId`, `/live/:workflowId`): all checks
 * run on the HTTP upgrade request, before the handshake, so a refused client gets a plain HTTP
 * answer on the raw socket — the API's JSON error body with 401, 403, 404, 500 or 503 — and never
 * a single protocol message. Browsers cannot set headers on a WebSocket, hence the token in the
 * query string (a `Bearer` header is read too, for scripts).
 *
 * ```
 * upgrade ─▶ path prefix? (no: false, another handler tries)
 *         ─▶ closing 503 ─▶ id pattern 404 ─▶ Origin 403 ─▶ token 401 ─▶ authorize() 401/403/500
 *         ─▶ accept(req, socket, head, workflowId, access)
 * ```
 * The Host check (DNS rebinding, host-check.ts) is the server's, for HTTP and upgrades alike.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { readToken, type Access } from '../access';

/**
 * What a token grants on a workflow: `edit`, `view`, `null` when the token is unknown (401), or
 * `'forbidden'` when it is valid but not for this workflow (403). May be async (a DB lookup).
 */
export type AuthorizeResult = Access | 'forbidden' | null;
export type Authorize = (workflowId: string, token: string) => AuthorizeResult | Promise<AuthorizeResult>;

/** Workflow ids in socket URLs (ids are minted by the server: url-safe, ≥ 128 bits). */
const WORKFLOW_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_TOKEN_LENGTH = 512;

/** Who may open a socket from a browser. Requests without `Origin` (not a browser) always pass. */
export interface OriginRule {
	/** When set, a browser `Origin` not in the list is refused (403). */
	allowedOrigins?: readonly string[];
	/**
	 * Without a list (production): a browser `Origin` must name the request's own Host, or be one of
	 * `publicOrigins` (PUBLIC_URL behind a proxy that rewrites Host). Comparing with Host is sound
	 * only because the server has already refused a Host the operator did not configure.
	 */
	sameOrigin?: { publicOrigins: readonly string[] };
}

export interface UpgradeGateOptions extends OriginRule {
	/** URL prefix of the endpoint, e.g. `/yjs`. */
	path: string;
	authorize: Authorize;
	/** True once the endpoint is shutting down (new connections get 503). */
	isClosing: () => boolean;
	/** Scale-out: true while a service the endpoint needs (Redis) is away (503, clients retry). */
	isUnavailable?: () => boolean;
	/** The request passed every check: complete the WebSocket handshake. */
	accept: (req: IncomingMessage, socket: Duplex, head: Buffer, workflowId: string, access: Access) => void;
	/** Counts refusals (stats). */
	onRefused?: (status: number) => void;
	/** `authorize` threw (the client gets 500). */
	onError?: (err: unknown) => void;
}

/** A refusal: status, the API's error code, a message for people. */
interface Refusal {
	status: number;
	code: string;
	message: string;
}

const SHUTTING_DOWN: Refusal = { status: 503, code: 'unavailable', message: 'Server shutting down' };
const RELAY_DOWN: Refusal = { status: 503, code: 'unavailable', message: 'Temporarily unavailable (Redis); retry shortly' };

/**
 * Returns the endpoint's `upgrade` listener part: `(req, socket, head) => boolean`, true when the
 * request was for this endpoint's path (the gate now owns the socket), false to let another try.
 * @example const gate = createUpgradeGate({ path: '/live', authorize, isClosing: () => closing, accept })
 */
export function createUpgradeGate(options: UpgradeGateOptions) {
	const prefix = options.path.replace(/\/+$/, '');
	const allowed = options.allowedOrigins ? new Set(options.allowedOrigins) : null;

	return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
		const url = parseUrl(req.url);
		if (!url || (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`))) return false;
		// A reset during the (possibly async) checks must not crash the process.
		const swallow = () => socket.destroy();
		socket.on('error', swallow);

		const refuse = ({ status, code, message }: Refusal) => {
			options.onRefused?.(status);
			refuseUpgrade(socket, status, code, message);
		};
		const checked = options.isClosing()
			? SHUTTING_DOWN
			: options.isUnavailable?.()
				? RELAY_DOWN
				: checkRequest(url, prefix, req, allowed, options.sameOrigin);
		if ('status' in checked) {
			refuse(checked);
			return true;
		}
		const { workflowId, token } = checked;

		Promise.resolve()
			.then(() => options.authorize(workflowId, token))
			.then(
				(access) => {
					if (socket.destroyed) return;
					if (options.isClosing()) return refuse(SHUTTING_DOWN);
					if (access === 'forbidden')
						return refuse({ status: 403, code: 'forbidden', message: 'This link token is not valid for this workflow' });
					if (access !== 'edit' && access !== 'view')
						return refuse({ status: 401, code: 'unauthorized', message: 'Invalid link token' });
					socket.off('error', swallow);
					options.accept(req, socket, head, workflowId, access);
				},
				(err: unknown) => {
					options.onError?.(err);
					refuse({ status: 500, code: 'internal_error', message: 'Could not check access' });
				}
			);
		return true;
	};
}

/** The checks that need no lookup: workflow id, Origin, token presence. */
function checkRequest(
	url: URL,
	prefix: string,
	req: IncomingMessage,
	allowed: Set<string> | null,
	sameOrigin: OriginRule['sameOrigin']
): { workflowId: string; token: string } | Refusal {
	const workflowId = url.pathname.slice(prefix.length + 1);
	if (!WORKFLOW_ID.test(workflowId)) return { status: 404, code: 'not_found', message: 'Workflow not found' };
	if (!originAllowed(req, allowed, sameOrigin)) return { status: 403, code: 'forbidden', message: 'Origin not allowed' };
	const token = readToken(req.url ?? '/', req.headers.authorization);
	if (!token) return { status: 401, code: 'unauthorized', message: 'This workflow needs its link token (?token=…)' };
	if (token.length > MAX_TOKEN_LENGTH) return { status: 401, code: 'unauthorized', message: 'Invalid link token' };
	return { workflowId, token };
}

function originAllowed(req: IncomingMessage, allowed: Set<string> | null, sameOrigin: OriginRule['sameOrigin']): boolean {
	const origin = req.headers.origin;
	if (origin === undefined) return true;
	if (allowed) return allowed.has(origin);
	if (!sameOrigin) return true;
	try {
		const url = new URL(origin);
		return url.host === req.headers.host || sameOrigin.publicOrigins.includes(url.origin);
	} catch {
		return false;
	}
}

function parseUrl(raw: string | undefined): URL | null {
	try {
		return new URL(raw ?? '/', 'http://localhost');
	} catch {
		return null;
	}
}

/** Writes `status` with the API's JSON error body on the raw upgrade socket, then closes it once flushed. */
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
