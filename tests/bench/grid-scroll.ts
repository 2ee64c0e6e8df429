/**
 * `npm run bench -- grid-scroll`: issue 12's "100,000-row results scroll without long frames" —
 * the live grid of a finished 100,000-row run, in Chromium at 1440×900, scrolled three ways while
 * every frame's time is measured with requestAnimationFrame (the same method as
 * tests/e2e/ui-live-grid.test.ts, which prints but does not assert it):
 *
 * - fling: 700 px a frame (a whole window of new rows every frame, the e2e test's scroll);
 * - wheel: 120 px a frame (a fast mouse wheel or trackpad);
 * - jump: a random position every frame (dragging the scrollbar: nothing cached nearby).
 *
 * Frame times depend on the machine's load as much as on the page, so the same page's idle frames,
 * the load average and the range reads made are printed beside them, and each scroll is run again
 * under a trace to give the CPU it cost per frame on the main, raster and compositor threads
 * (thread time: it compares two builds fairly even when the load changes between them).
 *
 * Standalone: `npx tsx tests/bench/grid-scroll.ts`, with `GRID_REPEATS=n` (default 2);
 * `GRID_PROFILE=1` (the fling's hottest functions, a CDP CPU profile); `GRID_TRACE=fling|wheel|jump|idle`
 * (that scroll's main-thread self time by trace event); `GRID_CSS='…'` (extra CSS: what a style
 * costs, without a rebuild); `GRID_DIAG=1` (DOM size). To compare two commits, build each in its
 * own checkout (`git archive <commit> | tar -x -C dir`, node_modules linked) and run this file there.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CDPSession, Page } from 'playwright-core';
import { createWorkflow } from '../e2e/helpers/api';
import { launchBrowser, newPerson } from '../e2e/helpers/browser';
import { startFastApp } from '../e2e/helpers/fast-app';

const ROWS = 100_000;
const SCROLL_MS = 4_000;
const IDLE_MS = 2_000;

export interface FrameStats {
	name: string;
	frames: number;
	median: number;
	p95: number;
	max: number;
	/** Frames over 50 ms. */
	long: number;
	/** Range reads (`GET …/cells`) the page made while scrolling. */
	reads: number;
	/** Main-thread time spent in script / layout / style while scrolling (Chromium's counters). */
	scriptMs: number;
	layoutMs: number;
	styleMs: number;
	load: string;
}

export interface GridScrollResult {
	/** Each repeat: the page idle, then each scroll. */
	runs: FrameStats[];
	/** Each repeat's traced scrolls. */
	cpu: CpuCost[];
	profile: string[];
}

const load = () =>
	loadavg()
		.map((n) => n.toFixed(2))
		.join(' ');

function stats(name: string, deltas: number[], spent: Record<string, number>, loadAvg: string, reads: number): FrameStats {
	const d = [...deltas].sort((a, b) => a - b);
	const at = (q: number) => d[Math.min(d.length - 1, Math.floor(d.length * q))]!;
	return {
		name,
		frames: d.length,
		median: at(0.5),
		p95: at(0.95),
		max: d[d.length - 1]!,
		long: d.filter((x) => x > 50).length,
		reads,
		scriptMs: spent.ScriptDuration ?? 0,
		layoutMs: spent.LayoutDuration ?? 0,
		styleMs: spent.RecalcStyleDuration ?? 0,
		load: loadAvg
	};
}

async function metrics(cdp: CDPSession): Promise<Record<string, number>> {
	const { metrics: list } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
	return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

/**
 * The page-side measuring loop, as source text: tsx compiles this file keeping function names
 * (`__name(...)` calls), which would not exist in the page.
 */
const MEASURE = `async ([el, mode, ms]) => {
	const deltas = [];
	let last = performance.now();
	const end = last + ms;
	let seed = 12345;
	el.scrollTop = 0;
	await new Promise((resolve) => {
		function step(now) {
			deltas.push(now - last);
			last = now;
			if (mode === 'fling') el.scrollTop += 700;
			else if (mode === 'wheel') el.scrollTop += 120;
			else if (mode === 'jump') {
				seed = (seed * 16807) % 2147483647;
				el.scrollTop = (seed / 2147483647) * (el.scrollHeight - el.clientHeight);
			}
			if (now < end) requestAnimationFrame(step);
			else resolve();
		}
		requestAnimationFrame(step);
	});
	return deltas.slice(1); // the first delta is from before the first frame
}`;

/** Frame deltas while `mode` scrolls the grid for SCROLL_MS (or, for 'idle', while nothing happens). */
async function measure(page: Page, mode: 'idle' | 'fling' | 'wheel' | 'jump'): Promise<number[]> {
	const ms = mode === 'idle' ? IDLE_MS : SCROLL_MS;
	return (await page.evaluate(`(${MEASURE})([document.querySelector('.results .viewport'), '${mode}', ${ms}])`)) as number[];
}

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	hitCount?: number;
}

