/**
 * The room server's limits and counters. Each limit protects the server and the other people in a
 * room from one misbehaving (or merely huge) client; hitting one closes only that client's socket.
 */
import * as v from 'valibot';

const Positive = v.pipe(v.number(), v.integer(), v.minValue(1));

export const CollabLimitsSchema = v.strictObject({
	/** Largest WebSocket frame accepted (`ws` closes bigger ones with 1009). */
	maxPayloadBytes: Positive,
	/** Largest document: an update that would grow it past this is refused (close 4413). */
	maxDocBytes: Positive,
	/** The pace a connection's frames are applied at (any type), sustained per second… */
	messagesPerSecond: Positive,
	/** …after a burst of this many. Faster frames wait their turn in the connection's inbox. */
	messageBurst: Positive,
	/** Stop reading a socket (TCP then slows the sender) from this many frames waiting… */
	inboxPauseFrames: Positive,
	/** …or this many bytes; read it again once both are back under half. */
	inboxPauseBytes: Positive,
	/**
	 * A flood: more frames waiting than this (close 4529, which clients retry). Keep it far above
	 * `inboxPauseFrames` plus what one socket read can hold (64 KiB of 6-byte frames ≈ 11,000), so
	 * that only a client that gets past TCP flow control can reach it.
	 */
	inboxMaxFrames: Positive,
	/** Likewise in bytes: keep it above `inboxPauseBytes + maxPayloadBytes + 64 KiB`. */
	inboxMaxBytes: Positive,
	/** Largest awareness (presence) message: it is relayed to everyone, so it is kept small. */
	maxAwarenessBytes: Positive,
	/** Client ids one connection may speak for over its life: its own, plus one replacement. */
	maxAwarenessIds: Positive,
	/** Ids named beyond `maxAwarenessIds` are dropped; past this many the socket is closed (4430). */
	awarenessAbuseIds: Positive,
	/** Presence changes applied (and relayed) per connection per second; beyond, they are dropped… */
	awarenessPerSecond: Positive,
	/** …after this burst. Echoes of others' presence cost nothing. */
	awarenessBurst: Positive,
	/** A client with more than this queued unsent is too slow to follow the room (close 1013). */
	maxBufferedBytes: Positive,
	/** Compact the update log into a snapshot after this many appends (a merged turn is one). */
	compactEvery: Positive,
	/** Unload a room this long after its last client left (it is persisted first). */
	idleEvictMs: v.pipe(v.number(), v.integer(), v.minValue(0)),
	/** Ping interval; a socket that missed a pong by the next ping is terminated. */
	pingIntervalMs: Positive
});
export type CollabLimits = v.InferOutput<typeof CollabLimitsSchema>;

export const DEFAULT_LIMITS: CollabLimits = {
	maxPayloadBytes: 2 * 1024 * 1024,
	maxDocBytes: 5_000_000,
	messagesPerSecond: 1_000,
	messageBurst: 1_000,
	inboxPauseFrames: 1_000,
	inboxPauseBytes: 1024 * 1024,
	inboxMaxFrames: 20_000,
	inboxMaxBytes: 8 * 1024 * 1024,
	maxAwarenessBytes: 64 * 1024,
	maxAwarenessIds: 2,
	awarenessAbuseIds: 64,
	awarenessPerSecond: 10,
	awarenessBurst: 20,
	maxBufferedBytes: 16 * 1024 * 1024,
	compactEvery: 200,
	idleEvictMs: 30_000,
	pingIntervalMs: 30_000
};

/** Defaults overridden by `overrides`; throws a readable error for a bad value. */
export function resolveLimits(overrides: Partial<CollabLimits> = {}): CollabLimits {
	const result = v.safeParse(CollabLimitsSchema, { ...DEFAULT_LIMITS, ...overrides });
	if (!result.success) {
		const issue = result.issues[0];
		throw new TypeError(`Invalid collab limit ${v.getDotPath(issue) ?? ''}: ${issue.message}`);
	}
	return result.output;
}

/** What the room server has done since it started (for `stats()`, logs and tests). */
export interface CollabCounters {
	updatesPersisted: number;
	compactions: number;
	/** Document updates sent on view-only connections: dropped, never applied or relayed. */
	droppedViewUpdates: number;
	refusedDocTooLarge: number;
	/** Frames that arrived faster than their connection's pace and waited in its inbox. */
	throttledFrames: number;
	/** Times a socket stopped being read because its inbox reached the pause level. */
	pausedReads: number;
	/** Connections closed (4529) for flooding past the inbox bound. */
	floods: number;
	malformed: number;
	unsupported: number;
	tooBig: number;
	/** Presence changes over a connection's rate: dropped, not applied or relayed. */
	droppedAwareness: number;
	/** Client ids named beyond a connection's `maxAwarenessIds`: dropped. */
	presenceIdsRefused: number;
	/** Connections closed (4430) for naming more than `awarenessAbuseIds` ids beyond their cap. */
	presenceFloods: number;
	slowClients: number;
	persistFailures: number;
	refusedUpgrades: number;
}

export function createCounters(): CollabCounters {
	return {
		updatesPersisted: 0,
		compactions: 0,
		droppedViewUpdates: 0,
		refusedDocTooLarge: 0,
		throttledFrames: 0,
		pausedReads: 0,
		floods: 0,
		malformed: 0,
		unsupported: 0,
		tooBig: 0,
		droppedAwareness: 0,
		presenceIdsRefused: 0,
		presenceFloods: 0,
		slowClients: 0,
		persistFailures: 0,
		refusedUpgrades: 0
	};
}

/** The slice of a pino logger the room server uses. */
export interface CollabLogger {
	info(obj: object, msg: string): void;
	warn(obj: object, msg: string): void;
	error(obj: object, msg: string): void;
}

export const silentLogger: CollabLogger = { info() {}, warn() {}, error() {} };
