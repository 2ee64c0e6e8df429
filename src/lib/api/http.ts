/**
 * The one way the browser talks to the REST API: JSON in, JSON out, and every 4xx/5xx turned into
 * an `ApiError` carrying the server's `{ error: { code, message, issues } }` so forms can point at
 * the field that is wrong.
 */

/** One problem with a request, as the server reports it (`workflow.blocks.1.params.expression`). */
export interface ApiIssue {
	path: string;
	message: string;
}

/** A failed API call: HTTP status, the server's machine-readable code, a message for people. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly issues: ApiIssue[] = []
	) {
		super(message);
		this.name = 'ApiError';
	}
}

export interface RequestOptions {
	method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
	/** A JSON body (serialised here) or FormData (sent as multipart). */
	body?: unknown;
	/** Capability token of the workflow, sent as a bearer token. */
	token?: string | null;
	signal?: AbortSignal;
}

/** Reads the error body if there is one; falls back to the status text (e.g. a proxy's 502 page). */
async function toApiError(res: Response): Promise<ApiError> {
	let body: unknown = null;
	try {
		body = await res.json();
	} catch {
		/* not JSON */
	}
	const err = (body as { error?: { code?: unknown; message?: unknown; issues?: unknown } } | null)?.error;
	if (err && typeof err.message === 'string') {
		const issues = Array.isArray(err.issues)
			? err.issues.filter((i): i is ApiIssue => typeof i?.path === 'string' && typeof i?.message === 'string')
			: [];
		return new ApiError(res.status, typeof err.code === 'string' ? err.code : 'error', err.message, issues);
	}
	const message =
		res.status >= 500 ? 'The server is unavailable or failed. Try again in a moment.' : res.statusText || `HTTP ${res.status}`;
	return new ApiError(res.status, `http_${res.status}`, message);
}

/**
 * Calls the API and returns the parsed JSON body.
 * @example const job = await requestJson<{ job_id: string }>('/api/workflows/run', { method: 'POST', body })
 */
export async function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
	const headers: Record<string, string> = { accept: 'application/json' };
	let body: BodyInit | undefined;
	if (options.body instanceof FormData) body = options.body;
	else if (options.body !== undefined) {
		headers['content-type'] = 'application/json';
		body = JSON.stringify(options.body);
	}
	if (options.token) headers.authorization = `Bearer ${options.token}`;
	let res: Response;
	try {
		res = await fetch(path, { method: options.method ?? (body ? 'POST' : 'GET'), headers, body, signal: options.signal });
	} catch (e) {
		if ((e as Error).name === 'AbortError') throw e;
		throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection.');
	}
	if (!res.ok) throw await toApiError(res);
	if (res.status === 204) return undefined as T;
	return (await res.json()) as T;
}

/** A URL with query parameters, skipping undefined/null ones. */
export function withQuery(path: string, query: Record<string, string | number | null | undefined>): string {
	const params = new URLSearchParams();
	for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
	const qs = params.toString();
	return qs ? `${path}?${qs}` : path;
}