/** The profile's top functions by self time. */
function hottest(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }, top = 15): string[] {
	const self = new Map<number, number>();
	const samples = profile.samples ?? [];
	const deltas = profile.timeDeltas ?? [];
	for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i] ?? 0) / 1000);
	const byName = new Map<string, number>();
	for (const node of profile.nodes) {
		const ms = self.get(node.id) ?? 0;
		if (!ms) continue;
		const f = node.callFrame;
		const where = f.url ? `${f.url.split('/').pop()}:${f.lineNumber + 1}` : '';
		const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
		byName.set(key, (byName.get(key) ?? 0) + ms);
	}
	return [...byName.entries()]
		.sort((a, b) => b[1] - a[1])
		.slice(0, top)
		.map(([k, ms]) => `${ms.toFixed(0).padStart(6)} ms  ${k}`);
}

interface TraceEvent {
	name: string;
	ph: string;
	ts: number;
	dur?: number;
	/** Thread (CPU) time, where Chromium records it. */
	tdur?: number;
	pid: number;
	tid: number;
	args?: { name?: string };
}

/**
 * Where the renderer's main thread spent a trace: self time (an event's time minus its children's)
 * by event name, the busiest first; and each thread's total task time.
 */
function mainThreadTime(events: TraceEvent[], top = 16): string[] {
	const threads = new Map<string, string>();
	for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') threads.set(`${e.pid}:${e.tid}`, e.args?.name ?? '?');
	const perThread = new Map<string, number>();
	const byThread = new Map<string, TraceEvent[]>();
	for (const e of events) {
		if (e.ph !== 'X' || !e.dur) continue;
		const key = `${e.pid}:${e.tid}`;
		if (!byThread.has(key)) byThread.set(key, []);
		byThread.get(key)!.push(e);
	}
	const self = new Map<string, number>();
	for (const [key, list] of byThread) {
		const thread = threads.get(key) ?? '?';
		list.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
		const stack: { end: number; name: string }[] = [];
		for (const e of list) {
			while (stack.length && stack[stack.length - 1]!.end <= e.ts) stack.pop();
			if (stack.length === 0) perThread.set(thread, (perThread.get(thread) ?? 0) + e.dur! / 1000);
			if (thread === 'CrRendererMain') {
				const parent = stack[stack.length - 1];
				if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - e.dur! / 1000);
				self.set(e.name, (self.get(e.name) ?? 0) + e.dur! / 1000);
			}
			stack.push({ end: e.ts + e.dur!, name: e.name });
		}
	}
	const lines = (m: Map<string, number>, n: number) =>
		[...m.entries()]
			.sort((a, b) => b[1] - a[1])
			.slice(0, n)
			.map(([k, ms]) => `${ms.toFixed(0).padStart(6)} ms  ${k}`);
	return ['main thread, self time:', ...lines(self, top), 'busy time by thread:', ...lines(perThread, 8)];
}

/**
 * CPU time per thread in a trace: the thread time of its top-level tasks (unlike wall time, this
 * does not grow when other processes take the cores), by thread name.
 */
function cpuByThread(events: TraceEvent[]): Map<string, number> {
	const threads = new Map<string, string>();
	for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') threads.set(`${e.pid}:${e.tid}`, e.args?.name ?? '?');
	const ends = new Map<string, number>();
	const out = new Map<string, number>();
	for (const e of [...events].filter((x) => x.ph === 'X' && x.dur).sort((a, b) => a.ts - b.ts)) {
		const key = `${e.pid}:${e.tid}`;
		if ((ends.get(key) ?? -1) > e.ts) continue; // inside a task already counted
		ends.set(key, e.ts + e.dur!);
		const name = (threads.get(key) ?? '?').replace(/\d+$/, '');
		out.set(name, (out.get(name) ?? 0) + (e.tdur ?? e.dur!) / 1000);
	}
	return out;
}

