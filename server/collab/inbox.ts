/**
 * A connection's frames waiting for their turn. A client may send faster than the room applies its
 * frames (a script, a paste, a stock client replaying 5,000 offline edits): they are queued here in
 * order, not refused. The queue is bounded twice, in frames and in bytes: past the pause level the
 * room stops reading the socket (so TCP, not our memory, holds the rest and slows the sender), and
 * past the hard bound, which a client that respects TCP flow control cannot reach, it is a flood.
 */

export interface InboxBounds {
	/** Stop reading the socket from this many queued frames… */
	pauseFrames: number;
	/** …or bytes; read again once both are back under half. */
	pauseBytes: number;
	/** More frames than this queued is a flood: the room closes the socket. */
	maxFrames: number;
	/** Likewise in bytes. */
	maxBytes: number;
}

/** What `push` found: go on, stop reading the socket, or the bound is broken. */
export type InboxState = 'ok' | 'pause' | 'overflow';

export class Inbox {
	#frames: Uint8Array[] = [];
	/** Index of the oldest frame in `#frames` (shifting a long array is O(n)). */
	#head = 0;
	#bytes = 0;

	constructor(readonly bounds: InboxBounds) {}

	/** Frames waiting. */
	get length(): number {
		return this.#frames.length - this.#head;
	}

	get bytes(): number {
		return this.#bytes;
	}

	push(frame: Uint8Array): InboxState {
		this.#frames.push(frame);
		this.#bytes += frame.byteLength;
		const { pauseFrames, pauseBytes, maxFrames, maxBytes } = this.bounds;
		if (this.length > maxFrames || this.#bytes > maxBytes) return 'overflow';
		return this.length >= pauseFrames || this.#bytes >= pauseBytes ? 'pause' : 'ok';
	}

	/** Takes up to `count` frames, oldest first. */
	take(count: number): Uint8Array[] {
		const taken = this.peek(count);
		this.drop(taken.length);
		return taken;
	}

	/** Up to `count` frames, oldest first, left in the inbox (`drop` them once handled). */
	peek(count: number): Uint8Array[] {
		return this.#frames.slice(this.#head, Math.min(this.#frames.length, this.#head + count));
	}

	/** Removes up to `count` frames, oldest first. */
	drop(count: number): void {
		const end = Math.min(this.#frames.length, this.#head + count);
		for (let i = this.#head; i < end; i++) this.#bytes -= this.#frames[i].byteLength;
		this.#head = end;
		if (this.#head === this.#frames.length) {
			this.#frames = [];
			this.#head = 0;
		} else if (this.#head > 1_024 && this.#head * 2 > this.#frames.length) {
			this.#frames = this.#frames.slice(this.#head);
			this.#head = 0;
		}
	}

	/** Low enough to read the socket again. */
	get canResume(): boolean {
		return this.length * 2 < this.bounds.pauseFrames && this.#bytes * 2 < this.bounds.pauseBytes;
	}

	clear(): void {
		this.#frames = [];
		this.#head = 0;
		this.#bytes = 0;
	}
}
