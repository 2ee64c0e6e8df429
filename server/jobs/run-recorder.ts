/**
 * Records one run in the job store as it happens: block results, the events a late joiner replays,
 * and the final rows, in event order. The job manager hands `onEvent` / `onRows` to `runJob` and
 * asks afterwards whether everything landed; what the job's status becomes stays with the manager.
 *
 * The store is async: writes go through one chain so they land in event order. The first write
 * that fails ends the run (through `abort`): a job whose results are not all stored must not end
 * `completed`. The writes are synchronous SQLite transactions chained in microtasks: the end of a
 * 100-block job queues hundreds of them at once, so each counts its work and the event loop gets a
 * turn once a slice's worth is done (see engine/work-slices.ts).
 */
import type { Logger } from 'pino';
import type { Row } from '../../src/lib/workflow/schema';
import type { RunEvent } from '../engine/types';
import { rowsByWork, spendWork, yieldIfDue } from '../engine/work-slices';
import type { JobRecord, JobStore } from '../store/job-store';

/** Work counted for one store write (a small SQLite transaction, ~0.1 ms), in work-slice units. */
const WRITE_WORK = 20_000;

/** Why a run was aborted: its results could not be stored, so it must end `failed`. */
export class PersistFailure extends Error {
	constructor(cause: unknown) {
		super(`could not store results: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
		this.name = 'PersistFailure';
	}
}

export interface RunRecorderOptions {
	store: JobStore;
	job: JobRecord;
	/** The job's start time as stored: `job_started` carries it, so a late joiner's snapshot matches. */
	startedAt: number;
	log: Logger;
	/** Stops the run after the first failed write (with a `PersistFailure`). */
	abort: (reason: PersistFailure) => void;
	/** Hears every event but `job_finished`, which the manager publishes once the final state is stored. */
	publish: (event: RunEvent) => void;
}

export interface RunRecorder {
	onEvent(event: RunEvent): void;
	/** Stores the rows in slices; resolves once they are stored (or skipped after a failure). */
	onRows(rows: Row[]): Promise<void>;
	/** Stores the rows the source read, as the grid's rows (issue 12); resolves once stored. */
	onSourceRows(rows: { row: number; values: Row }[]): Promise<void>;
	/** Resolves once every write queued so far has landed or been skipped. */
	flushed(): Promise<void>;
	/** The first write that failed, or null when everything was stored. */
	readonly persistError: unknown;
	/** Rows handed to `onRows` so far. */
	readonly rowsReceived: number;
	/** Rows stored without a hole, from the first. */
	readonly rowsStored: number;
}

/** @example const recorder = createRunRecorder({ store, job, startedAt, log, abort: (r) => controller.abort(r), publish }) */
export function createRunRecorder(options: RunRecorderOptions): RunRecorder {
	const { store, job, startedAt, log } = options;
	const jobId = job.id;
	let chain: Promise<unknown> = Promise.resolve();
	let persistError: unknown = null;
	let rowsReceived = 0;
	let rowsStored = 0;
	const positions = new Map(job.workflow.blocks.map((b, i) => [b.id, i]));

	const persist = (write: () => Promise<unknown>, work = WRITE_WORK) => {
		chain = chain.then(async () => {
			if (persistError !== null) return; // the run is being aborted; later rows would leave holes
			try {
				await write();
			} catch (err) {
				log.error({ err }, 'could not persist job progress');
				persistError = err;
				options.abort(new PersistFailure(err));
			}
			spendWork(work);
			await yieldIfDue();
		});
		return chain;
	};

	return {
		onEvent(received) {
			// One start time for the job: the store's, so a late joiner's snapshot matches the event.
			const event: RunEvent = received.type === 'job_started' ? { ...received, at: startedAt } : received;
			switch (event.type) {
				case 'block_started':
				case 'block_finished':
					persist(async () => {
						await store.saveBlock(jobId, positions.get(event.block.block_id) ?? 0, event.block);
						if (event.type === 'block_started') await store.update(jobId, { currentBlock: event.block.block_id });
						await store.appendEvent(jobId, event);
					});
					break;
				case 'block_progress':
					persist(() => store.saveBlock(jobId, positions.get(event.block.block_id) ?? 0, event.block));
					break;
				case 'job_finished':
					// Published by the manager after the final state is stored, so listeners see the stored truth.
					return;
				case 'row_cells':
					// The grid's cells: stored per row (not as events: a 100,000-row run would replay them all).
					persist(() => store.saveCells(jobId, event.cells), WRITE_WORK + event.cells.length * 50);
					break;
				default:
					persist(() => store.appendEvent(jobId, event));
			}
			options.publish(event);
		},

		onRows(rows) {
			// A slice of work per transaction: a batch of 2 MB cells is not one 100 ms write.
			let stored: Promise<unknown> = chain;
			for (const run of rowsByWork(rows)) {
				const first = rowsReceived;
				rowsReceived += run.rows.length;
				stored = persist(async () => {
					await store.appendRows(jobId, first, run.rows);
					rowsStored = first + run.rows.length;
				}, WRITE_WORK + run.work);
			}
			return stored.then(() => undefined);
		},

		onSourceRows(rows) {
			const blockId = job.workflow.blocks[0]?.id ?? 'source';
			return persist(
				() =>
					store.saveCells(
						jobId,
						rows.map(({ row, values }) => ({ row, block_id: blockId, state: 'done' as const, values }))
					),
				WRITE_WORK + rows.length * 200
			).then(() => undefined);
		},

		async flushed() {
			await chain;
		},

		get persistError() {
			return persistError;
		},
		get rowsReceived() {
			return rowsReceived;
		},
		get rowsStored() {
			return rowsStored;
		}
	};
}
