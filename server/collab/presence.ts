/**
 * A room's presence (y-protocols awareness), guarded. Presence is relayed to everyone in the room,
 * so one connection must not be able to fill it: each connection speaks for at most
 * `maxAwarenessIds` client ids over its life (its own, plus one replacement) and shows one entry
 * at a time; its presence changes are rate-limited (an excess is dropped, not closed); and only
 * naming ids far beyond its cap — which no stock client does — closes it (4430).
 *
 * Nobody sets another's presence: an id belongs to the connection that first spoke for it, until
 * that connection leaves. The stock y-websocket client echoes every presence change it hears back
 * to the server with the clock it got; such echoes are recognised (clock not newer than the one
 * held) and ignored, never counted against the sender.
 *
 * Every entry is stamped by the server with its connection's access (`access: 'edit' | 'view'`),
 * whatever the client claimed, so the page can mark view-only people (a view link cannot pass for
 * an editor by taking their name).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { COLLAB_CLOSE } from '../../src/lib/workflow/collab-close-codes';
import type { CollabCounters, CollabLimits } from './limits';
import { createMessageBudget } from './rate-limit';

/** What a connection may do: `view` gets sync and presence, but its document updates are dropped. */
export type Access = 'edit' | 'view';

/** A presence update refused outright: the room closes the sender with `code`. */
export interface PresenceRefusal {
	code: number;
	reason: string;
	counter: keyof CollabCounters;
}

/** How long after an id left its clock is kept, so that late echoes of it are still recognised. */
const FORGET_AFTER_MS = awarenessProtocol.outdatedTimeout;

interface Entry {
	clientId: number;
	clock: number;
	/** JSON text as received. */
	state: string;
}

/** Per connection: the ids it has spoken for, the one it shows, its presence budget. */
interface Speaker {
	readonly access: Access;
	readonly claimed: Set<number>;
	/** The id whose entry this connection shows (it shows one at a time). */
	current: number | null;
	/** Ids named beyond `maxAwarenessIds` (dropped); past `awarenessAbuseIds` the socket is closed. */
	overflow: number;
	/** Entries naming an id another connection owns, with a newer clock (dropped). */
	spoofed: number;
	readonly budget: { take(): boolean };
}

export interface RoomPresenceOptions<C> {
	doc: Y.Doc;
	limits: CollabLimits;
	counters: CollabCounters;
	/** Called once per connection, the first time it names an id it may not set. */
	onSpoof: (conn: C) => void;
	now?: () => number;
}

/** The presence of one room, keyed by connection objects of type `C`. */
export class RoomPresence<C extends object> {
	readonly awareness: awarenessProtocol.Awareness;
	readonly #options: RoomPresenceOptions<C>;
	readonly #now: () => number;
	/** Client id → the connection that speaks for it. */
	readonly #owners = new Map<number, C>();
	readonly #speakers = new Map<C, Speaker>();
	/** Ids whose connection left → when, to forget their clocks later (`meta` would grow forever). */
	readonly #left = new Map<number, number>();

	constructor(options: RoomPresenceOptions<C>) {
		this.#options = options;
		this.#now = options.now ?? (() => performance.now());
		this.awareness = new awarenessProtocol.Awareness(options.doc);
		this.awareness.setLocalState(null);
	}

	/** Entries shown right now. */
	get size(): number {
		return this.awareness.getStates().size;
	}

