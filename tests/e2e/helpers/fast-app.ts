/**
 * The app against a fast local simulator (answers in about 0.1 s) standing in for Sixtyfour, for
 * tests about the editor rather than about waiting.
 */
import { startSimulator, type RunningSimulator } from '../../../server/enrichment/simulator';
import { startTestApp, type TestApp } from './app';

export interface FastApp extends TestApp {
	simulator: RunningSimulator;
}

export async function startFastApp(options: { apiKey?: string; env?: Record<string, string> } = {}): Promise<FastApp> {
	const simulator = await startSimulator({ latency: { default: { medianMs: 80, p99Ms: 250 } } });
	const app = await startTestApp({
		SIXTYFOUR_API_KEY: options.apiKey ?? 'e2e-test-key',
		SIXTYFOUR_BASE_URL: simulator.url,
		SIXTYFOUR_RATE_LIMIT_PER_MIN: '100000',
		...options.env
	});
	return {
		...app,
		simulator,
		async close() {
			await app.close();
			await simulator.close();
		}
	};
}
