/**
 * Undo by intent (issue 13): undo reverts this person's own last step, and never produces a value
 * nobody wrote nor removes what a teammate typed. Built on Y.UndoManager (which already only undoes
 * this person's transactions, and in a Y.Text only deletes their own characters), plus one rule it
 * lacks:
 *
 * - **A whole value a teammate changed since is not undone.** Every map entry a step set or
 *   deleted (an expression, a name, a file name, a struct field or its description, a block's
 *   position, a block itself) is remembered as the entry the step left. If, when the step is undone
 *   (or redone), the entry there now is another one, someone changed it since: the step is
 *   *skipped* — removed from the stack, nothing changes — and `undo()` says who (`by`, their client
 *   id, which is their presence id). Never merged character by character.
 * - **Nothing a teammate typed is removed**: undoing a step that created a block (or any shared
 *   type) that a teammate has written into since is skipped the same way, because deleting it would
 *   delete their text. Inside long free text (a Y.Text) undo keeps Yjs's merging: it deletes only
 *   characters this person inserted and restores only what this person deleted.
 *
 * One press is one step: if a step turns out to change nothing, it is reported as skipped instead of
 * silently undoing the step before it. Redo mirrors all of it.
 */
import * as Y from 'yjs';

/** What one press of undo or redo did. */
export type UndoOutcome =
	| { kind: 'done' }
	| { kind: 'empty' }
	/** The step was dropped unchanged: `by` changed it since (client id), null when unknown. */
	| { kind: 'skipped'; by: number | null };

export interface IntentUndoOptions {
	/** The origin of this person's transactions (only those are undone). */
	origin: object;
	/** Edits closer than this merge into one step (ms). */
	captureTimeout?: number;
}

type StackItem = Y.UndoManager['undoStack'][number];
/** Any shared type, as Yjs's own `Transaction.changed` types it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SharedType = Y.AbstractType<any>;

/**
 * An entry a step left in a map: which map and key, and the id of the item that held the value (an
 * id, not the item: Yjs merges and splits item objects as it cleans up).
 */
interface Left {
	parent: SharedType;
	key: string;
	id: Y.ID | null;
}

const LEFT = 'leadflow:left';
/** The document's state vector when the step began: later items of others are "since". */
const SINCE = 'leadflow:since';

export class IntentUndo {
	readonly manager: Y.UndoManager;
	readonly #doc: Y.Doc;
	readonly #origin: object;

	constructor(doc: Y.Doc, options: IntentUndoOptions) {
		this.#doc = doc;
		this.#origin = options.origin;
		this.manager = new Y.UndoManager(doc, {
			trackedOrigins: new Set([options.origin]),
			captureTimeout: options.captureTimeout ?? 500
		});
		// Registered after the manager's own handler: the step this transaction made or grew is on
		// its stack already.
		doc.on('afterTransaction', this.#record);
	}

	canUndo(): boolean {
		return this.manager.undoStack.length > 0;
	}

	canRedo(): boolean {
		return this.manager.redoStack.length > 0;
	}

	/** Ends the current step: the next edit is undone separately. */
	stopCapturing(): void {
		this.manager.stopCapturing();
	}

	undo(): UndoOutcome {
		return this.#pop('undo');
	}

	redo(): UndoOutcome {
		return this.#pop('redo');
	}

	destroy(): void {
		this.#doc.off('afterTransaction', this.#record);
		this.manager.destroy();
	}

	#pop(which: 'undo' | 'redo'): UndoOutcome {
		const stack = which === 'undo' ? this.manager.undoStack : this.manager.redoStack;
		const item = stack.at(-1);
		if (!item) return { kind: 'empty' };
		const conflict = this.#conflict(item);
		if (conflict) {
			stack.pop();
			return { kind: 'skipped', by: conflict.by };
		}
		// Only this step: Y.UndoManager would go on to the one before if this one changes nothing.
		const rest = stack.splice(0, stack.length - 1);
		let result: StackItem | null;
		try {
			result = which === 'undo' ? this.manager.undo() : this.manager.redo();
		} finally {
			stack.unshift(...rest);
		}
		return result === null ? { kind: 'skipped', by: null } : { kind: 'done' };
	}

