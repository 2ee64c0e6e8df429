/**
 * The server's acknowledgement of stored edits (issue 13), a y-websocket message of Leadflow's own
 * type outside the protocol's 0–3 (server/collab/room.ts, MESSAGE_SAVED):
 *
 * - client → server `[100, 1]`: "tell me what you store" (sent once per connection; anything else
 *   under type 100 closes the socket with 1007);
 * - server → client `[100, n]`: the room has stored the content of the first n sync step 2 / update
 *   frames this connection sent (appended to its log before anyone else saw them).
 *
 * The client counts the frames it sends (`classifyFrame`) to match them with its edits.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export const MESSAGE_SAVED = 100;
/** The only version of the request. */
export const SAVED_PROTOCOL_VERSION = 1;

/** The opt-in request a client sends right after its socket opens. */
export function encodeSavedRequest(): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MESSAGE_SAVED);
	encoding.writeVarUint(encoder, SAVED_PROTOCOL_VERSION);
	return encoding.toUint8Array(encoder);
}

/** Reads the stored-frame count of an acknowledgement (after its type was read). */
export function readSavedCount(decoder: decoding.Decoder): number {
	return decoding.readVarUint(decoder);
}

/**
 * What an outgoing frame is, for counting: `state` a sync step 2 (everything the server lacked,
 * all of this client's edits so far included), `update` one live update, `other` the rest.
 */
export function classifyFrame(data: ArrayBufferLike | ArrayBufferView | string | Blob): 'state' | 'update' | 'other' {
	if (typeof data === 'string' || (typeof Blob !== 'undefined' && data instanceof Blob)) return 'other';
	const bytes = ArrayBuffer.isView(data)
		? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
		: new Uint8Array(data as ArrayBufferLike);
	// Type 0 (sync) and the sync subtype: both one-byte varuints.
	if (bytes.length < 2 || bytes[0] !== 0) return 'other';
	return bytes[1] === 1 ? 'state' : bytes[1] === 2 ? 'update' : 'other';
}
