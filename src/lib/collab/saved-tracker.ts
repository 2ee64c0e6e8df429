/**
 * Wires a y-websocket provider to the server's acknowledgements (issue 13): counts this person's
 * local transactions (`PendingEdits`), numbers the frames the provider sends on each socket, asks
 * the server for `MESSAGE_SAVED` when a socket opens and applies what it answers. Shared by the
 * editor's session and the tests, so both run the same code.
 */
import type * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { PendingEdits } from './pending-edits';
import { classifyFrame, encodeSavedRequest, MESSAGE_SAVED, readSavedCount } from './saved-message';

export interface SavedTrackerOptions {
	provider: WebsocketProvider;
	doc: Y.Doc;
	/** Edits an earlier page left unconfirmed (restored from the device). */
	carried?: number;
	/** After every change of the count, and on every acknowledgement. */
	onChange: (unsaved: number, acknowledged: boolean) => void;
}

export interface SavedTracker {
	readonly unsaved: number;
	/** The server has acknowledged at least once since this page opened. */
	readonly acknowledged: boolean;
	destroy(): void;
}

export function trackSaved(options: SavedTrackerOptions): SavedTracker {
	const { provider, doc, onChange } = options;
	const pending = new PendingEdits(options.carried ?? 0);
	let acknowledged = false;
	const changed = () => onChange(pending.count, acknowledged);

	// afterTransaction runs before the provider's 'update' handler sends the transaction.
	const onTransaction = (tr: Y.Transaction) => {
		if (!tr.local) return;
		const grew = [...tr.afterState].some(([client, clock]) => tr.beforeState.get(client) !== clock);
		if (!grew && tr.deleteSet.clients.size === 0) return;
		pending.edited();
		changed();
	};
	doc.on('afterTransaction', onTransaction);

	provider.messageHandlers[MESSAGE_SAVED] = (_encoder, decoder) => {
		pending.acknowledged(readSavedCount(decoder));
		acknowledged = true;
		changed();
	};

	// 'connected' is emitted before the provider sends its sync step 1 on the new socket.
	const onStatus = ({ status }: { status: string }) => {
		if (status === 'connected') {
			const ws = provider.ws;
			if (!ws) return;
			pending.connected();
			const send = ws.send.bind(ws);
			ws.send = (data) => {
				pending.sent(classifyFrame(data));
				send(data);
			};
			send(encodeSavedRequest());
		} else {
			pending.disconnected();
		}
	};
	provider.on('status', onStatus);

	return {
		get unsaved() {
			return pending.count;
		},
		get acknowledged() {
			return acknowledged;
		},
		destroy() {
			doc.off('afterTransaction', onTransaction);
			provider.off('status', onStatus);
		}
	};
}
