/**
 * The /live wire protocol: every JSON frame between the job-event hub and a browser, defined once
 * as valibot schemas. The engine's `JobStatus`, `BlockProgress` and `RunEvent` (server/engine/types.ts)
 * are inferred from the schemas here, so the job manager's events are forwarded without translation. Every inbound frame
 * goes through `parseServerMessage` / `parseClientMessage`, which never throw.
 *
 * Conversation: server → `hello`, `snapshot`, then deltas (`job_created` … `job_paused`, `job_resumed`, `job_finished`) and
 * `pong`s; client → `ping`. `block_progress` is coalesced by the server (at most 10 a second per
 * job per client); every other delta is delivered, in order.
 */
import * as v from 'valibot';
import { BLOCK_TYPES } from './schema';

/** Bumped on any incompatible change; a client that sees another version in `hello` must reload. */
export const PROTOCOL_VERSION = 2;

/** Largest client frame the server reads (bytes); client messages are tiny. */
export const MAX_CLIENT_FRAME_BYTES = 4_096;

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(128));
/** Milliseconds since the epoch. */
const Millis = v.pipe(v.number(), v.finite());
const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const NonNegative = v.pipe(v.number(), v.finite(), v.minValue(0));
const Cell = v.union([v.string(), v.number(), v.boolean(), v.null()]);

/** `paused`: stopped at a daily spend limit; resumed (back to `pending`) or cancelled by a person. */
export const JobStatusSchema = v.picklist(['pending', 'running', 'paused', 'completed', 'failed', 'cancelled']);
export type LiveJobStatus = v.InferOutput<typeof JobStatusSchema>;
/** States a job never leaves. */
export const FinalJobStatusSchema = v.picklist(['completed', 'failed', 'cancelled']);
export type FinalJobStatus = v.InferOutput<typeof FinalJobStatusSchema>;
export const AccessSchema = v.picklist(['edit', 'view']);

export const BlockRefSchema = v.object({ block_id: Id, block_type: v.picklist(BLOCK_TYPES) });

/** One block's counters as the engine reports them (the engine's `BlockProgress` is this type). */
export const BlockProgressSchema = v.object({
	block_id: Id,
	block_type: v.picklist(BLOCK_TYPES),
	status: JobStatusSchema,
	rows_in: Count,
	rows_out: Count,
	errors: Count,
	skipped: Count,
	calls: Count,
	cached: Count,
	cost_cents: NonNegative,
	waiting: Count,
	total: v.nullable(Count),
	/** Requests/min the API key allows now, as learnt from the API's headers (null: no API block, or an older server). */
	rate_limit_per_min: v.optional(v.nullable(NonNegative), null),
	/** Rows whose answer came back, in any order (API blocks; else rows done). Null: an older server. */
	answered: v.optional(v.nullable(Count), null),
	/** Rows whose call is running now. */
	in_flight: v.optional(v.nullable(Count), null),
	/** HTTP requests sent (submits, polls, retries): ≥ calls when answers are polled for. */
	requests: v.optional(v.nullable(Count), null),
	/** Answered rows/s over the last seconds while running; the run's average once finished. */
	rows_per_s: NonNegative,
	/** Seconds left, smoothed; null until enough answers or seconds make it meaningful. */
	eta_s: v.nullable(NonNegative),
	duration_ms: NonNegative,
	preview: v.array(v.record(v.string(), Cell)),
	columns: v.array(v.string())
});
export type LiveBlockProgress = v.InferOutput<typeof BlockProgressSchema>;

export const RowErrorSchema = v.object({ block_id: Id, row: Count, message: v.string() });
export type LiveRowError = v.InferOutput<typeof RowErrorSchema>;

/** What a watcher knows about one job: the `snapshot` carries these; deltas update them. */
export const LiveJobSchema = v.object({
	job_id: Id,
	status: JobStatusSchema,
	created_at: v.nullable(Millis),
	started_at: v.nullable(Millis),
	finished_at: v.nullable(Millis),
	error: v.nullable(v.string()),
	output_path: v.nullable(v.string()),
	retry_of: v.nullable(Id),
	/** The presence name of who started the run (issue 13); null when unknown (retries, posted runs). */
	started_by: v.optional(v.nullable(v.string())),
	blocks: v.array(BlockProgressSchema),
	/** The job's first row errors (see `ROW_ERRORS_KEPT`); block counters hold the full count. */
	row_errors: v.array(RowErrorSchema)
});
export type LiveJob = v.InferOutput<typeof LiveJobSchema>;

const JobCreated = v.object({
	type: v.literal('job_created'),
	job_id: Id,
	at: Millis,
	workflow_id: v.nullable(Id),
	retry_of: v.nullable(Id),
	started_by: v.optional(v.nullable(v.string()))
});
const JobStarted = v.object({ type: v.literal('job_started'), job_id: Id, at: Millis, blocks: v.array(BlockRefSchema) });
const blockEvent = <T extends 'block_started' | 'block_progress' | 'block_finished'>(type: T) =>
	v.object({ type: v.literal(type), job_id: Id, at: Millis, block: BlockProgressSchema });
