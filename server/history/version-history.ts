/**
 * Version history of shared workflows (issue 13): automatic versions after a pause in a room's
 * edits, named versions, one per run, one before each restore — stored compactly and rebuilt on
 * demand.
 *
 * Storage. The room documents run with Yjs garbage collection on (server/collab/room.ts makes a
 * plain `new Y.Doc()`), so `Y.snapshot` cannot rebuild an old state: deleted content is gone. A
 * version is stored instead as a Yjs update (update format v2, ~30% smaller than v1 here): the
 * delta since the version before it (`Y.encodeStateAsUpdateV2(doc, previousStateVector)`: the items
 * added since, plus the document's whole delete set — which grows with the number of separate
 * deletions, so a long-edited text makes every delta carry a few hundred bytes of it),
 * and every `keyframeEvery`-th version (or when the delta would be no smaller) the whole state. A
 * version is rebuilt by applying its keyframe and the deltas after it to a fresh doc — at most
 * `keyframeEvery` updates — and read as Workflow JSON with docToWorkflow.
 *
 * ```
 * room 'update' ─▶ noteEdit(id, doc, author) ─▶ pending { authors, timer } ─(idleMs quiet)─▶ record('auto')
 * POST …/versions ─▶ record('named')      run ─▶ record('run')      restore ─▶ record('restore')
 * record ─▶ delta or keyframe ─▶ VersionStore.add        workflowAt(id) ─▶ chain ─▶ Y.Doc ─▶ JSON
 * ```
 */
import * as Y from 'yjs';
import { docToWorkflow } from '../../src/lib/workflow/doc';
import type { WorkflowInput } from '../../src/lib/workflow/schema';
import type { ListVersionsOptions, VersionKind, VersionState, VersionStore, VersionSummary } from '../store/version-store';

export type { VersionKind, VersionSummary } from '../store/version-store';

/** Quiet time after the last edit before an automatic version is taken. */
export const VERSION_IDLE_MS = 30_000;
/** A room edited without a pause still gets a version this often. */
export const VERSION_MAX_WAIT_MS = 5 * 60_000;
/** A full state every this many versions, so rebuilding one applies at most this many updates. */
export const KEYFRAME_EVERY = 20;
/** Longest stored author name (presence names are cut at 40 in the page too). */
const AUTHOR_CHARS = 40;

export interface VersionTimers {
	setTimeout(fn: () => void, ms: number): unknown;
	clearTimeout(handle: unknown): void;
}

export interface VersionHistoryOptions {
	store: VersionStore;
	/** The live document of a workflow (the collab server's `getDoc`). */
	getDoc(workflowId: string): Promise<Y.Doc>;
	idleMs?: number;
	maxWaitMs?: number;
	keyframeEvery?: number;
	now?: () => number;
	/** Timers for the idle versions (tests pass fakes); default the global ones, unref'd. */
	timers?: VersionTimers;
	onError?: (error: unknown, workflowId: string) => void;
}

export interface RecordOptions {
	kind: VersionKind;
	name?: string | null;
	jobId?: string | null;
	createdBy?: string | null;
}

export interface VersionHistory {
	/** A room applied an edit (by `author`, a presence name, or null for the server's own edits). */
	noteEdit(workflowId: string, doc: Y.Doc, author: string | null): void;
	/** Stores the document as it is now as a version; the edits pending an automatic one go into it. */
	record(workflowId: string, options: RecordOptions): Promise<VersionSummary>;
	list(workflowId: string, options: ListVersionsOptions): Promise<VersionSummary[]>;
	get(workflowId: string, id: number): Promise<VersionSummary | null>;
	/** The workflow as it was at version `id`, or null if `workflowId` has no such version. */
	workflowAt(workflowId: string, id: number): Promise<WorkflowInput | null>;
	/** Records every pending automatic version now (before shutdown). */
	flush(): Promise<void>;
	/** Edits pending an automatic version, per workflow (for tests and stats). */
	pending(): Map<string, string[]>;
}

interface Pending {
	doc: Y.Doc;
	authors: Set<string>;
	firstAt: number;
	timer: unknown;
}

const defaultTimers: VersionTimers = {
	setTimeout: (fn, ms) => {
		const timer = setTimeout(fn, ms);
		timer.unref();
		return timer;
	},
	clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>)
};

/**
 * @example const versions = createVersionHistory({ store: createSqliteVersionStore(db), getDoc: (id) => collab.getDoc(id) })
 */
