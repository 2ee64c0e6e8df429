/**
 * Editors of a shared workflow on servers in child processes (fault and multi-process tests): a
 * workflow created through the API, and stock y-websocket providers that reconnect quickly and
 * record the close codes they were given — so a test can kill a process and watch them come back.
 * Each test file keeps one `EditorSet` and destroys it in `afterAll`.
 */
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { whenSynced } from './collab';

/** A workflow created through `POST /api/workflows`, with its two tokens. */
export interface SharedWorkflow {
	id: string;
	edit_token: string;
	view_token: string;
}

export interface Editor {
	doc: Y.Doc;
	provider: WebsocketProvider;
	/** Close codes of every connection the server closed, in order. */
	closeCodes: number[];
	/** Resolves once connected and synced (again, after a reconnect). */
	synced(): Promise<void>;
	destroy(): void;
}

/** Creates a workflow on the server at `url` (with `from`: a Workflow JSON or an example's name). */
export async function createSharedWorkflow(url: string, name: string, from?: unknown): Promise<SharedWorkflow> {
	const res = await fetch(`${url}/api/workflows`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ name, ...(from ? { from } : {}) })
	});
	expect(res.status).toBe(201);
	return res.json() as Promise<SharedWorkflow>;
}

export interface EditorSet {
	/** An editor of `wf` on the server at `url` (`http://…`), with the edit token unless told. */
	open(url: string, wf: SharedWorkflow, token?: string): Editor;
	/** Destroys every editor opened (for `afterAll`). */
	destroyAll(): void;
}

export function createEditorSet(): EditorSet {
	const editors: Editor[] = [];
	return {
		open(url, wf, token = wf.edit_token) {
			process.setMaxListeners(Math.max(process.getMaxListeners(), 100));
			const doc = new Y.Doc();
			const provider = new WebsocketProvider(`${url.replace(/^http/, 'ws')}/yjs`, wf.id, doc, {
				params: { token },
				WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
				disableBc: true,
				maxBackoffTime: 250
			});
			const closeCodes: number[] = [];
			provider.on('connection-close', (event) => {
				if (event) closeCodes.push(event.code);
			});
			const editor: Editor = {
				doc,
				provider,
				closeCodes,
				synced: () => whenSynced(provider, { connected: true }),
				destroy() {
					provider.destroy();
					doc.destroy();
				}
			};
			editors.push(editor);
			return editor;
		},
		destroyAll() {
			for (const e of editors.splice(0)) e.destroy();
		}
	};
}