const RowError = v.object({
	type: v.literal('row_error'),
	job_id: Id,
	at: Millis,
	block_id: Id,
	row: Count,
	message: v.string()
});
/* ── Row events (issue 12): which row each block answered, with its new cells ── */

/**
 * One row's state in one block: `running` (its call is in flight), `done` (answered: `values` holds
 * the cells the block wrote, `cached` when no call was paid for it), `error` (`error` says why; the
 * block's cells are empty) or `dropped` (a filter left the row out).
 */
export const CellStateSchema = v.picklist(['running', 'done', 'error', 'dropped']);
export type CellState = v.InferOutput<typeof CellStateSchema>;
export const RowCellSchema = v.object({
	/** The row's index in the input file (0 = the first data row), stable across blocks and re-runs. */
	row: Count,
	block_id: Id,
	state: CellStateSchema,
	cached: v.optional(v.boolean()),
	values: v.optional(v.record(v.string(), Cell)),
	error: v.optional(v.string()),
	/** Output rows this input row became, when not one (Enrich Company's Find people). */
	rows: v.optional(Count)
});
export type RowCell = v.InferOutput<typeof RowCellSchema>;
/** Cells that changed since the last batch (the engine sends one per progress tick). */
const RowCells = v.object({ type: v.literal('row_cells'), job_id: Id, at: Millis, cells: v.array(RowCellSchema) });
/**
 * Sent to a client that fell behind instead of the cells it missed: re-read rows `from`…`to`
 * (inclusive) of the job over HTTP (`GET /api/workflows/jobs/{id}/cells`).
 */
const RowsResync = v.object({ type: v.literal('rows_resync'), job_id: Id, from: Count, to: Count });

const JobFinished = v.object({
	type: v.literal('job_finished'),
	job_id: Id,
	at: Millis,
	status: FinalJobStatusSchema,
	error: v.nullable(v.string()),
	output_path: v.nullable(v.string()),
	blocks: v.array(BlockProgressSchema)
});
/** The job stopped at a spend limit; `message` says which budget and how to go on. */
const JobPaused = v.object({
	type: v.literal('job_paused'),
	job_id: Id,
	at: Millis,
	message: v.string(),
	blocks: v.array(BlockProgressSchema)
});
/** A paused job was resumed: it waits for its turn again (then `job_started`). */
const JobResumed = v.object({ type: v.literal('job_resumed'), job_id: Id, at: Millis });

/** What the engine's runner emits (server/engine/run-job.ts); the job manager adds the other deltas. */
const RUN_EVENTS = [
	JobStarted,
	blockEvent('block_started'),
	blockEvent('block_progress'),
	blockEvent('block_finished'),
	RowError,
	RowCells,
	JobFinished
] as const;
export const RunEventSchema = v.variant('type', [...RUN_EVENTS]);

const DELTAS = [JobCreated, ...RUN_EVENTS, JobPaused, JobResumed] as const;

/** A change to a job: what the hub publishes and forwards (the job manager's events, as they are). */
export const LiveEventSchema = v.variant('type', [...DELTAS]);
export type LiveEvent = v.InferOutput<typeof LiveEventSchema>;

const Hello = v.object({
	type: v.literal('hello'),
	/** A number, not a literal, so a client can tell "newer server" apart from "garbage". */
	version: v.pipe(v.number(), v.integer()),
	workflow_id: Id,
	access: AccessSchema
});
const Snapshot = v.object({ type: v.literal('snapshot'), jobs: v.array(LiveJobSchema) });
const Pong = v.object({ type: v.literal('pong'), id: v.optional(v.pipe(v.number(), v.integer())) });

export const ServerMessageSchema = v.variant('type', [Hello, Snapshot, Pong, RowsResync, ...DELTAS]);
export type ServerMessage = v.InferOutput<typeof ServerMessageSchema>;

const Ping = v.object({ type: v.literal('ping'), id: v.optional(v.pipe(v.number(), v.integer())) });
export const ClientMessageSchema = v.variant('type', [Ping]);
export type ClientMessage = v.InferOutput<typeof ClientMessageSchema>;

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };

/** Reads a server frame; a bad frame is a result, never a throw. */
export function parseServerMessage(text: unknown): ParseResult<ServerMessage> {
	return parseFrame(ServerMessageSchema, text);
}

/** Reads a client frame; a bad frame is a result, never a throw. */
export function parseClientMessage(text: unknown): ParseResult<ClientMessage> {
	return parseFrame(ClientMessageSchema, text);
}

function parseFrame<T extends v.GenericSchema>(schema: T, text: unknown): ParseResult<v.InferOutput<T>> {
	if (typeof text !== 'string') return { ok: false, error: 'Expected a text frame' };
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch {
		return { ok: false, error: 'Frame is not JSON' };
	}
	const result = v.safeParse(schema, json);
	if (result.success) return { ok: true, message: result.output };
	const issue = result.issues[0];
	const path = v.getDotPath(issue);
	return { ok: false, error: path ? `${path}: ${issue.message}` : issue.message };
}
