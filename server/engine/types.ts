/**
 * The engine's contract: what a block runner receives and returns, and the events a run emits.
 * The runner knows no transport: HTTP, WebSocket and CLI are listeners of `RunEvent`s.
 */
import type * as v from 'valibot';
import type { BlockProgressSchema, FinalJobStatusSchema, JobStatusSchema, RunEventSchema } from '../../src/lib/workflow/protocol';
import type { BlockType, ParamsOf, Row, RunOptions, Workflow } from '../../src/lib/workflow/schema';
import type { EnrichmentService } from '../enrichment/types';
import type { RowTimings } from './eta-model';
import type { RowCellSink } from './row-cells';

/** Rows travel between blocks in batches of at most this many. */
export const DEFAULT_BATCH_SIZE = 256;

/** A stream of row batches (never empty batches). Output order = input order. */
export type RowStream = AsyncIterable<Row[]>;

/** Counters of one block, updated as rows flow; the runner turns them into progress events. */
export interface BlockCounters {
	rowsIn: number;
	rowsOut: number;
	errors: number;
	/** Rows the block chose not to process (find_email only_missing, filtered out). */
	skipped: number;
	/** API calls made for rows (one per row answer the cache did not have), answers served by the cache, cents charged. */
	calls: number;
	/** HTTP requests sent for those calls: submits, polls and retries (≥ calls in async mode). */
	requests: number;
	/** Rows whose answer came back (success or row error), in whatever order they completed. */
	answered: number;
	/** Rows whose call is running now (bounded by the block's concurrency). */
	inFlight: number;
	cached: number;
	costCents: number;
	/** Requests delayed by the rate limiter or a 429 right now (for an honest "waiting" state). */
	waiting: number;
	/** Total rows expected, when known (read_csv knows after a quick count; else null). */
	total: number | null;
}

export interface BlockRunContext {
	jobId: string;
	blockId: string;
	signal: AbortSignal;
	/** Absolute data directory: read_csv paths must resolve inside it. */
	dataDir: string;
	/** Where save_csv writes its files (default `<dataDir>/outputs`). */
	outputDir: string;
	options: RunOptions;
	enrichment: EnrichmentService;
	counters: BlockCounters;
	/** When each row's call started and settled (API blocks), from which the block's ETA is modelled. */
	timings?: RowTimings;
	/** Report a row-level failure (also written to the row's `_error`). */
	rowError: (rowIndex: number, message: string) => void;
	/** Where save_csv writes: the runner sets it so the job knows its output. */
	setOutputPath: (path: string) => void;
	/** Row events: which input row this block started, answered, failed or dropped (absent for the source block). */
	cells?: RowCellSink;
}

export interface BlockRunInput<K extends BlockType> {
	params: ParamsOf<K>;
	/** Columns of the incoming rows ([] for the first block). */
	columns: string[];
	rows: RowStream;
	ctx: BlockRunContext;
}

export interface BlockRunOutput {
	columns: string[];
	rows: RowStream;
}

/** Server-side execution of one block type. */
export type BlockRunner<K extends BlockType> = (input: BlockRunInput<K>) => Promise<BlockRunOutput>;

/** A runner for every block type (server/blocks/index.ts), handed to `runJob` by its caller. */
export type BlockRunners = { readonly [K in BlockType]: BlockRunner<K> };

/** A problem no row can survive: the job fails with this message (e.g. invalid API key). */
export class JobFailure extends Error {
	constructor(
		message: string,
		readonly code: string = 'job_failed'
	) {
		super(message);
		this.name = 'JobFailure';
	}
}

/**
 * Job states, one block's counters and the runner's events are defined once, as the /live wire
 * schemas (src/lib/workflow/protocol.ts): what the engine emits is what a browser parses.
 * `paused`: stopped at a spend limit, resumable (job-manager.ts); never set by the engine itself.
 */
export type JobStatus = v.InferOutput<typeof JobStatusSchema>;
/** A state a job never leaves: what `job_finished` carries. */
export type FinalJobStatus = v.InferOutput<typeof FinalJobStatusSchema>;
export type BlockProgress = v.InferOutput<typeof BlockProgressSchema>;
export type RunEvent = v.InferOutput<typeof RunEventSchema>;

export interface RunJobOptions {
	jobId: string;
	workflow: Workflow;
	options?: RunOptions;
	signal?: AbortSignal;
	dataDir: string;
	/** Default `<dataDir>/outputs`. */
	outputDir?: string;
	enrichment: EnrichmentService;
	/** How each block type runs: `RUNNERS` from server/blocks (the engine imports no block). */
	runners: BlockRunners;
	onEvent?: (event: RunEvent) => void;
	/** Receives every final row in order (the server stores them for paging). */
	onRows?: (rows: Row[]) => void | Promise<void>;
	/** Receives every row the source block reads, with its input index (the live grid's rows; awaited). */
	onSourceRows?: (rows: { row: number; values: Row }[]) => void | Promise<void>;
	/** Minimum interval between progress events per block (ms). */
	progressIntervalMs?: number;
}

export interface RunJobResult {
	status: FinalJobStatus;
	error: string | null;
	outputPath: string | null;
	blocks: BlockProgress[];
	columns: string[];
	rowsOut: number;
}
