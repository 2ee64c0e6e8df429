/**
 * The arithmetic and the reporting every load suite shares: quantiles, a least-squares slope, the
 * busiest sliding window of a timestamp log, and bounds that are checked, printed as Markdown and
 * turned into an exit code. A suite is a function returning a `LoadReport`; its command line and the
 * quick integration test both read the same report, so CI checks exactly what the README quotes.
 */
import { pathToFileURL } from 'node:url';

/** One invariant of a run: what was measured, the bound it must hold, and whether it held. */
export interface Check {
	name: string;
	/** The measured value, as printed. */
	value: string;
	/** The bound, as printed (e.g. `≤ 2%`). */
	bound: string;
	ok: boolean;
	/**
	 * A speed figure (throughput, latency): judged by the full runs and printed by the quick
	 * variants in CI, never a test's pass/fail — a shared, loaded machine stretches wall time.
	 */
	timed?: true;
}

/** Marks a check as a speed figure (see `Check.timed`). */
export function speedFigure(check: Check): Check {
	return { ...check, timed: true };
}

/** What a suite returns: a title, its figures as a Markdown table, and its checks. */
export interface LoadReport {
	title: string;
	/** Markdown (tables and notes), printed as it is. */
	markdown: string;
	checks: Check[];
}

/** A check of `value ≤ max` (or `≥ min`), formatted with `format`. */
export function atMost(name: string, value: number, max: number, format: (x: number) => string = String): Check {
	return { name, value: format(value), bound: `≤ ${format(max)}`, ok: Number.isFinite(value) && value <= max };
}

export function atLeast(name: string, value: number, min: number, format: (x: number) => string = String): Check {
	return { name, value: format(value), bound: `≥ ${format(min)}`, ok: Number.isFinite(value) && value >= min };
}

/** The `q` quantile (0..1) of ascending `sorted` values, nearest rank; 0 for no values. */
export function quantile(sorted: readonly number[], q: number): number {
	if (sorted.length === 0) return 0;
	const rank = Math.ceil(q * sorted.length) - 1;
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** p50/p99/max of unsorted samples (milliseconds, one decimal). */
export function latencySummary(samples: readonly number[]): { count: number; p50: number; p99: number; max: number } {
	const sorted = [...samples].sort((a, b) => a - b);
	return {
		count: sorted.length,
		p50: round1(quantile(sorted, 0.5)),
		p99: round1(quantile(sorted, 0.99)),
		max: round1(sorted.at(-1) ?? 0)
	};
}

/**
 * Slope of the least-squares line through the points (units of y per unit of x); 0 with fewer than
 * two distinct x values. Used for "does RSS grow over the run".
 */
export function linearSlope(points: readonly { x: number; y: number }[]): number {
	const n = points.length;
	if (n < 2) return 0;
	let sx = 0;
	let sy = 0;
	for (const p of points) {
		sx += p.x;
		sy += p.y;
	}
	const mx = sx / n;
	const my = sy / n;
	let sxy = 0;
	let sxx = 0;
	for (const p of points) {
		sxy += (p.x - mx) * (p.y - my);
		sxx += (p.x - mx) ** 2;
	}
	return sxx === 0 ? 0 : sxy / sxx;
}

/**
 * The largest number of `times` (ms, any order) inside any window `[t, t + windowMs)`: what a
 * sliding-window rate limiter of that width would have counted at its busiest moment.
 */
export function maxInWindow(times: readonly number[], windowMs: number): number {
	if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
	const sorted = [...times].sort((a, b) => a - b);
	let best = 0;
	for (let lo = 0, hi = 0; hi < sorted.length; hi++) {
		while (sorted[hi] - sorted[lo] >= windowMs) lo++;
		best = Math.max(best, hi - lo + 1);
	}
	return best;
}

/** A Markdown table from a header row and rows of cells. */
export function markdownTable(
	header: readonly string[],
	rows: readonly (readonly (string | number)[])[],
	align?: readonly ('l' | 'r')[]
): string {
	const rule = header.map((_, i) => ((align?.[i] ?? 'r') === 'l' ? '---' : '---:'));
	return [header, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** The checks as a Markdown table with a verdict column. */
export function checksTable(checks: readonly Check[]): string {
	return markdownTable(
		['check', 'measured', 'bound', 'held'],
		checks.map((c) => [c.name, c.value, c.bound, c.ok ? 'yes' : '**NO**']),
		['l', 'r', 'r', 'l']
	);
}

/** The whole report as printed by a suite's command line. */
export function formatReport(report: LoadReport): string {
	return `## ${report.title}\n\n${report.markdown}\n\n${checksTable(report.checks)}\n`;
}

/** True when `--quick` is among the arguments. */
export function isQuick(argv: readonly string[] = process.argv.slice(2)): boolean {
	return argv.includes('--quick');
}

/**
 * A suite's command line: runs it, prints the report, exits 1 when a bound is broken and 2 when the
 * suite itself failed (a crash is never mistaken for a pass).
 */
export function runFromCommandLine(suite: (options: { quick: boolean }) => Promise<LoadReport>): void {
	const quick = isQuick();
	const started = Date.now();
	suite({ quick }).then(
		(report) => {
			console.log(formatReport(report));
			const broken = report.checks.filter((c) => !c.ok);
			console.log(
				`${quick ? 'quick' : 'full'} run, ${((Date.now() - started) / 1000).toFixed(0)} s: ${broken.length === 0 ? 'every bound held' : `${broken.length} bound(s) broken: ${broken.map((c) => c.name).join('; ')}`}`
			);
			process.exit(broken.length === 0 ? 0 : 1);
		},
		(err: unknown) => {
			console.error(err);
			process.exit(2);
		}
	);
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Is this module the script node was started with? */
export function isMain(metaUrl: string): boolean {
	return !!process.argv[1] && metaUrl === pathToFileURL(process.argv[1]).href;
}
