/**
 * `GET /metrics` in the Prometheus text format (prom-client). Each server has its own `Registry`
 * (never prom-client's global one), so tests can run many servers in one process.
 *
 * Figures are read at scrape time from the pieces that already keep them — the jobs table, the
 * enrichment scheduler and cache, the room server and the live hub — plus two push sources: the
 * job event stream (rows processed) and the Sixtyfour client's per-attempt observer (API calls by
 * endpoint and status). Pieces may be attached as they are created; a missing piece reads as 0.
 * No label carries a workflow id, a job id or a token: cardinality stays fixed and nothing secret
 * reaches a scrape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheStats } from './enrichment/cache';
import type { SchedulerStats } from './enrichment/scheduler';
import type { SixtyfourClient } from './enrichment/sixtyfour-client';
import type { JobManager } from './jobs/job-manager';
import { JOB_STATES, countJobsByState } from './metrics/job-counts';
import { createRunEventTally } from './metrics/run-event-tally';
import { asStore, type StoreHandle } from './store/store';

/** The pieces metrics read; each optional, each attachable later. */
export interface MetricsSources {
	/** Jobs by state come from its `jobs` table. */
	db?: StoreHandle;
	/** Its events feed the row counters. */
	jobs?: Pick<JobManager, 'subscribe'>;
	/** Scheduler and cache figures; `client.observe` feeds API calls by endpoint and status. */
	enrichment?: { stats(): { scheduler: SchedulerStats; cache: CacheStats }; client?: Pick<SixtyfourClient, 'observe'> };
	/** The Yjs room server (`createCollabServer`). */
	collab?: { stats(): { rooms: number; connections: number; presenceEntries?: number } };
	/** The live job-event hub (`createLiveHub`). */
	hub?: { stats(): { rooms: number; clients: number } };
}

export interface MetricsOptions extends MetricsSources {
	/** Node process metrics (event-loop lag, memory, CPU, GC). Default true. */
	defaultMetrics?: boolean;
}

export interface Metrics {
	readonly registry: Registry;
	/** Adds sources created after the metrics (e.g. by a server extension); a source given again replaces the old one. */
	attach(sources: MetricsSources): void;
	/** The exposition text. */
	render(): Promise<string>;
	/** The `/metrics` handler: GET and HEAD. */
	handle(req: IncomingMessage, res: ServerResponse): void;
	/** Stops listening to the job manager and the client. */
	close(): void;
}

/** Every metric this module defines (the default Node metrics come on top). */
export const METRIC_NAMES = [
	'leadflow_jobs',
	'leadflow_jobs_finished_total',
	'leadflow_rows_processed_total',
	'leadflow_block_rows_total',
	'leadflow_block_row_errors_total',
	'leadflow_api_requests_total',
	'leadflow_api_rate_limited_total',
	'leadflow_api_retries_total',
	'leadflow_api_timeouts_total',
	'leadflow_api_in_flight',
	'leadflow_api_waiting',
	'leadflow_api_concurrency_limit',
	'leadflow_api_rate_limit_per_minute',
	'leadflow_api_rate_limit_learned_per_minute',
	'leadflow_cache_hits_total',
	'leadflow_cache_misses_total',
	'leadflow_cache_joined_total',
	'leadflow_websocket_connections',
	'leadflow_collab_rooms_loaded',
	'leadflow_collab_presence_entries',
	'leadflow_live_rooms'
] as const;