/** The scroll again, traced: the CPU it cost per frame on the threads that draw a frame. */
async function cpuPerFrame(page: Page, cdp: CDPSession, mode: 'idle' | 'fling' | 'wheel' | 'jump'): Promise<CpuCost> {
	const events: TraceEvent[] = [];
	const collect = (e: { value: unknown[] }) => void events.push(...(e.value as TraceEvent[]));
	cdp.on('Tracing.dataCollected', collect);
	const done = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()));
	await cdp.send('Tracing.start', { categories: 'toplevel,__metadata', transferMode: 'ReportEvents' });
	const frames = (await measure(page, mode)).length;
	await cdp.send('Tracing.end');
	await done;
	cdp.off('Tracing.dataCollected', collect);
	const cpu = cpuByThread(events);
	const per = (...names: string[]) => names.reduce((n, k) => n + (cpu.get(k) ?? 0), 0) / frames;
	return {
		mode,
		main: per('CrRendererMain'),
		raster: per('ThreadPoolForegroundWorker', 'CompositorTileWorker'),
		compositor: per('Compositor', 'VizCompositorThread')
	};
}

export interface CpuCost {
	mode: string;
	/** CPU ms per frame on the page's main thread. */
	main: number;
	/** … on the raster workers (software raster here: --disable-gpu). */
	raster: number;
	/** … on the compositor threads (the renderer's and the display's). */
	compositor: number;
}

export async function benchGridScroll(
	options: { repeats?: number; profile?: boolean; trace?: string; css?: string } = {}
): Promise<GridScrollResult> {
	const repeats = options.repeats ?? Number(process.env.GRID_REPEATS ?? 2);
	const app = await startFastApp();
	const browser = await launchBrowser();
	try {
		const lines = ['name,company,city'];
		for (let i = 0; i < ROWS; i++) lines.push(`Lead ${i},Company ${i % 997},City ${i % 89}`);
		const form = new FormData();
		form.append('file', new Blob([lines.join('\n')], { type: 'text/csv' }), 'big.csv');
		const up = await fetch(`${app.url}/api/workflows/upload`, { method: 'POST', body: form });
		if (!up.ok) throw new Error(`upload: ${up.status} ${await up.text()}`);
		const { file_path: path } = (await up.json()) as { file_path: string };
		const wf = await createWorkflow(app.url, {
			from: {
				name: 'big',
				blocks: [
					{ id: 'read', type: 'read_csv', params: { path } },
					{ id: 'save', type: 'save_csv', params: { filename: 'big' } }
				] as never
			}
		});
		const headers = { 'content-type': 'application/json', authorization: `Bearer ${wf.edit_token}` };
		const run = await fetch(`${app.url}/api/workflows/run`, { method: 'POST', headers, body: JSON.stringify({ workflow_id: wf.id }) });
		const { job_id: jobId } = (await run.json()) as { job_id: string };
		for (;;) {
			const job = (await (await fetch(`${app.url}/api/workflows/jobs/${jobId}`, { headers })).json()) as { status: string };
			if (job.status === 'completed') break;
			if (job.status === 'failed') throw new Error('the 100,000-row run failed');
			await new Promise((r) => setTimeout(r, 500));
		}

		const { page, problems } = await newPerson(browser, { name: 'Bench Scroll', viewport: { width: 1440, height: 900 } });
		await page.goto(app.url + wf.edit_url);
		await page.locator('.block').first().waitFor();
		const tab = page.getByRole('tab', { name: /Results/ });
		await tab.click();
		const viewport = page.locator('.results .viewport');
		await viewport.waitFor();
		for (let i = 0; i < 200 && (await viewport.getAttribute('data-rows')) !== String(ROWS); i++) await page.waitForTimeout(100);
		// An experiment's extra CSS (GRID_CSS), to see what a style costs without rebuilding.
		if (options.css) await page.addStyleTag({ content: options.css });
		await page.waitForTimeout(500);
		const cdp = await page.context().newCDPSession(page);
		await cdp.send('Performance.enable');

		if (process.env.GRID_DIAG === '1') {
			const m = await metrics(cdp);
			console.error(`nodes ${m.Nodes}, layout objects ${m.LayoutObjects}`);
			console.error(
				await page.evaluate(
					`document.querySelectorAll('*').length + ' elements; grid ' + document.querySelectorAll('.results *').length + '; rows ' + document.querySelectorAll('tr.row').length`
				)
			);
		}
		let reads = 0;
		page.on('request', (req) => void (/\/cells\?/.test(req.url()) && reads++));
		const runs: FrameStats[] = [];
		const cpu: CpuCost[] = [];
		let profile: string[] = [];
		for (let r = 0; r < repeats; r++) {
			for (const mode of ['idle', 'fling', 'wheel', 'jump'] as const) {
				const profiling = options.profile && r === 0 && mode === 'fling';
				if (profiling) {
					await cdp.send('Profiler.enable');
					await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
					await cdp.send('Profiler.start');
				}
				const tracing = r === 0 && options.trace === mode;
				const traceEvents: TraceEvent[] = [];
				let traced: Promise<void> = Promise.resolve();
				if (tracing) {
					cdp.on('Tracing.dataCollected', (e) => void traceEvents.push(...(e.value as unknown as TraceEvent[])));
					traced = new Promise((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()));
					await cdp.send('Tracing.start', {
						categories: 'devtools.timeline,disabled-by-default-devtools.timeline,toplevel,blink,cc,v8',
						transferMode: 'ReportEvents'
					});
				}
				const readsBefore = reads;
				const before = await metrics(cdp);
				const deltas = await measure(page, mode);
				const after = await metrics(cdp);
				if (tracing) {
					await cdp.send('Tracing.end');
					await traced;
					profile = [...profile, `trace of the ${mode}:`, ...mainThreadTime(traceEvents)];
				}
				if (profiling) {
					const { profile: p } = (await cdp.send('Profiler.stop')) as { profile: Parameters<typeof hottest>[0] };
					profile = [...hottest(p), ...profile];
				}
				const spent = Object.fromEntries(
					['ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'].map((k) => [k, ((after[k] ?? 0) - (before[k] ?? 0)) * 1000])
				);
				runs.push(stats(mode, deltas, spent, load(), reads - readsBefore));
				await page.waitForTimeout(300);
			}
			for (const mode of ['idle', 'fling', 'wheel', 'jump'] as const) {
				cpu.push(await cpuPerFrame(page, cdp, mode));
				await page.waitForTimeout(300);
			}
		}
		if (problems.length) throw new Error(`the page had problems: ${problems.join('; ')}`);
		await page.context().close();
		return { runs, cpu, profile };
	} finally {
		await browser.close();
		await app.close();
	}
}

