/**
 * One person's live connection to a shared workflow: the Y.Doc, the y-websocket provider, presence
 * (awareness), undo/redo of only this person's edits, and an honest connection state. Components
 * read its `$state` fields and change the document only through `edit()`, so every local change
 * carries this session's origin (what the undo manager tracks).
 *
 * Nothing typed is lost (issue 13): the document is kept in this browser's IndexedDB (loaded before
 * connecting, written on every change), and `unsaved` counts this person's edits the server has
 * not acknowledged storing (saved-message.ts, pending-edits.ts); the count survives a reload.
 * Undo is by intent (lib/workflow/undo.ts): a step a teammate changed since is skipped and said.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { IndexeddbPersistence } from 'y-indexeddb';
import { docToWorkflow, getName, setName } from '$lib/workflow/doc';
import type { WorkflowInput } from '$lib/workflow/schema';
import { describeCollabClose } from '$lib/workflow/collab-close-codes';
import { IntentUndo, type UndoOutcome } from '$lib/workflow/undo';
import { forgetLocalCopy, localDocName, readUnsaved, writeUnsaved } from './local-copy';
import { trackSaved, type SavedTracker } from './saved-tracker';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'stopped';

/** What one person on the workflow is doing, as shared through awareness. */
export interface Peer {
	clientId: number;
	name: string;
	colour: string;
	/** The block (and field) they are editing, if any. */
	blockId: string | null;
	field: string | null;
	self: boolean;
	/**
	 * Joined through a view link. Stamped by the server on every entry (`access`), whatever the
	 * client claimed, so a view link cannot pass for an editor by taking their name.
	 */
	viewOnly: boolean;
}

export interface CollabSessionOptions {
	workflowId: string;
	token: string;
	readOnly: boolean;
	user: { name: string; colour: string };
	/** `ws(s)://host` of the server (default: this page's origin). */
	wsOrigin?: string;
	/** Tells why the server refused us when a socket closes before ever opening (e.g. bad token). */
	probeAccess?: () => Promise<string | null>;
}

/** How long local keystrokes merge into one undo step. */
const UNDO_CAPTURE_MS = 600;

export class CollabSession {
	readonly doc = new Y.Doc();
	readonly readOnly: boolean;
	/** The workflow as plain JSON, recomputed after every change (local or remote). */
	workflow = $state.raw<WorkflowInput>({ blocks: [] });
	status = $state<ConnectionState>('connecting');
	/** Why we stopped trying to connect (refused token, document too large…), for the UI. */
	stopReason = $state<string | null>(null);
	/** True once the first sync with the server completed: the document on screen is the shared one. */
	synced = $state(false);
	peers = $state.raw<Peer[]>([]);
	canUndo = $state(false);
	canRedo = $state(false);
	/** This person's edits the server has not confirmed storing (kept on this device meanwhile). */
	unsaved = $state(0);
	/** The server has confirmed at least once on this page: "All changes saved" is known, not guessed. */
	acknowledged = $state(false);
	/** The local copy (IndexedDB) was read: the document on screen holds what this device kept. */
	localLoaded = $state(false);
	/** Why the last undo/redo did nothing ("Ada changed this since"), until the next one. */
	undoNote = $state<string | null>(null);

	/** The origin of every local transaction: the undo manager tracks only these. */
	readonly #origin = { session: true };
	#provider: WebsocketProvider;
	#undo: IntentUndo;
	#local: IndexeddbPersistence | null = null;
	#saved: SavedTracker | null = null;
	readonly #workflowId: string;
	#everConnected = false;
	#failuresBeforeOpen = 0;
	#probing = false;
	#probeAccess: CollabSessionOptions['probeAccess'];
	#cleanup: (() => void)[] = [];

