/**
 * Close codes of the `/yjs/:id` room socket, shared by the room server and the browser wrapper
 * around the y-websocket provider. The stock provider stops reconnecting on 4400–4499 (the
 * server's "reconnecting cannot fix this") and retries everything else, 4500–4599 included ("try
 * again later"); for the standard codes that also cannot be fixed by a retry (1003, 1007, 1009)
 * the wrapper must stop by itself: `describeCollabClose(code).retry`.
 */
export const COLLAB_CLOSE = {
	/** Server shutting down or restarting: reconnect. */
	GOING_AWAY: 1001,
	/** A text frame or an unknown message type. */
	UNSUPPORTED: 1003,
	/** A frame that does not decode as a y-websocket message. */
	MALFORMED: 1007,
	/** A frame over the payload limit (sent by `ws` itself) or an oversized awareness state. */
	TOO_BIG: 1009,
	/** The server could not store an edit: reconnect, your edits are still in your tab. */
	INTERNAL: 1011,
	/** The client reads too slowly to keep up: reconnect. */
	TRY_AGAIN: 1013,
	/** The document would grow beyond the size limit: the edit was refused. */
	DOC_TOO_LARGE: 4413,
	/**
	 * A flood: more frames waiting than a connection's inbox holds, which a client that respects
	 * TCP flow control cannot cause (a fast client is slowed, never closed). In the retry range:
	 * the client reconnects after a back-off and its sync sends whatever was not applied.
	 */
	FLOODED: 4529,
	/** Presence sent for far more client ids than one tab has: not a stock client, do not retry. */
	PRESENCE_FLOOD: 4430
} as const;

export type CollabCloseCode = (typeof COLLAB_CLOSE)[keyof typeof COLLAB_CLOSE];

/** What to tell people about a close, and whether reconnecting can help. */
export function describeCollabClose(code: number): { message: string; retry: boolean } {
	switch (code) {
		case COLLAB_CLOSE.UNSUPPORTED:
		case COLLAB_CLOSE.MALFORMED:
			return { message: 'The server could not understand this editor. Reload the page.', retry: false };
		case COLLAB_CLOSE.TOO_BIG:
			return { message: 'A change was too large to send. Reload the page.', retry: false };
		case COLLAB_CLOSE.DOC_TOO_LARGE:
			return { message: 'This workflow has reached its size limit; the last change was not saved.', retry: false };
		case COLLAB_CLOSE.FLOODED:
			return { message: 'Too many changes at once; reconnecting.', retry: true };
		case COLLAB_CLOSE.PRESENCE_FLOOD:
			return { message: 'This tab sent presence for too many people and was disconnected. Reload the page.', retry: false };
		case COLLAB_CLOSE.INTERNAL:
			return { message: 'The server could not save a change; reconnecting.', retry: true };
		default:
			return { message: 'Connection lost; reconnecting.', retry: true };
	}
}
