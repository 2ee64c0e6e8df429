/**
 * Which of this person's edits the server has not stored yet (issue 13): the "n changes not yet
 * saved" of the editor, from the server's acknowledgement, never from a guess.
 *
 * Every local transaction is an entry. It is covered by a frame the provider sends:
 * - made while connected, by the update frame the provider sends for it right away;
 * - made while offline (or carried over from before a reload), by the next sync step 2, which holds
 *   everything the server lacked.
 * The server acknowledges "the first n update frames of this connection are stored"; entries whose
 * frame is within n are saved. A dropped connection loses its frame numbers: the entries wait for
 * the next connection's sync step 2 (which holds them again). Pure: no socket, no storage.
 */
interface Entry {
	/** The connection (generation) and frame that carries it; null until sent. */
	connection: number | null;
	frame: number | null;
	/** Made while connected: the very next update frame carries it. */
	live: boolean;
}

export class PendingEdits {
	#entries: Entry[] = [];
	#connection = 0;
	#sent = 0;
	#connected = false;

	/** `carried`: edits left unsaved by an earlier page (restored from the device). */
	constructor(carried = 0) {
		for (let i = 0; i < carried; i++) this.#entries.push({ connection: null, frame: null, live: false });
	}

	/** Edits the server has not confirmed. */
	get count(): number {
		return this.#entries.length;
	}

	/** A new socket opened: frames are numbered from 1 again. */
	connected(): void {
		this.#connection++;
		this.#sent = 0;
		this.#connected = true;
		this.#requeue();
	}

	/** The socket closed: whatever it carried and was not confirmed waits for the next one. */
	disconnected(): void {
		this.#connected = false;
		this.#requeue();
	}

	/** One local transaction (call it before the provider sends its update). */
	edited(): void {
		this.#entries.push({ connection: null, frame: null, live: this.#connected });
	}

	/** The provider sent a frame on the current connection. */
	sent(kind: 'state' | 'update' | 'other'): void {
		if (kind === 'other' || !this.#connected) return;
		const frame = ++this.#sent;
		for (const entry of this.#entries) {
			if (entry.frame !== null) continue;
			// A sync step 2 holds everything; an update frame only the live edits made just before it.
			if (kind === 'state' || entry.live) {
				entry.connection = this.#connection;
				entry.frame = frame;
			}
		}
	}

	/** The server stored the first `frames` update frames of the current connection. */
	acknowledged(frames: number): void {
		this.#entries = this.#entries.filter((e) => !(e.connection === this.#connection && e.frame !== null && e.frame <= frames));
	}

	#requeue(): void {
		for (const entry of this.#entries) {
			if (entry.connection !== this.#connection || !this.#connected) {
				entry.connection = null;
				entry.frame = null;
				entry.live = false;
			}
		}
	}
}
