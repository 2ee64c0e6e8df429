/**
 * The live grid's data (issue 12): the rows of one job, read from the server by range
 * (`GET /jobs/{id}/cells`) in chunks as the reader scrolls, and kept up to date by the `/live`
 * feed's `row_cells` (a cell that arrives for a loaded row changes it in place; rows never move).
 * Only the chunks near the viewport are held, so 100,000 rows cost a few hundred in memory.
 *
 * Svelte sees one counter (`version`): the chunks are plain maps, changed in place, and a change
 * bumps the counter, so a tick's hundred cells re-render the visible rows once. A row object is
 * never changed once shown: a live cell replaces its row with a new object, so the view can keep
 * the other rows' objects (and their DOM) untouched — scrolling and live updates then re-render
 * only the rows that moved into view or changed (`npm run bench -- grid-scroll`).
 *
 * When chunks are read is `grid-loads.ts`'s business: not while a fling or a drag is passing them.
 */
import { getJobCells, type GridCell, type GridPage, type GridRow } from '$lib/api/endpoints';
import type { CellsMessage } from '$lib/live/live-feed.svelte';
import type { RowCell } from '$lib/workflow/protocol';
import { SettledLoads, wantedChunks } from './grid-loads';

/** Rows per range request. */
export const CHUNK = 200;
/** Chunks kept: the ones around the viewport (a long scroll forgets the far ones). */
const MAX_CHUNKS = 12;
/** A chunk that was short (rows still being read) or is of a running job is read again after this. */
const STALE_MS = 1_500;
/** How long the window must rest on the same chunks before they are read (about 5 frames). */
const SETTLE_MS = 80;

interface Chunk {
	rows: GridRow[];
	at: number;
	loading: boolean;
	/** Holds fewer rows than CHUNK while more may come. */
	short: boolean;
	/** The read in flight, to abort when the window has moved on. */
	ctrl?: AbortController;
}

const RANK: Record<GridCell['state'], number> = { running: 1, done: 2, error: 2, dropped: 2 };

/** Whether two reads of a row hold the same cells (key order aside). */
function sameRow(a: GridRow, b: GridRow): boolean {
	const blocks = Object.keys(a.cells);
	if (blocks.length !== Object.keys(b.cells).length) return false;
	return blocks.every((id) => b.cells[id] !== undefined && sameCell(a.cells[id]!, b.cells[id]!));
}

function sameCell(a: GridCell, b: GridCell): boolean {
	if (a === b) return true;
	const keys = Object.keys(a) as (keyof GridCell)[];
	if (keys.length !== Object.keys(b).length) return false;
	return keys.every((k) => (k === 'values' ? JSON.stringify(a.values) === JSON.stringify(b.values) : a[k] === b[k]));
}

export class GridData {
	/** Bumped on every change the view shows. */
	version = $state(0);
	/** Rows matching the query (all rows read, without one). */
	total = $state(0);
	/** The blocks' column groups, from the first page. */
	blocks = $state.raw<GridPage['blocks']>([]);
	/** The jobs the grid is made of (the job, then the ones it re-ran rows of). */
	jobs = $state.raw<string[]>([]);
	loaded = $state(false);
	error = $state<string | null>(null);

	#jobId: string | null = null;
	#token: string;
	#errors = false;
	#search = '';
	#running = false;
	#chunks = new Map<number, Chunk>();
	/** Where each loaded row is (by input index), for live cells. */
	#where = new Map<number, { chunk: Chunk; i: number }>();
	#generation = 0;
	#controllers = new Set<AbortController>();
	#loads = new SettledLoads({ settleMs: SETTLE_MS, load: (chunks) => chunks.forEach((i) => this.#loadIfMissing(i)) });

	constructor(token: string) {
		this.#token = token;
	}

	get jobId(): string | null {
		return this.#jobId;
	}

