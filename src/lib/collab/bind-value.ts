/**
 * A Svelte action that binds an `<input>` or `<textarea>` to a whole-value field of the shared
 * document (issue 13: names, expressions, descriptions are replaced whole, never merged per
 * character). Each input event writes the field's new value; a change from elsewhere (a teammate,
 * an undo) replaces what the field shows and keeps the caret where it was, within the new text.
 *
 * @example <input use:bindValue={{ value: name, set: (v) => session.rename(v) }} />
 */
export interface BindValueOptions {
	value: string;
	set: (value: string) => void;
}

type Field = HTMLInputElement | HTMLTextAreaElement;

export function bindValue(el: Field, options: BindValueOptions) {
	let { set } = options;
	let composing = false;

	const render = (value: string) => {
		if (el.value === value) return;
		const focused = document.activeElement === el;
		const start = el.selectionStart ?? 0;
		const end = el.selectionEnd ?? 0;
		el.value = value;
		if (focused) el.setSelectionRange(Math.min(start, value.length), Math.min(end, value.length));
	};

	const push = () => {
		if (!composing) set(el.value);
	};
	const onCompositionStart = () => (composing = true);
	const onCompositionEnd = () => {
		composing = false;
		push();
	};

	el.addEventListener('input', push);
	el.addEventListener('compositionstart', onCompositionStart);
	el.addEventListener('compositionend', onCompositionEnd);
	render(options.value);

	return {
		update(next: BindValueOptions) {
			set = next.set;
			if (!composing) render(next.value);
		},
		destroy() {
			el.removeEventListener('input', push);
			el.removeEventListener('compositionstart', onCompositionStart);
			el.removeEventListener('compositionend', onCompositionEnd);
		}
	};
}
