/**
 * The heaviest filter job the limits allow, and a probe that watches a server's answers while it
 * runs: shared by the freeze test (`tests/integration/filter-freeze.test.ts`) and the event-loop
 * benchmark (`tests/bench/event-loop.ts`).
 *
 * The job: read_csv, then up to 99 filters (100 blocks is the most a workflow may have), each a
 * 9,975-character chain of `lower(c) != "b"` joined with `and` (so nothing short-circuits), over a
 * file of cells chosen against the per-row work budget (`MAX_EVALUATION_WORK`):
 * - `huge`: 2 MB cells (the report's file; Greek text, which case-maps slowest): one `lower` is
 *   over the budget;
 * - `at_budget`: the longest cell the whole chain fits in: every filter spends its full budget on
 *   the row and keeps it, so it costs the most of all rows that pass;
 * - `over_budget`: one character longer: the budget is spent to its last unit, then `_error`;
 * - `dropped` (`B`) and `kept` (`x`): ordinary rows.
 */
import { MAX_EVALUATION_WORK } from '../../src/lib/workflow/expression-evaluator';

/** The term repeated 499 times: 9,975 characters with the `and`s, under the 10,000 limit. */
export const HEAVY_TERM = 'lower(c) != "b"';
export const HEAVY_EXPRESSION = Array.from({ length: 499 }, () => HEAVY_TERM).join(' and ');

/**
 * Work of the heavy expression on a cell of `n` characters (see `expression-evaluator.ts`): per
 * term, 4 nodes, `lower` reading the cell, `!=` reading the lowered cell and "b", the `and`
 * testing a boolean; then the `and` node and the final condition.
 */
export function heavyWork(n: number): number {
	return 499 * (4 + (n + 1) + (n + 1 + 2) + 1) + 2;
}

/** Longest cell on which the heavy expression stays within the budget. */
export const AT_BUDGET_CHARS = Math.floor((MAX_EVALUATION_WORK - 2) / 499 / 2 - 4.5);

export interface WorstJobShape {
	huge: number;
	/** UTF-8 bytes of a `huge` cell (default 2 MiB: 1 Mi characters of 2 bytes). */
	hugeBytes?: number;
	atBudget: number;
	overBudget: number;
	dropped: number;
	kept: number;
}

export type RowKind = 'huge' | 'at_budget' | 'over_budget' | 'dropped' | 'kept';

/** The CSV text (`id,kind,c`), rows of each kind interleaved so every batch mixes them. */
export function worstFilterCsv(shape: WorstJobShape): { csv: string; kinds: RowKind[] } {
	const hugeCell = 'Σα'.repeat(Math.ceil((shape.hugeBytes ?? 2 * 1024 * 1024) / 4));
	const cells: Record<RowKind, string> = {
		huge: hugeCell,
		at_budget: 'Ab'.repeat(AT_BUDGET_CHARS / 2) + (AT_BUDGET_CHARS % 2 ? 'A' : ''),
		over_budget: 'Ab'.repeat((AT_BUDGET_CHARS + 1) / 2) + ((AT_BUDGET_CHARS + 1) % 2 ? 'A' : ''),
		dropped: 'B',
		kept: 'x'
	};
	const left: Record<RowKind, number> = {
		huge: shape.huge,
		at_budget: shape.atBudget,
		over_budget: shape.overBudget,
		dropped: shape.dropped,
		kept: shape.kept
	};
	const kinds: RowKind[] = [];
	for (let more = true; more;) {
		more = false;
		for (const kind of Object.keys(left) as RowKind[]) {
			if (left[kind] === 0) continue;
			left[kind]--;
			kinds.push(kind);
			more = true;
		}
	}
	const lines = ['id,kind,c', ...kinds.map((kind, i) => `${i},${kind},${cells[kind]}`)];
	return { csv: `${lines.join('\n')}\n`, kinds };
}

/** read_csv, `filters` heavy filters, and optionally save_csv: at most 100 blocks. */
export function worstFilterBlocks(path: string, filters: number, save = false): unknown[] {
	return [
		{ id: 'read', type: 'read_csv', params: { path } },
		...Array.from({ length: filters }, (_, i) => ({ id: `f${i + 1}`, type: 'filter', params: { expression: HEAVY_EXPRESSION } })),
		...(save ? [{ id: 'save', type: 'save_csv', params: { filename: 'worst' } }] : [])
	];
}

interface JobView {
	status: string;
	results: { block_type: string; rows_in: number }[];
}

export interface ProbeReport {
	/** Latency of every `/healthz` answer, in ms, in order. */
	latenciesMs: number[];
	/** `/healthz` answers that came back between the first filter taking rows and the job's end. */
	answeredWhileFiltering: number;
	/** Probes that got no 200. */
	failures: number;
	/** The job as last seen (`status` final unless the deadline passed). */
	job: JobView;
	/** Wall time from submission to the final status, in ms. */
	jobMs: number;
}

/**
 * Probes `/healthz` one request after another while job `jobId` runs, and reads the job's status
 * every `statusEvery` probes, until it is finished or `deadlineMs` passed. The answers counted
 * while filtering are the structural check: a frozen event loop answers none between the first
 * filter's first row and the job's end.
 */
export async function probeDuringJob(options: {
	url: string;
	jobId: string;
	deadlineMs: number;
	statusEvery?: number;
}): Promise<ProbeReport> {
	const { url, jobId, deadlineMs, statusEvery = 5 } = options;
	const started = performance.now();
	const latenciesMs: number[] = [];
	let failures = 0;
	let filtering = false;
	let answeredWhileFiltering = 0;
	let job: JobView = { status: 'pending', results: [] };
	const signal = () => AbortSignal.timeout(Math.max(1, Math.ceil(deadlineMs - (performance.now() - started))));
	for (let i = 0; ; i++) {
		if (performance.now() - started > deadlineMs) break;
		if (i % statusEvery === 0) {
			try {
				job = (await (await fetch(`${url}/api/workflows/jobs/${jobId}`, { signal: signal() })).json()) as JobView;
			} catch {
				break; // the deadline passed while the server was not answering
			}
			if (['completed', 'failed', 'cancelled'].includes(job.status)) break;
			filtering ||= job.results.some((b) => b.block_type === 'filter' && b.rows_in > 0);
		}
		const sent = performance.now();
		try {
			const res = await fetch(`${url}/healthz`, { signal: signal() });
			await res.arrayBuffer();
			if (res.status !== 200) failures++;
			latenciesMs.push(performance.now() - sent);
			if (filtering) answeredWhileFiltering++;
		} catch {
			failures++;
			break;
		}
	}
	return { latenciesMs, answeredWhileFiltering, failures, job, jobMs: performance.now() - started };
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