	/** The client ids this room's own connections speak for (scale-out: what other processes ask for). */
	ownedIds(): number[] {
		return [...this.#owners.keys()].filter((id) => this.awareness.states.has(id));
	}

	join(conn: C, access: Access): void {
		const { limits } = this.#options;
		this.#speakers.set(conn, {
			access,
			claimed: new Set(),
			current: null,
			overflow: 0,
			spoofed: 0,
			budget: createMessageBudget({ perSecond: limits.awarenessPerSecond, burst: limits.awarenessBurst, now: this.#now })
		});
	}

	/**
	 * Applies what `conn` may say of an awareness update (the rest is dropped) and returns null, or
	 * returns a refusal for the room to close it with. Throws on an undecodable update (1007).
	 */
	receive(conn: C, update: Uint8Array): PresenceRefusal | null {
		const speaker = this.#speakers.get(conn);
		if (!speaker) return null;
		const { limits, counters } = this.#options;
		if (update.byteLength > limits.maxAwarenessBytes) {
			return { code: COLLAB_CLOSE.TOO_BIG, reason: 'Presence state too large', counter: 'tooBig' };
		}
		const claims: number[] = [];
		const accepted: { clientId: number; clock: number; state: unknown }[] = [];
		for (const entry of decodeEntries(update)) {
			const verdict = this.#judge(conn, speaker, entry, claims);
			if (verdict === 'ignore') continue;
			if (verdict === 'overflow') {
				speaker.overflow++;
				counters.presenceIdsRefused++;
				continue;
			}
			if (verdict === 'spoof') {
				if (speaker.spoofed++ === 0) this.#options.onSpoof(conn);
				continue;
			}
			const state = parseState(entry.state);
			// Presence is an object (or null to clear it); anything else is not something to show.
			if (state === undefined) continue;
			if (state === null && verdict !== 'accept') {
				// Clearing an entry one does not own: nothing to do (unowned) or not allowed (owned).
				if (verdict === 'takeover' && speaker.spoofed++ === 0) this.#options.onSpoof(conn);
				continue;
			}
			if (verdict !== 'accept' && !claims.includes(entry.clientId)) claims.push(entry.clientId);
			accepted.push({ clientId: entry.clientId, clock: entry.clock, state });
		}
		if (speaker.overflow > limits.awarenessAbuseIds) {
			return { code: COLLAB_CLOSE.PRESENCE_FLOOD, reason: 'Presence for too many client ids', counter: 'presenceFloods' };
		}
		if (accepted.length === 0) return null;
		if (!speaker.budget.take()) {
			counters.droppedAwareness++;
			return null;
		}
		this.#apply(conn, speaker, claims, accepted);
		return null;
	}

	/** The name `conn` shows in its presence entry (`user.name`), or null before it set one. */
	nameOf(conn: C): string | null {
		const current = this.#speakers.get(conn)?.current;
		if (current === null || current === undefined) return null;
		const user = (this.awareness.states.get(current) as { user?: { name?: unknown } } | undefined)?.user;
		return typeof user?.name === 'string' && user.name.trim() !== '' ? user.name.trim().slice(0, 40) : null;
	}

	/** `conn` left: its entries are removed at once and everyone is told. */
	leave(conn: C): void {
		if (!this.#speakers.delete(conn)) return;
		const owned = [...this.#owners].filter(([, owner]) => owner === conn).map(([id]) => id);
		for (const id of owned) this.#owners.delete(id);
		if (owned.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, owned, 'connection closed');
		const now = this.#now();
		for (const id of owned) this.#left.set(id, now);
		for (const [id, at] of this.#left) {
			if (now - at < FORGET_AFTER_MS) break; // insertion order: the rest left later
			this.#left.delete(id);
			if (!this.#owners.has(id) && !this.awareness.states.has(id)) this.awareness.meta.delete(id);
		}
	}

	destroy(): void {
		this.awareness.destroy();
		this.#owners.clear();
		this.#speakers.clear();
		this.#left.clear();
	}

	/**
	 * What to do with one entry from `conn` (`claims`: ids this frame already claimed): `accept` its
	 * own id, `claim` a new one or `takeover` another's (both within its cap, else `overflow`),
	 * `ignore` an echo, drop a `spoof`.
	 */
	#judge(
		conn: C,
		speaker: Speaker,
		{ clientId, clock, state }: Entry,
		claims: number[]
	): 'accept' | 'claim' | 'takeover' | 'ignore' | 'spoof' | 'overflow' {
		// The server's own awareness id is nobody's to set.
		if (clientId === this.awareness.clientID) return 'spoof';
		const owner = this.#owners.get(clientId);
		if (owner === conn) return 'accept';
		const known = this.awareness.meta.get(clientId)?.clock;
		// An echo of what the server sent (the stock client relays every change it hears).
		if (known !== undefined && clock <= known) return 'ignore';
		// An editor back from a dropped connection the server has not noticed yet takes its id over
		// with a newer state. A view link never takes anything over.
		// Scaled out, an entry shown that no connection here owns belongs to another process's.
		const taken = owner !== undefined || this.awareness.states.has(clientId);
		if (taken && speaker.access !== 'edit') return 'spoof';
		// Clearing an entry nobody shows: nothing to do, nothing to remember.
		if (owner === undefined && state === 'null') return 'ignore';
		const within =
			speaker.claimed.has(clientId) ||
			claims.includes(clientId) ||
			speaker.claimed.size + claims.length < this.#options.limits.maxAwarenessIds;
		if (!within) return 'overflow';
		return owner === undefined ? 'claim' : 'takeover';
	}

	#apply(conn: C, speaker: Speaker, claims: number[], accepted: { clientId: number; clock: number; state: unknown }[]): void {
		for (const id of claims) {
			speaker.claimed.add(id);
			this.#owners.set(id, conn);
			this.#left.delete(id);
		}
		// One entry per connection: the last id it set a state for is the one it shows.
		const shown = accepted.findLast((e) => e.state !== null)?.clientId ?? speaker.current;
		const retired =
			speaker.current !== null && speaker.current !== shown && this.#owners.get(speaker.current) === conn ? speaker.current : null;
		speaker.current = shown;
		const entries = accepted
			.filter((e) => e.state === null || e.clientId === shown)
			.map((e) => ({
				clientId: e.clientId,
				clock: e.clock,
				state: JSON.stringify(e.state === null ? null : { ...e.state, access: speaker.access })
			}));
		if (retired !== null && this.awareness.states.has(retired)) {
			awarenessProtocol.removeAwarenessStates(this.awareness, [retired], 'replaced');
		}
		if (entries.length > 0) awarenessProtocol.applyAwarenessUpdate(this.awareness, encodeEntries(entries), conn);
	}
}

/** The entries of an awareness update (y-protocols wire format), states still as text. */
function decodeEntries(update: Uint8Array): Entry[] {
	const decoder = decoding.createDecoder(update);
	const count = decoding.readVarUint(decoder);
	const entries: Entry[] = [];
	for (let i = 0; i < count; i++) {
		const clientId = decoding.readVarUint(decoder);
		const clock = decoding.readVarUint(decoder);
		entries.push({ clientId, clock, state: decoding.readVarString(decoder) });
	}
	return entries;
}

function encodeEntries(entries: readonly Entry[]): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, entries.length);
	for (const { clientId, clock, state } of entries) {
		encoding.writeVarUint(encoder, clientId);
		encoding.writeVarUint(encoder, clock);
		encoding.writeVarString(encoder, state);
	}
	return encoding.toUint8Array(encoder);
}

/** A presence state: a plain object, or null (cleared). Undefined for anything else. Throws on bad JSON. */
function parseState(text: string): Record<string, unknown> | null | undefined {
	const state = JSON.parse(text) as unknown;
	if (state === null) return null;
	return typeof state === 'object' && !Array.isArray(state) ? (state as Record<string, unknown>) : undefined;
}
