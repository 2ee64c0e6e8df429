/**
 * A `fetch` that keeps a log of every request the enrichment client sends (time, which job's row it
 * carries, the answer's status), so a load suite measures the request rate from the server's own
 * side — the figure a per-key limit is about — instead of trusting the API to have counted.
 */

/** One request as the client sent it. */
export interface SentRequest {
	/** `Date.now()` when it was handed to fetch. */
	at: number;
	/** Index of the job whose row it carries (from the lead's name), or -1 when unknown. */
	job: number;
	/** HTTP status of the answer; 0 for a network error or an abort. */
	status: number;
}

export interface RecordingFetch {
	fetch: typeof fetch;
	readonly sent: SentRequest[];
}

/**
 * Wraps global fetch. `jobOf` maps a request's lead number (the trailing integer of the synthetic
 * lead's name, see `tests/helpers/leads-csv.ts`) to a job index.
 */
export function recordingFetch(jobOf: (leadNumber: number) => number): RecordingFetch {
	const sent: SentRequest[] = [];
	const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
		const entry: SentRequest = { at: Date.now(), job: jobOfBody(init?.body, jobOf), status: 0 };
		sent.push(entry);
		const response = await fetch(input, init);
		entry.status = response.status;
		return response;
	};
	return { fetch: wrapped as typeof fetch, sent };
}

function jobOfBody(body: unknown, jobOf: (leadNumber: number) => number): number {
	if (typeof body !== 'string') return -1;
	const match = /"name":"[^"]*?(\d+)"/.exec(body);
	return match ? jobOf(Number(match[1])) : -1;
}