	/** Remembers the map entries a tracked transaction left, on the step it belongs to. */
	readonly #record = (transaction: Y.Transaction): void => {
		const origin = transaction.origin;
		// A teammate's change ends our step: typing resumed after it is a new step, never merged into
		// one begun before it (whose undo would then count their change as made "since").
		if (origin !== this.#origin && origin !== this.manager && transaction.changed.size > 0) {
			this.manager.stopCapturing();
			return;
		}
		let step: StackItem | undefined;
		if (origin === this.#origin) step = this.manager.undoStack.at(-1);
		else if (origin === this.manager) {
			// An undo's changes become the redo step, a redo's the undo step.
			step = this.manager.undoing ? this.manager.redoStack.at(-1) : this.manager.redoing ? this.manager.undoStack.at(-1) : undefined;
		}
		if (!step) return;
		let left = step.meta.get(LEFT) as Map<SharedType, Map<string, Left>> | undefined;
		if (!left) {
			left = new Map();
			step.meta.set(LEFT, left);
			// Before this transaction: its own items are the step's, not someone else's since.
			step.meta.set(SINCE, transaction.beforeState);
		}
		transaction.changed.forEach((keys, parent) => {
			for (const key of keys) {
				if (key === null) continue;
				let entries = left.get(parent);
				if (!entries) left.set(parent, (entries = new Map()));
				const item = parent._map.get(key);
				entries.set(key, { parent, key, id: item ? item.id : null });
			}
		});
	};

	/** Who changed, since `step`, something it would revert (null: nobody). */
	#conflict(step: StackItem): { by: number | null } | null {
		const left = step.meta.get(LEFT) as Map<SharedType, Map<string, Left>> | undefined;
		if (!left) return null;
		const me = this.#doc.clientID;
		const since = (step.meta.get(SINCE) as Map<number, number> | undefined) ?? new Map<number, number>();
		for (const entries of left.values()) {
			for (const { parent, key, id } of entries.values()) {
				// A step inside something deleted since (a block a teammate removed) cannot be undone.
				if (isGone(parent)) return { by: null };
				const now = parent._map.get(key);
				// A field's empty text, created by a form as it shows the field (everyone's at once), is
				// nobody's edit: neither ours to undo nor a teammate's change since.
				if (isEmptyText(now) && (id === null || isEmptyText(this.#latest(id)))) continue;
				// Anyone else's value for this key from the step on (set at the same time, even if ours
				// won): Yjs would not restore the value before ours over it, and would only delete ours.
				for (let other: Y.Item | null | undefined = now; other; other = other.left) {
					if (other.id.client !== me && other.id.clock >= (since.get(other.id.client) ?? 0) && !isEmptyText(other)) {
						return { by: other.id.client };
					}
				}
				if (now !== this.#latest(id)) {
					return { by: now && !now.deleted && now.id.client !== me ? now.id.client : null };
				}
				// Undo deletes what the step created: not if a teammate wrote into it since.
				if (now && !now.deleted && now.content instanceof Y.ContentType && Y.isDeleted(step.insertions, now.id)) {
					const other = othersIn(now.content.type, me);
					if (other !== null) return { by: other };
				}
			}
		}
		return null;
	}

	/** The item holding `id` now, following `redone`: Yjs restores an undone value as a new item. */
	#latest(id: Y.ID | null): Y.Item | undefined {
		if (!id) return undefined;
		let current = Y.getItem(this.#doc.store, id);
		for (let hops = 0; current instanceof Y.Item && current.redone && hops < 1_000; hops++) {
			current = Y.getItem(this.#doc.store, current.redone);
		}
		return current instanceof Y.Item ? current : undefined;
	}
}

/** True if `type` or one of its ancestors was deleted. */
function isGone(type: SharedType): boolean {
	for (let item = type._item; item; item = item.parent instanceof Y.AbstractType ? item.parent._item : null) {
		if (item.deleted) return true;
	}
	return false;
}

/** True for an item holding a shared text with nothing in it. */
function isEmptyText(item: Y.Item | null | undefined): boolean {
	return !!item && item.content instanceof Y.ContentType && item.content.type instanceof Y.Text && item.content.type.length === 0;
}

/**
 * The client id of someone other than `me` whose content is (still) in `type`, else null. An
 * empty text is not content: a form creates one for a long-text field as soon as it shows it, in
 * everyone's browser at once, and a teammate's empty one winning that race is not their writing.
 */
function othersIn(type: SharedType, me: number): number | null {
	const visit = (item: Y.Item | null): number | null => {
		if (!item || item.deleted) return null;
		if (isEmptyText(item)) return null;
		if (item.id.client !== me) return item.id.client;
		return item.content instanceof Y.ContentType ? othersIn(item.content.type, me) : null;
	};
	for (const item of type._map.values()) {
		const found = visit(item);
		if (found !== null) return found;
	}
	for (let item = type._start; item; item = item.right) {
		const found = visit(item);
		if (found !== null) return found;
	}
	return null;
}
