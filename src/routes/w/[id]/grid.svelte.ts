/**
 * The live grid's data (issue 12): the rows of one job, read from the server by range
 * (`GET /jobs/{id}/cells`) in chunks as the reader scrolls, and kept up to date by the `/live`
 * feed's `row_cells` (a cell that arrives for a loaded row changes it in place; rows never move).
 * Only the chunks near the viewport are held, so 100,000 rows cost a few hundred in memory.
 *
 * Svelte sees one counter (`version`): the chunks are plain maps, changed in place, and a change
 * bumps the counter, so a tick's hundred cells re-render the visible rows once.
 */
import { getJobCells, type GridCell, type GridPage, type GridRow } from '$lib/api/endpoints';
import type { CellsMessage } from '$lib/live/live-feed.svelte';
import type { RowCell } from '$lib/workflow/protocol';

/** Rows per range request. */
export const CHUNK = 200;
/** Chunks kept: the ones around the viewport (a long scroll forgets the far ones). */
const MAX_CHUNKS = 12;
/** A chunk that was short (rows still being read) or is of a running job is read again after this. */
const STALE_MS = 1_500;

interface Chunk {
	rows: GridRow[];
	at: number;
	loading: boolean;
	/** Holds fewer rows than CHUNK while more may come. */
	short: boolean;
}

const RANK: Record<GridCell['state'], number> = { running: 1, done: 2, error: 2, dropped: 2 };

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
	/** Loaded rows by input index, for live cells. */
	#byRow = new Map<number, GridRow>();
	#generation = 0;
	#controllers = new Set<AbortController>();

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

	/** Loads what the positions `from`…`to` (exclusive) need. */
	ensure(from: number, to: number): void {
		if (!this.#jobId) return;
		const first = Math.floor(Math.max(0, from) / CHUNK);
		const last = Math.floor(Math.max(0, to - 1) / CHUNK);
		const now = Date.now();
		for (let i = first; i <= Math.max(first, last); i++) {
			const chunk = this.#chunks.get(i);
			if (chunk?.loading) continue;
			if (this.loaded && i > 0 && i * CHUNK >= this.total) continue; // past the end
			const stale = chunk && (chunk.short || this.#running || chunk.at === 0) && now - chunk.at > STALE_MS;
			if (!chunk || stale) this.#load(i);
		}
		this.#forgetFar(first, last);
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
		const row = this.#byRow.get(cell.row);
		if (!row) return false;
		const { row: _row, block_id: blockId, ...rest } = cell;
		void _row;
		const known = row.cells[blockId];
		if (known && known.job_id === jobId && RANK[known.state] > RANK[rest.state]) return false;
		row.cells[blockId] = { ...rest, job_id: jobId };
		return true;
	}

	#reset(): void {
		this.#generation++;
		for (const c of this.#controllers) c.abort();
		this.#controllers.clear();
		this.#chunks.clear();
		this.#byRow.clear();
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
		this.#controllers.add(ctrl);
		getJobCells(jobId, { offset: index * CHUNK, limit: CHUNK, errors: this.#errors, q: this.#search }, this.#token, ctrl.signal).then(
			(page) => {
				this.#controllers.delete(ctrl);
				if (generation !== this.#generation) return;
				for (const row of chunk.rows) this.#byRow.delete(row.row);
				chunk.rows = page.rows.map((row) => this.#merge(row));
				for (const row of chunk.rows) this.#byRow.set(row.row, row);
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
				chunk.loading = false;
				chunk.at = Date.now();
				this.error = e instanceof Error ? e.message : 'Could not load the rows.';
				this.version++;
			}
		);
	}

	/** A fetched row, keeping live cells that are newer than what the store had. */
	#merge(row: GridRow): GridRow {
		const live = this.#byRow.get(row.row);
		if (!live) return row;
		for (const [blockId, cell] of Object.entries(live.cells)) {
			const stored = row.cells[blockId];
			if (!stored || (stored.job_id === cell.job_id && RANK[cell.state] > RANK[stored.state])) row.cells[blockId] = cell;
		}
		return row;
	}

	#forgetFar(first: number, last: number): void {
		if (this.#chunks.size <= MAX_CHUNKS) return;
		const far = [...this.#chunks.keys()]
			.filter((i) => i < first - 2 || i > last + 2)
			.sort((a, b) => Math.abs(b - first) - Math.abs(a - first));
		for (const i of far.slice(0, this.#chunks.size - MAX_CHUNKS)) {
			for (const row of this.#chunks.get(i)!.rows) this.#byRow.delete(row.row);
			this.#chunks.delete(i);
		}
	}
}
