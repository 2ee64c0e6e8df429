/**
 * The workflows this browser has opened, newest first, remembered in localStorage so the home page
 * can list them (there are no accounts: the links with their tokens are the only keys).
 */
import * as v from 'valibot';
import { readStored, writeStored } from './local-store';

const KEY = 'leadflow.recent.v1';
const MAX = 30;

const RecentSchema = v.object({
	id: v.string(),
	name: v.string(),
	token: v.string(),
	access: v.picklist(['edit', 'view']),
	/** The view token when we hold the edit link (to share a read-only link). */
	view_token: v.optional(v.string()),
	opened_at: v.number()
});
export type RecentWorkflow = v.InferOutput<typeof RecentSchema>;

const ListSchema = v.array(RecentSchema);

/** The list of recent workflows, reactive, kept in sync with other tabs through `storage` events. */
export class RecentWorkflows {
	items = $state<RecentWorkflow[]>([]);

	constructor() {
		this.items = readStored(KEY, ListSchema, []);
		if (typeof window !== 'undefined') {
			window.addEventListener('storage', (e) => {
				if (e.key === KEY) this.items = readStored(KEY, ListSchema, []);
			});
		}
	}

	/** Records a visit; an edit link is never downgraded by a later visit with the view link. */
	remember(entry: Omit<RecentWorkflow, 'opened_at'>): void {
		const previous = this.items.find((w) => w.id === entry.id);
		const merged: RecentWorkflow =
			previous?.access === 'edit' && entry.access === 'view'
				? { ...previous, name: entry.name, opened_at: Date.now() }
				: { ...previous, ...entry, opened_at: Date.now() };
		this.items = [merged, ...this.items.filter((w) => w.id !== entry.id)].slice(0, MAX);
		writeStored(KEY, this.items);
	}

	/** Updates the remembered name when someone renames the workflow. */
	rename(id: string, name: string): void {
		const item = this.items.find((w) => w.id === id);
		if (!item || item.name === name) return;
		this.items = this.items.map((w) => (w.id === id ? { ...w, name } : w));
		writeStored(KEY, this.items);
	}

	forget(id: string): void {
		this.items = this.items.filter((w) => w.id !== id);
		writeStored(KEY, this.items);
	}
}
