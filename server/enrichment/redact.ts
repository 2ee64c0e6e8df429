/**
 * Keeps the API key out of everything derived from an API answer. A broken or hostile API may echo
 * the key anywhere — an error body, a task id, a result field, even a field name, possibly
 * `\u`-escaped so that only the parsed JSON holds it — and whatever it answers reaches rows, the
 * CSV, `/live` frames, `_error` cells and logs. The client parses every answer through `json()`,
 * so the scrub happens once, where the answer enters the server.
 */

export const REDACTED = '[redacted]';

/** Scrubs one secret from text and from parsed JSON. */
export interface Redactor {
	/** `text` with every occurrence of the secret replaced by `[redacted]`. */
	text(text: string): string;
	/** True when `text` holds the secret. */
	leaks(text: string): boolean;
	/** `JSON.parse(text)` with the secret scrubbed from every string value and every field name. */
	json(text: string): unknown;
}

/**
 * A redactor for `secret`. A secret shorter than 4 characters is not scrubbed: it would mangle
 * ordinary words (config never allows one; tests sometimes use a dummy).
 * @example const redact = createRedactor(apiKey); const answer = redact.json(await res.text());
 */
export function createRedactor(secret: string): Redactor {
	if (secret.length < 4) return { text: (t) => t, leaks: () => false, json: (t) => JSON.parse(t) as unknown };
	const leaks = (text: string) => text.includes(secret);
	const text = (t: string) => (leaks(t) ? t.split(secret).join(REDACTED) : t);
	/** Runs bottom-up over the parsed value: strings, then the objects holding them. */
	const reviver = (_field: string, value: unknown): unknown => {
		if (typeof value === 'string') return text(value);
		if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
		const fields = Object.keys(value);
		if (!fields.some(leaks)) return value;
		// fromEntries defines own fields, so even a `__proto__` name stays a plain field.
		return Object.fromEntries(fields.map((field) => [text(field), (value as Record<string, unknown>)[field]]));
	};
	return {
		text,
		leaks,
		json(raw) {
			// Without a backslash no string can be escaped, so a text that does not hold the key
			// parses to nothing that does: the common case skips the reviver's cost.
			if (!raw.includes('\\') && !leaks(raw)) return JSON.parse(raw) as unknown;
			return JSON.parse(raw, reviver) as unknown;
		}
	};
}