	constructor(options: CollabSessionOptions) {
		this.readOnly = options.readOnly;
		this.#probeAccess = options.probeAccess;
		this.#workflowId = options.workflowId;
		const wsOrigin = options.wsOrigin ?? location.origin.replace(/^http/, 'ws');
		this.#provider = new WebsocketProvider(`${wsOrigin}/yjs`, options.workflowId, this.doc, {
			params: { token: options.token },
			disableBc: true,
			maxBackoffTime: 5_000,
			shouldReconnect: (event: CloseEvent) => describeCollabClose(event.code).retry,
			// After the local copy is read, so the first sync sends whatever it kept.
			connect: false
		});
		if (!this.readOnly) {
			this.unsaved = readUnsaved(options.workflowId);
			this.#saved = trackSaved({
				provider: this.#provider,
				doc: this.doc,
				carried: this.unsaved,
				onChange: (unsaved, acknowledged) => {
					this.acknowledged = acknowledged;
					if (unsaved !== this.unsaved) {
						this.unsaved = unsaved;
						writeUnsaved(this.#workflowId, unsaved);
					}
				}
			});
		}
		this.#undo = new IntentUndo(this.doc, { origin: this.#origin, captureTimeout: UNDO_CAPTURE_MS });
		this.setPresence({ blockId: null, field: null }, options.user);
		this.#wire();
		this.#refreshWorkflow();
		this.#openLocalCopy();
	}

	/** Reads this device's copy of the document, then connects (also if there is none or it fails). */
	#openLocalCopy(): void {
		let connected = false;
		const connect = () => {
			if (connected || this.#destroyed) return;
			connected = true;
			this.localLoaded = true;
			if (this.status !== 'stopped') this.#provider.connect();
		};
		try {
			const local = new IndexeddbPersistence(localDocName(this.#workflowId), this.doc);
			this.#local = local;
			void local.whenSynced.then(connect);
			(local as unknown as { _db: Promise<unknown> })._db.catch(connect);
		} catch {
			connect();
		}
	}

	#destroyed = false;

	/** The session's transaction origin, for code that binds inputs to Y.Text. */
	get origin(): object {
		return this.#origin;
	}

	/** The workflow's name (a whole value). */
	get name(): string {
		return getName(this.doc);
	}

	/** Renames the workflow (one whole-value edit). */
	rename(name: string): void {
		this.edit((doc) => setName(doc, name));
	}

	/** Document ready to edit: synced with the server, or this device's copy of it was read. */
	get ready(): boolean {
		return this.synced || (this.localLoaded && this.workflow.blocks.length + (this.workflow.name ? 1 : 0) > 0);
	}

	/**
	 * Runs a local edit as one transaction with this session's origin (one undo step). Ignored on a
	 * read-only session: a view link never changes the document.
	 */
	edit(change: (doc: Y.Doc) => void): void {
		if (this.readOnly) return;
		this.doc.transact(() => change(this.doc), this.#origin);
	}

	/**
	 * A structural edit (add, move, remove a block) as an undo step of its own, never merged with
	 * typing or with another quick click.
	 */
	editStep(change: (doc: Y.Doc) => void): void {
		this.#undo.stopCapturing();
		this.edit(change);
		this.#undo.stopCapturing();
	}

	/** Undoes this person's last step, or skips it (and says why) if a teammate changed it since. */
	undo(): UndoOutcome {
		return this.#step(() => this.#undo.undo(), 'undo');
	}

	redo(): UndoOutcome {
		return this.#step(() => this.#undo.redo(), 'redo');
	}

	#step(run: () => UndoOutcome, which: 'undo' | 'redo'): UndoOutcome {
		if (this.readOnly) return { kind: 'empty' };
		this.#undo.stopCapturing();
		const outcome = run();
		this.canUndo = this.#undo.canUndo();
		this.canRedo = this.#undo.canRedo();
		this.undoNote = outcome.kind === 'skipped' ? skipNote(this.#nameOf(outcome.by), which) : null;
		return outcome;
	}

	#nameOf(clientId: number | null): string | null {
		if (clientId === null) return null;
		return this.peers.find((p) => p.clientId === clientId && !p.self)?.name ?? this.#names.get(clientId) ?? null;
	}

	/** Names of everyone seen on this page, by client id (they may have left since). */
	readonly #names = new Map<number, string>();

	/** Ends the current undo step, so the next edit is undone separately. */
	stopCapturing(): void {
		this.#undo.stopCapturing();
	}

	/** Announces which block and field this person is editing (or null when none). */
	setPresence(focus: { blockId: string | null; field: string | null }, user?: { name: string; colour: string }): void {
		const awareness = this.#provider.awareness;
		const current = (awareness.getLocalState() ?? {}) as { user?: unknown };
		awareness.setLocalState({
			...current,
			user: user ? { name: user.name, color: user.colour } : current.user,
			editing: focus.blockId ? { block_id: focus.blockId, field: focus.field } : null
		});
	}

	/** Tries again after a stop (e.g. after the person fixed their link). */
	reconnect(): void {
		this.stopReason = null;
		this.#failuresBeforeOpen = 0;
		this.status = 'connecting';
		this.#provider.connect();
	}

	destroy(): void {
		this.#destroyed = true;
		for (const fn of this.#cleanup) fn();
		this.#saved?.destroy();
		this.#provider.awareness.setLocalState(null);
		this.#provider.destroy();
		this.#undo.destroy();
		void this.#local?.destroy();
		this.doc.destroy();
	}

	#wire(): void {
		const provider = this.#provider;
		const onUpdate = () => this.#refreshWorkflow();
		this.doc.on('update', onUpdate);
		this.#cleanup.push(() => this.doc.off('update', onUpdate));

		const onStack = () => {
			this.canUndo = this.#undo.canUndo();
			this.canRedo = this.#undo.canRedo();
		};
		const manager = this.#undo.manager;
		manager.on('stack-item-added', onStack);
		manager.on('stack-item-popped', onStack);
		manager.on('stack-cleared', onStack);

		// A new edit of one's own makes a note about a skipped undo old news.
		const onTransaction = (tr: Y.Transaction) => {
			if (this.undoNote && tr.origin === this.#origin) this.undoNote = null;
		};
		this.doc.on('afterTransaction', onTransaction);
		this.#cleanup.push(() => this.doc.off('afterTransaction', onTransaction));

		provider.on('status', ({ status }) => {
			if (status === 'connected') {
				this.#everConnected = true;
				this.#failuresBeforeOpen = 0;
				this.status = 'connected';
				this.stopReason = null;
			} else if (status === 'disconnected' || status === 'connecting') {
				if (this.status === 'stopped') return;
				if (!navigator.onLine) this.status = 'offline';
				else this.status = this.#everConnected ? 'reconnecting' : 'connecting';
			}
		});
		provider.on('sync', (isSynced: boolean) => {
			if (isSynced) this.synced = true;
		});
		provider.on('connection-close', (event: CloseEvent | null) => {
			if (!event) return;
			const close = describeCollabClose(event.code);
			if (!close.retry) this.#stop(close.message);
			else if (provider.wsconnected === false && !this.#everConnected) void this.#probeAfterFailure();
		});
		provider.on('connection-error', () => {
			if (!this.#everConnected) void this.#probeAfterFailure();
		});

		const awareness = provider.awareness;
		const onAwareness = () => this.#refreshPeers();
		awareness.on('change', onAwareness);
		this.#cleanup.push(() => awareness.off('change', onAwareness));
		this.#refreshPeers();

		const onOnline = () => {
			if (this.status !== 'offline') return;
			// The socket may have survived the outage (its traffic only paused): then we are back.
			this.status = provider.wsconnected ? 'connected' : 'reconnecting';
		};
		const onOffline = () => {
			if (this.status !== 'stopped') this.status = 'offline';
		};
		window.addEventListener('online', onOnline);
		window.addEventListener('offline', onOffline);
		this.#cleanup.push(() => {
			window.removeEventListener('online', onOnline);
			window.removeEventListener('offline', onOffline);
		});
		if (!navigator.onLine) this.status = 'offline';
	}

	/**
	 * A socket that closes before it ever opened is usually a refused upgrade (the browser hides the
	 * HTTP status). Ask the REST API why; if the link itself is refused, stop retrying.
	 */
	async #probeAfterFailure(): Promise<void> {
		this.#failuresBeforeOpen++;
		if (this.#probing || !this.#probeAccess || this.#failuresBeforeOpen < 1) return;
		this.#probing = true;
		try {
			const reason = await this.#probeAccess();
			if (reason) this.#stop(reason, true);
		} finally {
			this.#probing = false;
		}
	}

	/** `forget`: the link itself was refused, so this device's copy of the document goes too. */
	#stop(reason: string, forget = false): void {
		this.#provider.disconnect();
		this.status = 'stopped';
		this.stopReason = reason;
		if (forget) {
			void this.#local?.destroy();
			this.#local = null;
			void forgetLocalCopy(this.#workflowId);
		}
	}

	#refreshWorkflow(): void {
		this.workflow = docToWorkflow(this.doc);
	}

	#refreshPeers(): void {
		const self = this.doc.clientID;
		const peers: Peer[] = [];
		this.#provider.awareness.getStates().forEach((state, clientId) => {
			const { user, access } = state as { user?: { name?: unknown; color?: unknown }; access?: unknown };
			if (!user || typeof user.name !== 'string') return;
			this.#names.set(clientId, user.name.slice(0, 40) || 'Anonymous');
			const editing = (state as { editing?: { block_id?: unknown; field?: unknown } | null }).editing;
			peers.push({
				clientId,
				name: user.name.slice(0, 40) || 'Anonymous',
				colour: typeof user.color === 'string' && /^#[0-9a-f]{6}$/i.test(user.color) ? user.color : '#71717a',
				blockId: typeof editing?.block_id === 'string' ? editing.block_id : null,
				field: typeof editing?.field === 'string' ? editing.field : null,
				self: clientId === self,
				// Our own entry is never echoed back to us, so we know our access from the link.
				viewOnly: clientId === self ? this.readOnly : access === 'view'
			});
		});
		peers.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
		this.peers = peers;
	}
}

/** What to tell someone whose undo or redo was skipped. */
export function skipNote(name: string | null, which: 'undo' | 'redo'): string {
	return `${name ?? 'A teammate'} changed this since, so ${which === 'undo' ? 'undo' : 'redo'} skipped it.`;
}
