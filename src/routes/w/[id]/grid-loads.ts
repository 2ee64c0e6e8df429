/**
 * Which of the live grid's chunks to read, and when (issue 12). Scrolling 100,000 rows must not
 * turn into a request per frame: a fling or a scrollbar drag passes hundreds of chunks the reader
 * never stops on, and every answer is JSON to parse on the main thread the frames need (and a
 * query on the server, often the same machine). So:
 *
 * - the chunks around the window are wanted, plus the next one when the window nears its edge
 *   (a steady wheel scroll finds its rows already there);
 * - chunks go out once the wanted set has held still for `settleMs` (a fling changes it every
 *   few frames, a drag every frame: nothing is read until it slows down); the very first read,
 *   with nothing shown yet, goes at once;
 * - reads of chunks no longer wanted are aborted.
 *
 * Plain TypeScript (no runes), so the rules are unit-tested: tests/unit/grid-window.test.ts.
 */

export interface WantedOptions {
	/** First position in view (overscan included). */
	from: number;
	/** One past the last position in view. */
	to: number;
	chunk: number;
	/** Rows known to exist; chunks past them are not wanted (null: not known yet). */
	total: number | null;
	/** Rows near a chunk's edge at which the neighbouring chunk is read too. */
	margin?: number;
}

/**
 * The chunk indexes the window needs, in the order to read them (the ones in view first).
 * @example wantedChunks({ from: 190, to: 230, chunk: 200, total: 1000 }) // [0, 1]
 */
export function wantedChunks({ from, to, chunk, total, margin = chunk / 4 }: WantedOptions): number[] {
	if (!(chunk > 0) || !Number.isFinite(from) || !Number.isFinite(to)) return [];
	const start = Math.max(0, Math.floor(from));
	const end = Math.max(start + 1, Math.ceil(to));
	const lastChunk = total === null ? Infinity : Math.max(0, Math.ceil(total / chunk) - 1);
	const out: number[] = [];
	for (let i = Math.floor(start / chunk); i <= Math.floor((end - 1) / chunk) && i <= lastChunk; i++) out.push(i);
	if (out.length === 0) out.push(Math.min(Math.floor(start / chunk), lastChunk));
	const below = Math.floor((start - margin) / chunk);
	const above = Math.floor((end - 1 + margin) / chunk);
	if (above > out[out.length - 1]! && above <= lastChunk) out.push(above);
	if (below < out[0]! && below >= 0) out.push(below);
	return out;
}

export interface SettledLoadsOptions {
	/** How long the wanted set must hold still before it is read. */
	settleMs: number;
	/** Reads these chunks. */
	load: (chunks: number[]) => void;
	/** Timers, replaceable in tests. */
	setTimer?: (fn: () => void, ms: number) => unknown;
	clearTimer?: (timer: unknown) => void;
}

/** Reads the missing chunks once the window stops moving (see the module's comment). */
export class SettledLoads {
	#options: SettledLoadsOptions;
	#timer: unknown = null;
	#pending = '';
	#missing: number[] = [];

	constructor(options: SettledLoadsOptions) {
		this.#options = options;
	}

	/**
	 * The chunks the window misses now. `immediately`: read them at once (nothing is shown yet).
	 * The same set again leaves the timer running; a new set starts it again.
	 */
	want(missing: number[], immediately = false): void {
		const key = missing.join();
		if (missing.length === 0) {
			this.cancel();
			return;
		}
		if (immediately) {
			this.cancel();
			this.#options.load(missing);
			return;
		}
		if (key === this.#pending && this.#timer !== null) return;
		this.cancel();
		this.#pending = key;
		this.#missing = missing;
		const set = this.#options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
		this.#timer = set(() => {
			this.#timer = null;
			this.#pending = '';
			this.#options.load(this.#missing);
		}, this.#options.settleMs);
	}

	/** Forgets a pending read (a new job or filter, the view closing). */
	cancel(): void {
		if (this.#timer !== null) (this.#options.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>)))(this.#timer);
		this.#timer = null;
		this.#pending = '';
		this.#missing = [];
	}
}
