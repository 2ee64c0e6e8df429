/**
 * The shape of a block definition: everything the browser and the server share about one block
 * type. Generic code (column flow, row kinds, summaries, the estimate, the Y.Doc mapping, the
 * editor's cards) reads these fields and never branches on the type; execution stays on the
 * server (server/blocks/).
 */
import type * as v from 'valibot';
import type { RowKind } from '../params';
import type { CompileResult } from '../expression';
import type { KindMismatch } from '../row-kinds';
import type { Fix } from '../fixes';

export type BlockCategory = 'input' | 'transform' | 'enrichment' | 'output';

/**
 * The kind of row a block accepts and the kind it produces: a kind, `input` (the kind it received:
 * Filter, Save CSV) or `columns` (inferred from the file's columns: Read CSV on `auto`).
 */
export interface BlockRowKinds {
	accepts: RowKind;
	produces: RowKind | 'input' | 'columns';
}

/**
 * How the rows leaving a block relate to the rows entering it: one each (`same`), some dropped
 * (`fewer`: totals cannot flow past it, and its progress counts the rows it read), or any number
 * per row (`varies`: one company may become many people).
 */
export type RowCount = 'same' | 'fewer' | 'varies';

/**
 * A problem found by a block's check; `path` is relative to the block (e.g. `.params.struct`).
 * `fixes`: its one-click remedies (fixes.ts), block ids `THIS_BLOCK` for the block checked.
 */
export type Report = (
	path: string,
	severity: 'error' | 'warning',
	message: string,
	extra?: { position?: number; length?: number; fixes?: Fix[] }
) => void;

/** What the column-flow analysis lends a block's check. */
export interface CheckContext<P> {
	/** The params, parsed; null when they are not valid (their issues are reported already). */
	params: P | null;
	/** The params as written (e.g. a filter's expression is checked even when other params are bad). */
	raw: unknown;
	/** The columns arriving here; null when they are not known (skip column checks). */
	columns: string[] | null;
	/** True when the rows arriving are of a kind this block refuses (already reported). */
	misfit: boolean;
	report: Report;
	/** The message for a column that does not exist where it is used. */
	missing: (column: string, available: string[]) => string;
	listColumns: (columns: readonly string[]) => string;
	/**
	 * Compiles a filter expression: the server passes the results it compiled beforehand a few at
	 * a time, so the analysis of 100 long expressions is not one stall (see AnalyzeColumnsOptions).
	 */
	compile: (text: string) => CompileResult;
}

/** How a block that made rows of the wrong kind explains itself when a later block refuses them. */
export interface KindWords {
	/** The verb for its rows ("gives" for a source); default "produces". */
	verb?: string;
	/** Why its rows are of that kind, with a leading space (e.g. " (Find people is on)"), or ''. */
	why?(m: KindMismatch): string;
	/** The fix to propose; undefined leaves the generic advice. */
	fix?(m: KindMismatch): string | undefined;
}

export interface SummaryContext {
	/** Display names of uploaded files by path (the stored name is a random id). */
	fileNames: ReadonlyMap<string, string>;
}

/** What a paid block costs, for the estimate shown before a run (an upper bound). */
/**
 * How the server calls the API, which sets the requests each row costs: under a per-key limit,
 * rows/s = limit ÷ requests per row.
 */
export interface RequestModel {
	/** enrich_lead / enrich_company via `*-async`: the submit plus polls. */
	asyncEnrich: boolean;
	/** Async answers arrive by webhook (PUBLIC_URL set): polls only for the few that get lost. */
	webhooks: boolean;
	/** find-email rows share `/find-email-bulk` requests. */
	findEmailBulk: boolean;
}

/** What the benchmarks measure (tests/bench/throughput.ts): submit + ≈1 adaptive poll; ≈5% of webhooks polled. */
const ASYNC_POLLED_REQUESTS_PER_ROW = 2.02;
const ASYNC_WEBHOOK_REQUESTS_PER_ROW = 1.05;

/** Requests per row of an enrichment sent through `*-async` when the model says so (else 1). */
export function asyncEnrichRequestsPerRow(model: RequestModel): number {
	if (!model.asyncEnrich) return 1;
	return model.webhooks ? ASYNC_WEBHOOK_REQUESTS_PER_ROW : ASYNC_POLLED_REQUESTS_PER_ROW;
}

