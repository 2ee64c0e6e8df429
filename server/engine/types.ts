/**
 * The engine's contract: what a block runner receives and returns, and the events a run emits.
 * The runner knows no transport: HTTP, WebSocket and CLI are listeners of `RunEvent`s.
 */
import type { BlockType, ParamsOf, Row, RunOptions, Workflow } from '../../src/lib/workflow/schema';
import type { EnrichmentService } from '../enrichment/types';

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
	/** Requests sent to the API (polls included), answers served by the cache, cents charged. */
	calls: number;
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
	/** Report a row-level failure (also written to the row's `_error`). */
	rowError: (rowIndex: number, message: string) => void;
	/** Where save_csv writes: the runner sets it so the job knows its output. */
	setOutputPath: (path: string) => void;
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

/** `paused`: stopped at a spend limit, resumable (job-manager.ts); never set by the engine itself. */
export type JobStatus = 'pending' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

export interface BlockProgress {
	block_id: string;
	block_type: BlockType;
	status: 'pending' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';
	rows_in: number;
	rows_out: number;
	errors: number;
	skipped: number;
	calls: number;
	cached: number;
	cost_cents: number;
	waiting: number;
	total: number | null;
	/** Requests/min the API key's scheduler allows now (learnt from the API's headers); null for blocks that call no API. */
	rate_limit_per_min: number | null;
	rows_per_s: number;
	eta_s: number | null;
	duration_ms: number;
	/** The first rows this block produced: the intermediate result people look at. */
	preview: Row[];
	columns: string[];
}

export type RunEvent =
	| { type: 'job_started'; job_id: string; at: number; blocks: { block_id: string; block_type: BlockType }[] }
	| { type: 'block_started'; job_id: string; at: number; block: BlockProgress }
	| { type: 'block_progress'; job_id: string; at: number; block: BlockProgress }
	| { type: 'block_finished'; job_id: string; at: number; block: BlockProgress }
	| { type: 'row_error'; job_id: string; at: number; block_id: string; row: number; message: string }
	| {
			type: 'job_finished';
			job_id: string;
			at: number;
			status: Exclude<JobStatus, 'pending' | 'running' | 'paused'>;
			error: string | null;
			output_path: string | null;
			blocks: BlockProgress[];
	  };

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
	/** Minimum interval between progress events per block (ms). */
	progressIntervalMs?: number;
}

export interface RunJobResult {
	status: Exclude<JobStatus, 'pending' | 'running' | 'paused'>;
	error: string | null;
	outputPath: string | null;
	blocks: BlockProgress[];
	columns: string[];
	rowsOut: number;
}
