/**
 * `npm run bench`: every benchmark, measured side by side in one run, printed as Markdown tables
 * (the README's numbers come from here). `npm run bench -- throughput streaming` runs a subset.
 * Each module can also run alone with `npx tsx tests/bench/<name>.ts`.
 */
import { cpus, totalmem } from 'node:os';

interface Bench {
	name: string;
	run: () => Promise<string>;
}

const BENCHES: Bench[] = [
	{
		name: 'throughput',
		run: async () => {
			const { benchThroughput, formatThroughput } = await import('./throughput');
			return formatThroughput(await benchThroughput());
		}
	},
	{
		name: 'streaming',
		run: async () => {
			const m = await import('./streaming');
			return m.formatStreaming(await m.benchStreaming());
		}
	},
	{
		name: 'overhead',
		run: async () => {
			const m = await import('./engine-overhead');
			return m.formatEngineOverhead(await m.benchEngineOverhead());
		}
	},
	{
		name: 'row-by-row',
		run: async () => {
			const m = await import('./row-by-row');
			return m.formatRowByRow(m.benchRowByRow());
		}
	},
	{
		name: 'collab',
		run: async () => {
			const m = await import('./collab');
			return m.formatCollab(await m.benchCollab());
		}
	},
	{
		name: 'collab-flood',
		run: async () => {
			const m = await import('./collab-flood');
			return m.formatCollabFlood(await m.benchCollabFlood());
		}
	},
	{
		name: 'event-loop',
		run: async () => {
			const m = await import('./event-loop');
			return m.formatEventLoop(await m.benchEventLoop());
		}
	},
	{
		// Needs Redis and PostgreSQL on 127.0.0.1 (as `npm run test:scale`).
		name: 'scale-edits',
		run: async () => {
			const m = await import('./scale-edits');
			return m.formatScaleEdits(await m.benchScaleEdits());
		}
	},
	{
		// Needs PostgreSQL and Redis (issue 11); a few minutes on 2 cores.
		name: 'scale',
		run: async () => {
			const m = await import('./scale');
			return m.formatScale(await m.benchScale());
		}
	},
	{
		// Chromium (/usr/bin/chromium) on a finished 100,000-row run; about a minute per repeat.
		name: 'grid-scroll',
		run: async () => {
			const m = await import('./grid-scroll');
			return m.formatGridScroll(await m.benchGridScroll());
		}
	},
	{
		name: 'fanout',
		run: async () => {
			const m = await import('./fanout');
			return m.formatFanout(await m.benchFanout());
		}
	}
];

async function main() {
	const wanted = process.argv.slice(2);
	const selected = wanted.length ? BENCHES.filter((b) => wanted.includes(b.name)) : BENCHES;
	console.log(
		`# Benchmarks — ${new Date().toISOString()} · Node ${process.version} · ${cpus().length} cores · ${Math.round(totalmem() / 2 ** 30)} GiB\n`
	);
	for (const bench of selected) {
		const started = Date.now();
		console.error(`… ${bench.name}`);
		const table = await bench.run();
		console.log(`## ${bench.name} (${((Date.now() - started) / 1000).toFixed(0)} s)\n\n${table}\n`);
	}
}

main().then(
	() => process.exit(0),
	(err: unknown) => {
		console.error(err);
		process.exit(1);
	}
);
