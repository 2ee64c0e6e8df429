/**
 * `npm run simulator -- --port 4100 --latency-ms 200 --p99-ms 800 --rate-limit 600 ...`:
 * the simulator as a standalone process (for benchmarks and for poking at it with curl).
 */
import { SIMULATOR_USAGE, simulatorOptionsFromArgv } from './cli-options';
import { startSimulator } from './server';

async function main(): Promise<void> {
	let parsed;
	try {
		parsed = simulatorOptionsFromArgv(process.argv.slice(2));
	} catch (error) {
		console.error(`${error instanceof Error ? error.message : String(error)}\n\n${SIMULATOR_USAGE}`);
		process.exit(2);
	}
	if (parsed.help) {
		console.log(SIMULATOR_USAGE);
		return;
	}
	const sim = await startSimulator(parsed.options);
	console.log(`Sixtyfour simulator listening on ${sim.url}  (counters: ${sim.url}/__sim/stats)`);
	const stop = () => {
		void sim.close().then(() => process.exit(0));
	};
	process.once('SIGINT', stop);
	process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : error);
	process.exit(1);
});
