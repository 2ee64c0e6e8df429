/**
 * A local stand-in for the Sixtyfour API: same endpoints and shapes, deterministic answers, and
 * configurable latency, rate limit and faults. See README.md beside this file.
 */
export { createSimulatorApp, type SimulatorApp } from './app';
export { startSimulator, type RunningSimulator, type StartSimulatorOptions } from './server';
export {
	DEMO_SIMULATOR_OPTIONS,
	SIM_ENDPOINTS,
	SimulatorOptionsSchema,
	parseSimulatorOptions,
	type SimEndpoint,
	type SimulatorOptions,
	type SimulatorOptionsInput
} from './options';
export { SimStatsSchema, type SimStats } from './stats';
export { MAX_BULK_LEADS } from './request-schemas';
