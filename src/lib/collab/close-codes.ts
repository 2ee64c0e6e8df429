/**
 * Which WebSocket close codes mean "trying again will not help". The stock y-websocket client
 * retries forever; after a refusal for size, policy or a malformed frame we stop and say why
 * instead of hammering the server in a loop.
 */

const TERMINAL: Record<number, string> = {
	1003: 'The server refused a message it cannot read.',
	1007: 'The server refused a malformed message.',
	1008: 'The server refused this connection (policy: rate or access limit).',
	1009: 'The workflow document is larger than the server accepts.'
};

/**
 * A sentence for a close that should stop reconnecting, or null for a close worth retrying
 * (network drop, server restart 1001/1006/1011/1012/1013, 4500–4599).
 */
export function describeClose(code: number, reason = ''): string | null {
	const detail = reason.trim();
	if (code in TERMINAL) return detail ? `${TERMINAL[code]} (${detail})` : TERMINAL[code];
	// 4500–4599: "try again later" (the y-websocket convention, e.g. 4529 for a flood).
	if (code >= 4500 && code <= 4599) return null;
	// Other 4000–4999: application codes; by HTTP analogy 4401/4403/4404/4413 are refusals.
	if (code >= 4000 && code <= 4999) return detail || `The server closed the connection (code ${code}).`;
	return null;
}

/** The provider's `shouldReconnect` hook. */
export function shouldReconnect(code: number): boolean {
	return describeClose(code) === null;
}
