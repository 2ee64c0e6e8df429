/**
 * What a Sixtyfour HTTP status means for us (API-NOTES.md "Errors"): 401/402/403 stop the whole
 * job (no row can succeed and every further call would fail the same way); 408/429/5xx are
 * retried; every other 4xx is the row's problem and is not re-sent to a paid endpoint.
 */
import { parseRetryAfter } from './backoff';
import { createRedactor, type Redactor } from './redact';
import { RetryableError } from './scheduler';
import { errorMessageOf } from './sixtyfour-schemas';
import { EnrichmentError } from './types';

const FATAL: Record<number, string> = {
	401: 'Sixtyfour rejected the API key (401) — check SIXTYFOUR_API_KEY',
	402: 'Sixtyfour account is out of credits (402) — top up before running again',
	403: 'Sixtyfour tier not enabled for this API key (403) — choose a lower tier or upgrade the plan'
};

const NO_SECRET = createRedactor('');

/**
 * The error to throw for a non-2xx answer: `EnrichmentError` (final) or `RetryableError`. The
 * body's message is read through `redactor`, so an API echoing the key never puts it in a message.
 */
export function errorForStatus(
	status: number,
	bodyText: string,
	retryAfter: string | null,
	what: string,
	redactor: Redactor = NO_SECRET
): Error {
	const detail = detailOf(bodyText, redactor);
	const suffix = detail ? `: ${detail}` : '';
	if (FATAL[status]) return new EnrichmentError(`${FATAL[status]}${suffix}`, status, true);
	if (status === 408 || status === 429 || status >= 500) {
		const label = status === 429 ? 'rate limited (429)' : status === 408 ? 'request timeout (408)' : `server error (${status})`;
		return new RetryableError(`${what}: ${label}${suffix}`, status, status === 429 ? parseRetryAfter(retryAfter) : null);
	}
	return new EnrichmentError(`${what} was refused (${status})${suffix}`, status, false);
}

function detailOf(bodyText: string, redactor: Redactor): string | null {
	const text = redactor.text(bodyText.trim());
	if (!text) return null;
	try {
		// Parsed from the raw body: a `\u`-escaped key only appears once decoded, and is scrubbed then.
		return errorMessageOf(redactor.json(bodyText)) ?? truncate(text);
	} catch {
		return truncate(text);
	}
}

function truncate(text: string): string {
	return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
