/**
 * Request validation as middleware: the body or query is parsed with a valibot schema before the
 * handler runs, and every problem comes back as a 400 with its path. Handlers read the typed value
 * with `c.req.valid('json' | 'query')`, and the browser client infers the request type from it.
 */
import * as v from 'valibot';
import { validator } from 'hono/validator';
import { HttpError, toIssues } from '../http-error';

/** At most this many issues are returned: a 1,000-block workflow must not produce a 1 MB error. */
export const MAX_ISSUES = 100;

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

function invalid(message: string, issues: v.BaseIssue<unknown>[]) {
	const all = toIssues(issues);
	const shown = all.slice(0, MAX_ISSUES);
	const more = all.length > shown.length ? ` (showing the first ${MAX_ISSUES} of ${all.length})` : '';
	return new HttpError(400, 'invalid_request', `${message}${more}`, shown);
}

/**
 * Validates a JSON body. Not JSON → 415; malformed JSON → 400; schema problems → 400 with paths.
 * @example route.post('/run', jsonBody(RunRequestSchema), (c) => c.json(c.req.valid('json')))
 */
export function jsonBody<S extends v.GenericSchema>(schema: S) {
	return jsonBodyBy(() => schema);
}

/**
 * Validates a JSON body against the schema `choose` picks for it: for bodies of two shapes told
 * apart by a key, so the issues are those of the shape meant (a union would report both).
 * @example jsonBodyBy((body) => (hasKey(body, 'workflow_id') ? SharedRun : PostedRun))
 */
export function jsonBodyBy<S extends v.GenericSchema>(choose: (value: unknown) => S) {
	return validator('json', (value, c) => {
		const mediaType = (c.req.header('content-type') ?? '').split(';')[0].trim();
		if (!JSON_TYPE.test(mediaType)) {
			throw new HttpError(415, 'unsupported_media_type', 'Send a JSON body with Content-Type: application/json');
		}
		const result = v.safeParse(choose(value), value);
		if (!result.success) throw invalid('The request body is not valid', result.issues);
		return result.output as v.InferOutput<S>;
	});
}

/** Validates the query string (each value a string; use `v.pipe(v.string(), v.toNumber())` etc.). */
export function queryParams<S extends v.GenericSchema>(schema: S) {
	return validator('query', (value) => {
		const result = v.safeParse(schema, value);
		if (!result.success) throw invalid('The query string is not valid', result.issues);
		return result.output as v.InferOutput<S>;
	});
}

/** A query-string integer with bounds and a default (`?limit=50`). */
export function queryInt(min: number, max: number, fallback: number) {
	return v.optional(
		v.pipe(
			v.string(),
			v.regex(/^\d{1,9}$/, `Expected a whole number from ${min} to ${max}`),
			v.transform(Number),
			v.minValue(min, `Expected a whole number from ${min} to ${max}`),
			v.maxValue(max, `Expected a whole number from ${min} to ${max}`)
		),
		String(fallback)
	);
}
