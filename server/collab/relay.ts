/**
 * Rooms across processes (scale-out, issue 11): every process that holds a workflow's room
 * subscribes to its channel `collab:<id>` on the message bus (Redis). What one process's room
 * changes goes out on it; the others apply it to their copy and tell their own clients.
 *
 * - A document update is stored by the process that received it, *then* relayed locally and
 *   published (the room's durability rule: nobody sees an edit that is not stored). A receiver
 *   applies it with origin `REMOTE`, so it is relayed to its clients but never stored again.
 * - Presence: each process judges its own connections (caps, rate, ownership: presence.ts) and
 *   publishes only the entries it accepted; receivers apply them as they are. A process that opens
 *   a room asks the others for their entries (`query`), so people already there show at once.
 * - The bus keeps nothing for a process that is away: when it comes back every process re-reads
 *   its rooms from the store (`collab:reload`), which holds every update ever relayed.
 *
 * Frames: varString(sender node id) · varUint(kind) · varUint8Array(payload) (lib0 encoding).
 */
import { randomBytes } from 'node:crypto';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/** The origin of changes that came from another process: relayed to clients, never stored. */
export const REMOTE = Symbol('collab-remote');

export const RELAY_UPDATE = 0;
export const RELAY_AWARENESS = 1;
export const RELAY_QUERY_AWARENESS = 2;
export type RelayKind = typeof RELAY_UPDATE | typeof RELAY_AWARENESS | typeof RELAY_QUERY_AWARENESS;

/** What a room sends to the other processes (the registry binds it to the room's channel). */
export interface RoomRelay {
	publish(kind: RelayKind, payload: Uint8Array): void;
}

export interface RelayFrame {
	from: string;
	kind: RelayKind;
	payload: Uint8Array;
}

/** The channel of a workflow's room. */
export const roomChannel = (workflowId: string): string => `collab:${workflowId}`;
/** Everyone re-reads their rooms from the store (sent when a process's bus comes back). */
export const RELOAD_CHANNEL = 'collab:reload';

/** A random id for this process's registry: it skips its own frames. */
export function newNodeId(): string {
	return randomBytes(9).toString('base64url');
}

export function encodeRelayFrame(from: string, kind: RelayKind, payload: Uint8Array): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarString(encoder, from);
	encoding.writeVarUint(encoder, kind);
	encoding.writeVarUint8Array(encoder, payload);
	return encoding.toUint8Array(encoder);
}

/** The frame in `bytes`, or null if it is not one (never throws). */
export function decodeRelayFrame(bytes: Uint8Array): RelayFrame | null {
	try {
		const decoder = decoding.createDecoder(bytes);
		const from = decoding.readVarString(decoder);
		const kind = decoding.readVarUint(decoder);
		if (kind !== RELAY_UPDATE && kind !== RELAY_AWARENESS && kind !== RELAY_QUERY_AWARENESS) return null;
		return { from, kind, payload: decoding.readVarUint8Array(decoder) };
	} catch {
		return null;
	}
}