export function createVersionHistory(options: VersionHistoryOptions): VersionHistory {
	const { store } = options;
	const idleMs = options.idleMs ?? VERSION_IDLE_MS;
	const maxWaitMs = options.maxWaitMs ?? VERSION_MAX_WAIT_MS;
	const keyframeEvery = Math.max(1, options.keyframeEvery ?? KEYFRAME_EVERY);
	const now = options.now ?? Date.now;
	const timers = options.timers ?? defaultTimers;
	const pendings = new Map<string, Pending>();

	function schedule(workflowId: string, pending: Pending): void {
		if (pending.timer !== undefined) timers.clearTimeout(pending.timer);
		const wait = Math.max(0, Math.min(idleMs, pending.firstAt + maxWaitMs - now()));
		pending.timer = timers.setTimeout(() => {
			pending.timer = undefined;
			if (pendings.get(workflowId) !== pending) return;
			history.record(workflowId, { kind: 'auto' }).catch((error: unknown) => options.onError?.(error, workflowId));
		}, wait);
	}

	/** Takes the pending edits of `workflowId` (they go into the version being recorded). */
	function take(workflowId: string): Pending | undefined {
		const pending = pendings.get(workflowId);
		if (!pending) return undefined;
		pendings.delete(workflowId);
		if (pending.timer !== undefined) timers.clearTimeout(pending.timer);
		return pending;
	}

	async function encode(workflowId: string, doc: Y.Doc) {
		const stateVector = Y.encodeStateVector(doc);
		const full = () => ({ baseId: null, depth: 0, state: Y.encodeStateAsUpdateV2(doc), stateVector });
		const latest = await store.latest(workflowId);
		if (!latest || latest.depth + 1 >= keyframeEvery || !dominates(stateVector, latest.stateVector)) return full();
		const delta = Y.encodeStateAsUpdateV2(doc, latest.stateVector);
		const whole = full();
		return delta.byteLength < whole.state.byteLength
			? { baseId: latest.id, depth: latest.depth + 1, state: delta, stateVector }
			: whole;
	}

	const history: VersionHistory = {
		noteEdit(workflowId, doc, author) {
			let pending = pendings.get(workflowId);
			if (!pending || pending.doc !== doc) {
				if (pending?.timer !== undefined) timers.clearTimeout(pending.timer);
				pending = { doc, authors: new Set(pending?.authors), firstAt: now(), timer: undefined };
				pendings.set(workflowId, pending);
			}
			if (author) pending.authors.add(author.slice(0, AUTHOR_CHARS));
			schedule(workflowId, pending);
		},
		async record(workflowId, { kind, name = null, jobId = null, createdBy = null }) {
			const pending = take(workflowId);
			try {
				const doc = pending?.doc ?? (await options.getDoc(workflowId));
				const encoded = await encode(workflowId, doc);
				return await store.add({
					workflowId,
					kind,
					name,
					jobId,
					createdBy: createdBy?.slice(0, AUTHOR_CHARS) ?? null,
					authors: [...(pending?.authors ?? [])].sort(),
					...encoded,
					createdAt: now()
				});
			} catch (error) {
				// Not stored: the edits still wait for a version (the next edit schedules it again).
				if (pending && !pendings.has(workflowId)) pendings.set(workflowId, { ...pending, timer: undefined });
				throw error;
			}
		},
		list: (workflowId, page) => store.list(workflowId, page),
		get: (workflowId, id) => store.get(workflowId, id),
		async workflowAt(workflowId, id) {
			const chain: VersionState[] = [];
			let current = await store.state(workflowId, id);
			if (!current) return null;
			chain.push(current);
			while (current.baseId !== null) {
				current = await store.state(workflowId, current.baseId);
				if (!current) throw new Error(`Version ${id} of ${workflowId} builds on a version that is missing`);
				chain.push(current);
			}
			const doc = new Y.Doc();
			try {
				for (const state of chain.reverse()) Y.applyUpdateV2(doc, state.state);
				return docToWorkflow(doc);
			} finally {
				doc.destroy();
			}
		},
		async flush() {
			const ids = [...pendings.keys()];
			for (const id of ids) {
				try {
					await history.record(id, { kind: 'auto' });
				} catch (error) {
					options.onError?.(error, id);
				}
			}
		},
		pending() {
			return new Map([...pendings].map(([id, p]) => [id, [...p.authors].sort()]));
		}
	};
	return history;
}

/** True when state vector `a` has every update `b` has: a delta from `b` rebuilds `a`. */
function dominates(a: Uint8Array, b: Uint8Array): boolean {
	const have = Y.decodeStateVector(a);
	for (const [client, clock] of Y.decodeStateVector(b)) if ((have.get(client) ?? 0) < clock) return false;
	return true;
}
