/**
 * Ordered concurrent maps over a row stream: up to `concurrency` input rows in flight at once,
 * across batch boundaries, output in input order. This is what lets an API block keep hundreds of
 * slow calls in flight while the stream stays ordered and bounded.
 *
 * `flatMapRows` maps one row to any number of rows (Enrich Company's Find people turns a company
 * into its people); `mapRows` is its one-to-one case. Memory stays bounded with expansion too: an
 * input row occupies its place in the window until the consumer has taken all of its output rows,
 * so at most `window` (4 × concurrency by default) rows' results plus one input batch are ever held — a company with many
 * people slows the intake of further companies instead of making the engine buffer the file.
 */
import { setMaxListeners } from 'node:events';
import type { Row } from '../../src/lib/workflow/schema';
import type { RowTimings } from './eta-model';
import type { RowStream } from './types';

export interface MapRowsOptions {
	/** Calls of `fn` running at once. */
	concurrency: number;
	/**
	 * Input rows held at once: running, or finished and waiting behind a slower row for their turn
	 * in the output (default 4 × concurrency). Larger than `concurrency` so that one slow call
	 * (a p99 answer) does not stall the others: the window keeps starting new rows around it.
	 */
	window?: number;
	signal: AbortSignal;
	/** Largest output batch. */
	batchSize?: number;
	/**
	 * Live counts for progress: `inFlight` while a call runs, `answered` as soon as it settles —
	 * in completion order, so progress moves while an early slow row still holds the output back.
	 */
	counters?: { answered: number; inFlight: number };
	/** When each row's call started and settled, for the ETA (see eta-model.ts). */
	timings?: Pick<RowTimings, 'started' | 'settled'>;
}

/** `fn` gets the row, its index in this stream, and a signal aborted when the stream is abandoned. */
export type RowMapper = (row: Row, index: number, signal: AbortSignal) => Promise<Row>;

/** Like `RowMapper`, but a row may become any number of rows (none drops it). */
export type RowFlatMapper = (row: Row, index: number, signal: AbortSignal) => Promise<Row[]>;

interface Slot {
	settled: boolean;
	value?: Row[];
	/** How many of `value` were already handed out (a large expansion spans output batches). */
	taken: number;
	error?: unknown;
	failed: boolean;
}

/**
 * One output row per input row, in order, at most `concurrency` calls of `fn` at once.
 * @example mapRows(rows, async (row) => ({ ...row, title: await lookUp(row) }), { concurrency: 64, signal })
 */
export function mapRows(source: RowStream, fn: RowMapper, options: MapRowsOptions): RowStream {
	return flatMapRows(source, async (row, index, signal) => [await fn(row, index, signal)], options);
}

/**
 * Each input row becomes the rows `fn` gives for it; outputs keep input order (and the order `fn`
 * gave within one row). At most `concurrency` calls run at once, and at most `window` input rows
 * are held — running, or finished and waiting for the consumer to take their rows. The first failure ends the stream; so
 * does `signal`. Abandoning the stream aborts the calls in flight and closes the source.
 * @example flatMapRows(companies, async (company) => peopleAt(company), { concurrency: 8, signal })
 */
export async function* flatMapRows(source: RowStream, fn: RowFlatMapper, options: MapRowsOptions): RowStream {
	const { signal, batchSize = 256, counters, timings } = options;
	const concurrency = Math.max(1, Math.floor(options.concurrency));
	const maxWindow = Math.max(concurrency, Math.floor(options.window ?? concurrency * 4));
	/** Calls of `fn` not yet settled. */
	let running = 0;
	const inner = new AbortController();
	setMaxListeners(0, inner.signal); // one listener per row in flight is expected
	/** The first failure: it ends the stream at once, not when its row reaches the head. */
	let failure = null as { error: unknown } | null;
	const onAbort = () => inner.abort(signal.reason);
	if (signal.aborted) inner.abort(signal.reason);
	else signal.addEventListener('abort', onAbort, { once: true });

	const iterator = source[Symbol.asyncIterator]();
	const window: Slot[] = [];
	let pending: Row[] = [];
	let pendingAt = 0;
	let nextIndex = 0;
	let sourceDone = false;
	/** Resolves once the next input batch has been taken into `pending` (or the source ended). */
	let nextBatch: Promise<void> | null = null;
	let wake: (() => void) | null = null;

	const start = (row: Row) => {
		const slot: Slot = { settled: false, failed: false, taken: 0 };
		running++;
		if (counters) counters.inFlight++;
		const index = nextIndex++;
		timings?.started(index, concurrency);
		let call: Promise<Row[]>;
		try {
			call = fn(row, index, inner.signal);
		} catch (error) {
			call = Promise.reject(error);
		}
		Promise.resolve(call).then(
			(value) => {
				slot.settled = true;
				running--;
				timings?.settled(index);
				if (counters) {
					counters.inFlight--;
					counters.answered++;
				}
				if (Array.isArray(value)) slot.value = value;
				else {
					slot.failed = true;
					slot.error = new TypeError('flatMapRows: the mapper must resolve to an array of rows');
					failure ??= { error: slot.error };
				}
				wake?.();
			},
			(error: unknown) => {
				slot.settled = true;
				running--;
				timings?.settled(index);
				if (counters) counters.inFlight--;
				slot.failed = true;
				slot.error = error;
				failure ??= { error };
				wake?.();
			}
		);
		window.push(slot);
	};

	const fill = () => {
		while (running < concurrency && window.length < maxWindow) {
			const row = pending[pendingAt];
			if (row === undefined) break; // the batch is used up
			pendingAt++;
			start(row);
		}
	};

	try {
		for (;;) {
			if (failure) throw failure.error;
			if (inner.signal.aborted) throw inner.signal.reason;
			fill();
			const needInput = !sourceDone && pendingAt >= pending.length && running < concurrency && window.length < maxWindow;
			if (needInput && !nextBatch) {
				nextBatch = iterator.next().then((result) => {
					nextBatch = null;
					if (result.done) sourceDone = true;
					else {
						pending = result.value;
						pendingAt = 0;
					}
				});
				nextBatch.catch(() => {});
			}
			if (window.length === 0 && sourceDone) return;
			if (window[0]?.settled) {
				const out: Row[] = [];
				while (window.length > 0 && window[0].settled && out.length < batchSize) {
					const head = window[0];
					if (head.failed) throw head.error;
					const rows = head.value!;
					const end = Math.min(rows.length, head.taken + batchSize - out.length);
					for (const row of rows.slice(head.taken, end)) out.push(row);
					head.taken = end;
					if (head.taken < rows.length) break; // the batch is full; the rest goes next time
					window.shift();
				}
				fill();
				if (out.length > 0) yield out;
				continue;
			}
			// Wait for whichever comes first: a row finishing (the head, or one whose place can be
			// refilled), or more input to start.
			const waits: Promise<unknown>[] = [];
			if (running > 0) waits.push(new Promise<void>((resolve) => (wake = resolve)));
			if (nextBatch) waits.push(nextBatch);
			if (waits.length === 0) return;
			await Promise.race(waits);
			wake = null;
		}
	} finally {
		signal.removeEventListener('abort', onAbort);
		if (window.length > 0 || !sourceDone) inner.abort(new Error('stream abandoned'));
		if (!sourceDone) {
			// While a `next()` is pending, an async generator queues `return()` behind it: awaiting it
			// would hold a failure here until the upstream's slowest row settles. Close it in the
			// background; the runner's abort stops the upstream meanwhile.
			const closing = iterator.return?.().catch(() => {});
			if (!nextBatch) await closing;
		}
	}
}
