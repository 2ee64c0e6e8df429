/**
 * A Svelte action that binds an `<input>` or `<textarea>` to a shared Y.Text: each local edit is
 * sent as the minimal splice, and remote edits update the field while keeping the caret (and
 * selection) where the person left it. Two people can type in one field at once.
 *
 * @example <textarea use:bindYText={{ text, origin: session.origin }}></textarea>
 */
import type * as Y from 'yjs';
import { diffText, transformPosition, type DeltaOp } from '$lib/workflow/text-diff';

export interface BindYTextOptions {
	text: Y.Text;
	/** Transaction origin of local edits (the session's: so undo tracks them). */
	origin: object;
}

type Field = HTMLInputElement | HTMLTextAreaElement;

export function bindYText(el: Field, options: BindYTextOptions) {
	let { text, origin } = options;
	let composing = false;

	const render = (delta?: readonly DeltaOp[]) => {
		const value = text.toString();
		if (el.value === value) return;
		const focused = document.activeElement === el;
		const start = el.selectionStart ?? 0;
		const end = el.selectionEnd ?? 0;
		el.value = value;
		if (focused && delta) el.setSelectionRange(transformPosition(start, delta), transformPosition(end, delta));
	};

	const push = () => {
		if (composing) return;
		const splice = diffText(text.toString(), el.value, el.selectionEnd ?? undefined);
		if (!splice || !text.doc) return;
		text.doc.transact(() => {
			if (splice.remove > 0) text.delete(splice.index, splice.remove);
			if (splice.insert) text.insert(splice.index, splice.insert);
		}, origin);
	};

	const observer = (event: Y.YTextEvent) => {
		if (event.transaction.origin === origin && el.value === text.toString()) return;
		render(event.delta as DeltaOp[]);
	};

	const onCompositionStart = () => (composing = true);
	const onCompositionEnd = () => {
		composing = false;
		push();
	};

	el.addEventListener('input', push);
	el.addEventListener('compositionstart', onCompositionStart);
	el.addEventListener('compositionend', onCompositionEnd);
	text.observe(observer);
	render();

	return {
		update(next: BindYTextOptions) {
			if (next.text !== text) {
				text.unobserve(observer);
				text = next.text;
				text.observe(observer);
				render();
			}
			origin = next.origin;
		},
		destroy() {
			el.removeEventListener('input', push);
			el.removeEventListener('compositionstart', onCompositionStart);
			el.removeEventListener('compositionend', onCompositionEnd);
			text.unobserve(observer);
		}
	};
}