/**
 * Polls the poll policy makes at most for one task that takes up to `ASYNC_TAIL_FACTOR` times its
 * expected latency: the first poll lands at the expected latency E, then every interval is 1.5×
 * the last (E/2, 0.75E…), so after k polls E·1.5^(k−1) has passed: 1 + ⌈log1.5 16⌉ = 8 polls.
 */
export const ASYNC_TAIL_FACTOR = 16;
export const ASYNC_MAX_POLLS = 1 + Math.ceil(Math.log(ASYNC_TAIL_FACTOR) / Math.log(1.5));

/**
 * Bounds of the requests one row of an async enrichment costs (issue 12): at least the submit and
 * one poll (by webhook: the submit alone), at most the submit and `ASYNC_MAX_POLLS`; 1 when sync.
 * Retries after a 429 or 5xx come on top (the run's `requests` counts them).
 */
export function asyncEnrichRequestBounds(model: RequestModel): [number, number] {
	if (!model.asyncEnrich) return [1, 1];
	return [model.webhooks ? 1 : 2, 1 + ASYNC_MAX_POLLS];
}

export interface CostModel<P> {
	/** Cents per API call with these params. */
	centsPerCall(params: P): number;
	/**
	 * API requests (submits, polls, bulk requests) one row is expected to cost in `model`, with
	 * `concurrency` rows in flight by default; absent: one request per row.
	 */
	requestsPerRow?(params: P, model: RequestModel, concurrency: number): number;
	/** Least and most requests one row can cost in `model` (absent: `requestsPerRow` both ways). */
	requestsPerRowBounds?(params: P, model: RequestModel, concurrency: number): [number, number];
	/** True when the number of rows after this block cannot be known in advance. */
	unboundedRows?(params: P): boolean;
	/** What the estimate assumes about this block, in words shown with it. */
	assumptions: readonly string[];
}

/** How the block's params live in the shared Y.Doc (everything else: a plain value, last writer wins). */
export interface CollabRules {
	/**
	 * Long free text kept as Y.Text: people typing in it at once merge, and undo removes only one's
	 * own characters. Every other param (expressions, names, file names…) is a whole value.
	 */
	text?: readonly string[];
	/** Struct params kept as one shared map per field: edits to different fields merge. */
	structs?: readonly string[];
}

/** A block type's declaration, shared by browser and server. */
export interface BlockDefinition<T extends string = string, P extends v.GenericSchema = v.GenericSchema> {
	type: T;
	label: string;
	description: string;
	category: BlockCategory;
	/** True for blocks that call the Sixtyfour API (they cost money and take rate limit). */
	usesApi: boolean;
	/** Name of its icon in the editor's icon set (src/routes/w/[id]/block-icons.ts). */
	icon: string;
	params: P;
	/** Default params for a freshly added block. */
	defaults(): v.InferInput<P>;
	/** Columns this block adds to its input; absent: it passes its input's columns on unchanged. */
	addedColumns?(params: v.InferOutput<P>): string[];
	/** Row kinds; params as written (defaults may be missing), so the palette can ask too. */
	rowKinds(params: v.InferInput<P>): BlockRowKinds;
	rowCount: RowCount;
	/** A source reads a file: the param that holds its path. Its output columns are the file's. */
	source?: { pathParam: string };
	/** The param holding a filter expression: the server compiles these before a run, a few at a time. */
	expressionParam?: string;
	/** What to say when the block is first, with no rows before it (default: generic). */
	noRowsMessage?: string;
	/** The word for the rows it chose not to process (default "Skipped"). */
	skippedLabel?: string;
	/** The column-flow checks of this block. */
	check?(context: CheckContext<v.InferOutput<P>>): void;
	kindWords?: KindWords;
	/** The one-line summary a card shows, from params as written (possibly half-edited). */
	summary(params: Record<string, unknown>, context: SummaryContext): string;
	/** Paid blocks only. */
	cost?: CostModel<v.InferOutput<P>>;
	collab?: CollabRules;
}

/**
 * Declares a block type (types the callbacks from the params schema).
 * @example export const saveCsv = defineBlock({ type: 'save_csv', params: SaveCsvParams, … });
 */
export function defineBlock<T extends string, P extends v.GenericSchema>(definition: BlockDefinition<T, P>): BlockDefinition<T, P> {
	return definition;
}
