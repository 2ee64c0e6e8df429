/**
 * Which rows the live grid renders for a scroll position (issue 12). Rendering exactly the rows in
 * view plus a fixed overscan changes the DOM on every frame of a scroll (each 36 px crossed), and
 * each change costs the browser a style, layout, paint and commit of the table. Here the window
 * moves in steps of `step` rows: it covers the rows in view with at least `step` rows to spare on
 * either side, and changes only when the view crosses a step's edge — so a wheel scroll changes
 * the DOM every few frames and the frames between are the compositor's alone (the rows are there).
 *
 * Plain TypeScript, unit-tested in tests/unit/grid-window.test.ts.
 */

export interface RenderWindowOptions {
	scrollTop: number;
	viewportHeight: number;
	rowHeight: number;
	/** Rows in the grid. */
	total: number;
	/** Rows the window moves by (and keeps, at least, above and below the view). */
	step: number;
}

/**
 * The positions to render: `first` … `last` (exclusive).
 * @example renderWindow({ scrollTop: 0, viewportHeight: 720, rowHeight: 36, total: 100_000, step: 10 }) // { first: 0, last: 41 }
 */
export function renderWindow({ scrollTop, viewportHeight, rowHeight, total, step }: RenderWindowOptions): { first: number; last: number } {
	const rows = Math.max(0, Math.floor(total));
	if (!(rowHeight > 0) || rows === 0) return { first: 0, last: 0 };
	const size = Math.max(1, Math.floor(step));
	const top = Number.isFinite(scrollTop) ? Math.max(0, scrollTop) : 0;
	const height = Number.isFinite(viewportHeight) ? Math.max(0, viewportHeight) : 0;
	const inView = Math.min(rows - 1, Math.floor(top / rowHeight));
	const rowsInView = Math.ceil(height / rowHeight) + 1;
	const base = Math.floor(inView / size) * size;
	return { first: Math.max(0, base - size), last: Math.min(rows, base + rowsInView + 2 * size) };
}
