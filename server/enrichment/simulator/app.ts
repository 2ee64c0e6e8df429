/**
 * The simulator as a Hono app: the Sixtyfour routes plus `/__sim/*` controls (no key needed):
 * `GET /__sim/stats`, `POST /__sim/reset`, `GET|POST /__sim/config`.
 */
import { Hono } from 'hono';
import type { SimulatorOptions, SimulatorOptionsInput } from './options';
import { readJson, type SimEnv } from './pipeline';
import { apiRoutes } from './routes';
import { SimulatorState } from './state';
import type { SimStats } from './stats';

export interface SimulatorApp {
	app: Hono<SimEnv>;
	/** The counters now (async jobs whose time has come are settled first). */
	stats(): SimStats;
	/** Zero the counters, forget rate-limit history, restart the seeded random streams. */
	reset(): void;
	/** Change options at run time; `latency`, `faults`, `prices` merge key by key. Throws on bad input. */
	configure(patch: SimulatorOptionsInput): SimulatorOptions;
	options(): SimulatorOptions;
	/** End every sleeping or hung request at once (call before closing a server). */
	dispose(): void;
}

/**
 * Build a simulator. Throws when `options` are invalid.
 *
 * @example
 * const sim = createSimulatorApp({ seed: 1, faults: { error500: 0.1 } });
 * const res = await sim.app.request('/find-email', { method: 'POST', headers: { 'x-api-key': 'k' }, body: '{"lead":{"name":"Ada"}}' });
 */
export function createSimulatorApp(options: SimulatorOptionsInput = {}): SimulatorApp {
	const state = new SimulatorState(options);
	const app = new Hono<SimEnv>();

	app.get('/__sim/stats', (c) => c.json(state.snapshot()));
	app.post('/__sim/reset', (c) => {
		state.reset();
		return c.json(state.snapshot());
	});
	app.get('/__sim/config', (c) => c.json(state.options));
	app.post('/__sim/config', async (c) => {
		const raw = await readJson(c);
		if (!raw.ok) return raw.response;
		if (!raw.value || typeof raw.value !== 'object' || Array.isArray(raw.value)) {
			return c.json({ detail: 'Expected a JSON object of simulator options' }, 400);
		}
		try {
			return c.json(state.configure(raw.value as SimulatorOptionsInput));
		} catch (error) {
			return c.json({ detail: error instanceof Error ? error.message : String(error) }, 400);
		}
	});

	app.route('/', apiRoutes(state));
	app.notFound((c) => c.json({ detail: 'Not Found' }, 404));
	app.onError((error, c) => {
		console.error('[simulator] unexpected error', error);
		return c.json({ detail: 'Internal Server Error' }, 500);
	});

	return {
		app,
		stats: () => state.snapshot(),
		reset: () => state.reset(),
		configure: (patch) => state.configure(patch),
		options: () => state.options,
		dispose: () => state.dispose()
	};
}
