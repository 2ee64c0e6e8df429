/**
 * One person's live connection to a shared workflow: the Y.Doc, the y-websocket provider, presence
 * (awareness), undo/redo of only this person's edits, and an honest connection state. Components
 * read its `$state` fields and change the document only through `edit()`, so every local change
 * carries this session's origin (what the undo manager tracks).
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { docToWorkflow, getNameText } from '$lib/workflow/doc';
import type { WorkflowInput } from '$lib/workflow/schema';
import { describeCollabClose } from '$lib/workflow/collab-close-codes';

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

	/** The origin of every local transaction: the undo manager tracks only these. */
	readonly #origin = { session: true };
	#provider: WebsocketProvider;
	#undo: Y.UndoManager;
	#everConnected = false;
	#failuresBeforeOpen = 0;
	#probing = false;
	#probeAccess: CollabSessionOptions['probeAccess'];
	#cleanup: (() => void)[] = [];

	constructor(options: CollabSessionOptions) {
		this.readOnly = options.readOnly;
		this.#probeAccess = options.probeAccess;
		const wsOrigin = options.wsOrigin ?? location.origin.replace(/^http/, 'ws');
		this.#provider = new WebsocketProvider(`${wsOrigin}/yjs`, options.workflowId, this.doc, {
			params: { token: options.token },
			disableBc: true,
			maxBackoffTime: 5_000,
			shouldReconnect: (event: CloseEvent) => describeCollabClose(event.code).retry
		});
		this.#undo = new Y.UndoManager(this.doc, {
			trackedOrigins: new Set([this.#origin]),
			captureTimeout: UNDO_CAPTURE_MS
		});
		this.setPresence({ blockId: null, field: null }, options.user);
		this.#wire();
		this.#refreshWorkflow();
	}

	/** The session's transaction origin, for code that binds inputs to Y.Text. */
	get origin(): object {
		return this.#origin;
	}

	/** The workflow name's shared text (for the title field). */
	get nameText(): Y.Text {
		return getNameText(this.doc);
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

	undo(): void {
		if (!this.readOnly) this.#undo.undo();
	}

	redo(): void {
		if (!this.readOnly) this.#undo.redo();
	}

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
		for (const fn of this.#cleanup) fn();
		this.#provider.awareness.setLocalState(null);
		this.#provider.destroy();
		this.#undo.destroy();
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
		this.#undo.on('stack-item-added', onStack);
		this.#undo.on('stack-item-popped', onStack);
		this.#undo.on('stack-cleared', onStack);

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
			if (reason) this.#stop(reason);
		} finally {
			this.#probing = false;
		}
	}

	#stop(reason: string): void {
		this.#provider.disconnect();
		this.status = 'stopped';
		this.stopReason = reason;
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
