/**
 * Ordered concurrent map over a row stream: up to `concurrency` rows in flight at once, across batch
 * boundaries, output in input order. This is what lets an API block keep hundreds of slow calls in
 * flight while the stream stays ordered and bounded (it never holds more than `concurrency` rows
 * plus one input batch).
 */
import { setMaxListeners } from 'node:events';
import type { Row } from '../../src/lib/workflow/schema';
import type { RowStream } from './types';

export interface MapRowsOptions {
	concurrency: number;
	signal: AbortSignal;
	/** Largest output batch. */
	batchSize?: number;
}

/** `fn` gets the row, its index in this stream, and a signal aborted when the stream is abandoned. */
export type RowMapper = (row: Row, index: number, signal: AbortSignal) => Promise<Row>;

interface Slot {
	promise: Promise<Row>;
	settled: boolean;
	value?: Row;
	error?: unknown;
	failed: boolean;
}

export async function* mapRows(source: RowStream, fn: RowMapper, options: MapRowsOptions): RowStream {
	const { concurrency, signal, batchSize = 256 } = options;
	const inner = new AbortController();
	setMaxListeners(0, inner.signal); // one listener per row in flight is expected
	/** The first failure: it ends the stream at once, not when its row reaches the head. */
	let failure: { error: unknown } | null = null;
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
		const slot: Slot = { settled: false, failed: false, promise: undefined as unknown as Promise<Row> };
		slot.promise = fn(row, nextIndex++, inner.signal).then(
			(value) => {
				slot.settled = true;
				slot.value = value;
				wake?.();
				return value;
			},
			(error: unknown) => {
				slot.settled = true;
				slot.failed = true;
				slot.error = error;
				failure ??= { error };
				wake?.();
				throw error;
			}
		);
		slot.promise.catch(() => {}); // observed through `slot.error`
		window.push(slot);
	};

	const fill = () => {
		while (window.length < concurrency && pendingAt < pending.length) start(pending[pendingAt++]);
	};

	try {
		for (;;) {
			if (failure) throw failure.error;
			if (inner.signal.aborted) throw inner.signal.reason;
			fill();
			const needInput = !sourceDone && pendingAt >= pending.length && window.length < concurrency;
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
			const head = window[0];
			if (head?.settled) {
				const out: Row[] = [];
				while (window.length > 0 && window[0].settled && out.length < batchSize) {
					const slot = window.shift()!;
					if (slot.failed) throw slot.error;
					out.push(slot.value!);
				}
				fill();
				yield out;
				continue;
			}
			// Wait for whichever comes first: the head row finishing, or more input to start.
			const waits: Promise<unknown>[] = [];
			if (window.length > 0) waits.push(new Promise<void>((resolve) => (wake = resolve)));
			if (nextBatch) waits.push(nextBatch);
			if (waits.length === 0) return;
			await Promise.race(waits);
			wake = null;
		}
	} finally {
		signal.removeEventListener('abort', onAbort);
		if (window.length > 0 || !sourceDone) inner.abort(new Error('stream abandoned'));
		if (!sourceDone) await iterator.return?.().catch(() => {});
	}
}
