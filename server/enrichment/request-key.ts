/**
 * The cache key of a request: sha256 of the endpoint and the request normalised so that requests
 * that mean the same thing share one answer — object keys sorted, strings trimmed, empty strings
 * and null/undefined values dropped. A CSV with the same lead twice (or with a stray space) pays once.
 */
import { createHash } from 'node:crypto';

/** The canonical form of a JSON-like value (see the module comment); arrays keep order and length. */
export function normaliseRequest(value: unknown): unknown {
	if (typeof value === 'string') return value.trim();
	if (Array.isArray(value)) return value.map((item) => normaliseRequest(item) ?? null);
	if (value && typeof value === 'object') {
		const out: Record<string, unknown> = {};
		for (const key of Object.keys(value).sort()) {
			const item = normaliseRequest((value as Record<string, unknown>)[key]);
			if (item === undefined || item === null || item === '') continue;
			out[key] = item;
		}
		return out;
	}
	if (typeof value === 'number' && !Number.isFinite(value)) return null;
	return value;
}

/**
 * Hex sha256 of `endpoint` + normalised `request`.
 * @example requestKey('/find-email', { lead: { name: ' Ada ' } }) === requestKey('/find-email', { lead: { name: 'Ada', email: '' } })
 */
export function requestKey(endpoint: string, request: unknown): string {
	return createHash('sha256')
		.update(endpoint)
		.update('\n')
		.update(JSON.stringify(normaliseRequest(request)) ?? 'null')
		.digest('hex');
}