	/** Shows another job, or the same job with another filter: starts from nothing. */
	show(jobId: string | null, query: { errors: boolean; search: string }): void {
		if (jobId === this.#jobId && query.errors === this.#errors && query.search === this.#search) return;
		this.#jobId = jobId;
		this.#errors = query.errors;
		this.#search = query.search;
		this.#reset();
	}

	/** Whether the job is still running (its chunks go stale, and rows read grow the total). */
	setRunning(running: boolean): void {
		if (this.#running && !running) this.invalidate(); // the last answers: read once more
		this.#running = running;
	}

	/** Rows read so far, from the live progress: unfiltered, they are rows of the grid at once. */
	growTo(rowsRead: number): void {
		if (this.#errors || this.#search || rowsRead <= this.total) return;
		this.total = rowsRead;
		this.version++;
	}

	/** The row at a position, if loaded. */
	rowAt(position: number): GridRow | undefined {
		return this.#chunks.get(Math.floor(position / CHUNK))?.rows[position % CHUNK];
	}

	/** Loads what the positions `from`…`to` (exclusive) need, once the window rests there. */
	ensure(from: number, to: number): void {
		if (!this.#jobId) return;
		const wanted = wantedChunks({ from, to, chunk: CHUNK, total: this.loaded ? this.total : null });
		// Reads of chunks the window has left are dropped (a fling passes them by).
		for (const [i, chunk] of this.#chunks) {
			if (!chunk.loading || wanted.includes(i)) continue;
			chunk.ctrl?.abort();
			if (chunk.rows.length === 0 && chunk.at === 0) this.#chunks.delete(i);
			else chunk.loading = false;
		}
		// Nothing read yet: no reason to wait.
		this.#loads.want(
			wanted.filter((i) => this.#missing(i)),
			!this.loaded
		);
		this.#forgetFar(Math.floor(Math.max(0, from) / CHUNK), Math.floor(Math.max(0, to - 1) / CHUNK));
	}

	/** A chunk not held, or held but stale (short, of a running job, or invalidated), and not being read. */
	#missing(index: number): boolean {
		const chunk = this.#chunks.get(index);
		if (!chunk) return true;
		if (chunk.loading) return false;
		return (chunk.short || this.#running || chunk.at === 0) && Date.now() - chunk.at > STALE_MS;
	}

	#loadIfMissing(index: number): void {
		if (this.#missing(index)) this.#load(index);
	}

	/** Everything loaded is read again when next shown (a reconnection, the end of a run). */
	invalidate(): void {
		for (const chunk of this.#chunks.values()) chunk.at = 0;
		this.version++;
	}

	/** Applies the live feed's grid messages of this job. */
	receive(message: CellsMessage): void {
		if (message.job_id !== this.#jobId) return;
		if (message.type === 'rows_resync') {
			// Fell behind: the rows it names are read again (positions are rows when unfiltered and dense).
			for (const [i, chunk] of this.#chunks) {
				const rows = chunk.rows;
				if (rows.length === 0 || (rows[0]!.row <= message.to && rows[rows.length - 1]!.row >= message.from)) chunk.at = 0;
				void i;
			}
			this.version++;
			return;
		}
		let changed = false;
		for (const cell of message.cells) changed = this.#apply(cell, message.job_id) || changed;
		if (changed) this.version++;
	}

	#apply(cell: RowCell, jobId: string): boolean {
		const at = this.#where.get(cell.row);
		if (!at) return false;
		const row = at.chunk.rows[at.i]!;
		const { row: _row, block_id: blockId, ...rest } = cell;
		void _row;
		const known = row.cells[blockId];
		if (known && known.job_id === jobId && RANK[known.state] > RANK[rest.state]) return false;
		// A new row object: the view re-renders this row only.
		at.chunk.rows[at.i] = { ...row, cells: { ...row.cells, [blockId]: { ...rest, job_id: jobId } } };
		return true;
	}

	#reset(): void {
		this.#generation++;
		this.#loads.cancel();
		for (const c of this.#controllers) c.abort();
		this.#controllers.clear();
		this.#chunks.clear();
		this.#where.clear();
		this.total = 0;
		this.loaded = false;
		this.error = null;
		this.blocks = [];
		this.jobs = [];
		this.version++;
	}

	#load(index: number): void {
		const jobId = this.#jobId;
		if (!jobId) return;
		const generation = this.#generation;
		const previous = this.#chunks.get(index);
		const chunk: Chunk = previous ?? { rows: [], at: 0, loading: true, short: true };
		chunk.loading = true;
		this.#chunks.set(index, chunk);
		const ctrl = new AbortController();
		chunk.ctrl = ctrl;
		this.#controllers.add(ctrl);
		getJobCells(jobId, { offset: index * CHUNK, limit: CHUNK, errors: this.#errors, q: this.#search }, this.#token, ctrl.signal).then(
			(page) => {
				this.#controllers.delete(ctrl);
				if (ctrl.signal.aborted || generation !== this.#generation) return;
				chunk.ctrl = undefined;
				// Merged with the live cells held before the old rows are forgotten.
				const rows = page.rows.map((row) => this.#merge(row));
				for (const row of chunk.rows) if (this.#where.get(row.row)?.chunk === chunk) this.#where.delete(row.row);
				chunk.rows = rows;
				rows.forEach((row, i) => this.#where.set(row.row, { chunk, i }));
				chunk.at = Date.now();
				chunk.loading = false;
				chunk.short = page.rows.length < CHUNK;
				// Reassigned only when they change: a new array would re-render every visible cell.
				if (JSON.stringify(page.blocks) !== JSON.stringify(this.blocks)) this.blocks = page.blocks;
				if (page.jobs.join() !== this.jobs.join()) this.jobs = page.jobs;
				// Unfiltered, rows read may already be ahead of the store (the live count): never shrink.
				this.total = this.#errors || this.#search ? page.total : Math.max(this.total, page.total);
				this.loaded = true;
				this.error = null;
				this.version++;
			},
			(e: unknown) => {
				this.#controllers.delete(ctrl);
				if (ctrl.signal.aborted || generation !== this.#generation) return;
				chunk.ctrl = undefined;
				chunk.loading = false;
				chunk.at = Date.now();
				this.error = e instanceof Error ? e.message : 'Could not load the rows.';
				this.version++;
			}
		);
	}

	/**
	 * A fetched row, keeping live cells that are newer than what the store had. A row that did not
	 * change keeps its object (a running job's rows are read again every few seconds: the view
	 * re-renders only the ones that changed).
	 */
	#merge(row: GridRow): GridRow {
		const at = this.#where.get(row.row);
		const live = at?.chunk.rows[at.i];
		if (!live) return row;
		for (const [blockId, cell] of Object.entries(live.cells)) {
			const stored = row.cells[blockId];
			if (!stored || (stored.job_id === cell.job_id && RANK[cell.state] > RANK[stored.state])) row.cells[blockId] = cell;
		}
		return sameRow(live, row) ? live : row;
	}

	#forgetFar(first: number, last: number): void {
		if (this.#chunks.size <= MAX_CHUNKS) return;
		const far = [...this.#chunks.keys()]
			.filter((i) => i < first - 2 || i > last + 2)
			.sort((a, b) => Math.abs(b - first) - Math.abs(a - first));
		for (const i of far.slice(0, this.#chunks.size - MAX_CHUNKS)) {
			const chunk = this.#chunks.get(i)!;
			chunk.ctrl?.abort();
			for (const row of chunk.rows) if (this.#where.get(row.row)?.chunk === chunk) this.#where.delete(row.row);
			this.#chunks.delete(i);
		}
	}
}