/**
 * Creates the registry and its metrics.
 * @example const metrics = createMetrics({ db, jobs, enrichment }); metrics.attach({ collab, hub })
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
	const registry = new Registry();
	if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
	const sources: MetricsSources = {};
	const unsubscribe = new Map<'jobs' | 'client', () => void>();
	const registers = [registry];

	/** A counter whose total a source keeps (scheduler, cache): read at scrape time. */
	function totalOf(name: string, help: string, read: () => number | undefined): void {
		new Counter({
			name,
			help,
			registers,
			collect() {
				const value = read();
				this.reset();
				if (value !== undefined && Number.isFinite(value) && value > 0) this.inc(value);
			}
		});
	}
	/** A gauge read at scrape time; 0 when its source is absent. */
	function gaugeOf(name: string, help: string, read: () => number | undefined): void {
		new Gauge({
			name,
			help,
			registers,
			collect() {
				this.set(read() ?? 0);
			}
		});
	}

	new Gauge({
		name: 'leadflow_jobs',
		help: 'Jobs by state (pending, running, completed, failed, cancelled).',
		labelNames: ['state'],
		registers,
		async collect() {
			// No database, or one that cannot be read (that shows in /healthz): no sample, rather than a false 0.
			this.reset();
			if (!sources.db || !asStore(sources.db).open) return;
			try {
				const counts = await countJobsByState(sources.db);
				for (const state of JOB_STATES) this.set({ state }, counts[state]);
			} catch {
				// The scrape still answers with everything else.
			}
		}
	});

	const tally = createRunEventTally({
		rowsProcessed: new Counter({ name: 'leadflow_rows_processed_total', help: 'Rows out of the last block of every job.', registers }),
		blockRows: new Counter({
			name: 'leadflow_block_rows_total',
			help: 'Rows out of each block, by block type.',
			labelNames: ['block_type'],
			registers
		}),
		blockErrors: new Counter({
			name: 'leadflow_block_row_errors_total',
			help: 'Rows that failed in a block (kept with their _error), by block type.',
			labelNames: ['block_type'],
			registers
		}),
		jobsFinished: new Counter({
			name: 'leadflow_jobs_finished_total',
			help: 'Jobs that reached a final state, by state.',
			labelNames: ['status'],
			registers
		})
	});

	const apiRequests = new Counter({
		name: 'leadflow_api_requests_total',
		help: 'Sixtyfour API attempts (retries and polls included) by endpoint and HTTP status (network_error, timeout: no answer).',
		labelNames: ['endpoint', 'status'],
		registers
	});

	const scheduler = () => sources.enrichment?.stats().scheduler;
	const cache = () => sources.enrichment?.stats().cache;
	totalOf(
		'leadflow_api_rate_limited_total',
		'Sixtyfour API answers 429 (rate limited) seen by the key scheduler.',
		() => scheduler()?.rateLimited
	);
	totalOf(
		'leadflow_api_retries_total',
		'Sixtyfour API attempts retried (408/429/5xx, network errors, timeouts, malformed answers).',
		() => scheduler()?.retries
	);
	totalOf('leadflow_api_timeouts_total', 'Sixtyfour API attempts that got no answer in time.', () => scheduler()?.timeouts);
	gaugeOf('leadflow_api_in_flight', 'Sixtyfour API requests sent and not yet answered.', () => scheduler()?.inFlight);
	new Gauge({
		name: 'leadflow_api_waiting',
		help: 'Sixtyfour API requests held back: for an in-flight slot, for a rate-limit token, or sleeping before a retry.',
		labelNames: ['reason'],
		registers,
		collect() {
			const s = scheduler();
			this.set({ reason: 'slot' }, s?.queued ?? 0);
			this.set({ reason: 'rate_limit' }, s?.waitingOnRateLimit ?? 0);
			this.set({ reason: 'backoff' }, s?.backingOff ?? 0);
		}
	});
	gaugeOf(
		'leadflow_api_concurrency_limit',
		'The adaptive cap of Sixtyfour API requests in flight (halved on 429, grows on success).',
		() => scheduler()?.concurrency
	);
	gaugeOf(
		'leadflow_api_rate_limit_per_minute',
		'Sixtyfour API requests per minute the key scheduler allows now (the configured start, then what the X-RateLimit-Limit headers say).',
		() => scheduler()?.ratePerMinute
	);
	gaugeOf(
		'leadflow_api_rate_limit_learned_per_minute',
		'The per-minute limit the last X-RateLimit-Limit header named (0: none seen yet).',
		() => scheduler()?.learnedLimitPerMinute ?? undefined
	);
	totalOf('leadflow_cache_hits_total', 'Enrichment answers served from the SQLite cache (not paid again).', () => cache()?.hits);
	totalOf('leadflow_cache_misses_total', 'Enrichment calls made because nothing was cached or in flight.', () => cache()?.misses);
	totalOf('leadflow_cache_joined_total', 'Enrichment callers that joined an identical call already in flight.', () => cache()?.joined);

	new Gauge({
		name: 'leadflow_websocket_connections',
		help: 'Open WebSocket connections: collab (Yjs rooms, /yjs) and live (job events, /live).',
		labelNames: ['channel'],
		registers,
		collect() {
			this.set({ channel: 'collab' }, sources.collab?.stats().connections ?? 0);
			this.set({ channel: 'live' }, sources.hub?.stats().clients ?? 0);
		}
	});
	gaugeOf(
		'leadflow_collab_rooms_loaded',
		'Workflow documents loaded in memory (one Yjs room each).',
		() => sources.collab?.stats().rooms
	);
	gaugeOf(
		'leadflow_collab_presence_entries',
		'Presence entries held across rooms (at most one per collab connection).',
		() => sources.collab?.stats().presenceEntries
	);
	gaugeOf('leadflow_live_rooms', 'Workflows with at least one live job-event subscriber.', () => sources.hub?.stats().rooms);

	function attach(next: MetricsSources): void {
		if (next.db) sources.db = next.db;
		if (next.collab) sources.collab = next.collab;
		if (next.hub) sources.hub = next.hub;
		if (next.jobs) {
			unsubscribe.get('jobs')?.();
			sources.jobs = next.jobs;
			unsubscribe.set('jobs', next.jobs.subscribe(tally));
		}
		if (next.enrichment) {
			unsubscribe.get('client')?.();
			unsubscribe.delete('client');
			sources.enrichment = next.enrichment;
			const client = next.enrichment.client;
			if (client)
				unsubscribe.set(
					'client',
					client.observe((endpoint, status) => apiRequests.inc({ endpoint, status: String(status) }))
				);
		}
	}
	attach(options);

	const render = () => registry.metrics();
	return {
		registry,
		attach,
		render,
		handle(req, res) {
			if (req.method !== 'GET' && req.method !== 'HEAD') {
				res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
				res.end('Use GET /metrics\n');
				return;
			}
			render().then(
				(text) => {
					res.writeHead(200, {
						'content-type': registry.contentType,
						'content-length': Buffer.byteLength(text),
						'cache-control': 'no-store'
					});
					res.end(req.method === 'HEAD' ? undefined : text);
				},
				(err: unknown) => {
					if (res.headersSent) return void res.destroy();
					res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
					res.end(`metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`);
				}
			);
		},
		close() {
			for (const stop of unsubscribe.values()) stop();
			unsubscribe.clear();
		}
	};
}