export function formatGridScroll({ runs, cpu, profile }: GridScrollResult): string {
	const f = (n: number) => n.toFixed(1);
	const row = (s: FrameStats) =>
		`| ${s.name} | ${s.frames} | ${f(s.median)} | **${f(s.p95)}** | ${f(s.max)} | ${s.long} | ${s.reads} | ${s.scriptMs.toFixed(0)} / ${s.layoutMs.toFixed(0)} / ${s.styleMs.toFixed(0)} | ${s.load} |`;
	return [
		'100,000 rows in the live grid, Chromium 1440×900, 4 s of scrolling per line; frame times in ms.',
		'',
		'| scroll | frames | median | p95 | max | frames > 50 ms | range reads | script / layout / style ms | load avg (1/5/15 min) |',
		'| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
		...runs.map(row),
		'',
		'CPU per frame (thread time from a trace of the same scroll, repeated; it does not grow with the load as frame times do):',
		'',
		'| scroll | main thread ms | raster ms | compositor ms | total ms |',
		'| --- | ---: | ---: | ---: | ---: |',
		...cpu.map(
			(c) => `| ${c.mode} | ${f(c.main)} | ${f(c.raster)} | ${f(c.compositor)} | **${f(c.main + c.raster + c.compositor)}** |`
		),
		...(profile.length
			? [
					'',
					"Where the time went (GRID_PROFILE=1: the fling's hottest functions; GRID_TRACE=<scroll>: a trace):",
					'',
					'```',
					...profile,
					'```'
				]
			: [])
	].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	benchGridScroll({ profile: process.env.GRID_PROFILE === '1', trace: process.env.GRID_TRACE, css: process.env.GRID_CSS }).then(
		(r) => {
			console.log(formatGridScroll(r));
			process.exit(0);
		},
		(e: unknown) => {
			console.error(e);
			process.exit(1);
		}
	);
}
