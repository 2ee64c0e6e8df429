/**
 * The simulator on a real HTTP port (loopback and an ephemeral port by default), for the app's
 * demo mode, integration tests and benchmarks.
 */
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimulatorApp } from './app';
import type { SimulatorOptions, SimulatorOptionsInput } from './options';
import type { SimStats } from './stats';

export interface StartSimulatorOptions extends SimulatorOptionsInput {
	/** 0 (default) picks a free port. */
	port?: number;
	/** Default 127.0.0.1. */
	host?: string;
}

export interface RunningSimulator {
	/** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
	url: string;
	port: number;
	stats(): SimStats;
	configure(patch: SimulatorOptionsInput): SimulatorOptions;
	reset(): void;
	/** Ends hung and sleeping requests, drops open connections, stops listening. Idempotent. */
	close(): Promise<void>;
}

/** Start a simulator; resolves once it listens. */
export async function startSimulator(options: StartSimulatorOptions = {}): Promise<RunningSimulator> {
	const { port = 0, host = '127.0.0.1', ...simOptions } = options;
	const sim = createSimulatorApp(simOptions);
	const server = createAdaptorServer({ fetch: sim.app.fetch, hostname: host }) as Server;
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	const address = server.address() as AddressInfo;
	const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
	let closing: Promise<void> | null = null;
	return {
		url: `http://${urlHost}:${address.port}`,
		port: address.port,
		stats: sim.stats,
		configure: sim.configure,
		reset: sim.reset,
		close() {
			closing ??= new Promise<void>((resolve) => {
				sim.dispose();
				server.close(() => resolve());
				server.closeAllConnections();
			});
			return closing;
		}
	};
}
