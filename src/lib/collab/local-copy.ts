/**
 * This browser's copy of a workflow's document (issue 13): the Y.Doc in IndexedDB (y-indexeddb)
 * and the number of edits the server had not confirmed, so that a reload, a crashed tab or a day
 * offline loses nothing typed. Keyed by workflow id; forgotten when the server says the link is no
 * longer valid (401/403/404), so a revoked link leaves nothing behind.
 */
import { clearDocument } from 'y-indexeddb';

/** The IndexedDB database holding a workflow's document. */
export function localDocName(workflowId: string): string {
	return `leadflow-workflow-${workflowId}`;
}

const unsavedKey = (workflowId: string) => `leadflow:unsaved:${workflowId}`;

/** Edits a previous page left unconfirmed (0 when none or storage is unavailable). */
export function readUnsaved(workflowId: string): number {
	try {
		const n = Number(localStorage.getItem(unsavedKey(workflowId)) ?? 0);
		return Number.isSafeInteger(n) && n > 0 ? Math.min(n, 1_000_000) : 0;
	} catch {
		return 0;
	}
}

export function writeUnsaved(workflowId: string, count: number): void {
	try {
		if (count > 0) localStorage.setItem(unsavedKey(workflowId), String(count));
		else localStorage.removeItem(unsavedKey(workflowId));
	} catch {
		// storage full or disabled: the count is only shown, the edits are in IndexedDB
	}
}

/** Deletes this browser's copy of a workflow (the link was refused). */
export async function forgetLocalCopy(workflowId: string): Promise<void> {
	writeUnsaved(workflowId, 0);
	try {
		await clearDocument(localDocName(workflowId));
	} catch {
		// no IndexedDB (private mode): nothing was kept
	}
}
