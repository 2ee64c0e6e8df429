/**
 * The one process, one port: a node:http server that sends `/api/*` to the Hono app, WebSocket
 * upgrades to the shared workflows' rooms and live channel (`/yjs/`, `/live/` — issue 4), and everything else to
 * the SvelteKit handler (adapter-node build) or, before the first build, a small text page.
 *
 * `startServer(config)` is what tests call (port 0, in-process); `tsx server/index.ts` reads the
 * environment, starts, resumes unfinished jobs, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { RUNNERS } from './blocks';
import { runJob } from './engine/run-job';
import { createEnrichmentService, type EnrichmentServiceHandle } from './enrichment/service';
import { DEMO_SIMULATOR_OPTIONS, startSimulator } from './enrichment/simulator';
import { createTaskWebhooks } from './enrichment/task-webhooks';
import { WEBHOOK_PATH } from './routes/sixtyfour-webhook';
import { createApiRateLimit } from './client-rate-limit';
import { createHealthCheck } from './health';
import { createMetrics } from './metrics';
import { headerScope, setSecurityHeaders } from './security-headers';
import { createHostCheck, HOST_NOT_ALLOWED } from './host-check';
import { createSharedWorkflows, type SharedWorkflowsOptions } from './shared-workflows';
import { refuseUpgrade } from './sockets/upgrade-gate';
import { createJobManager, type JobManager } from './jobs/job-manager';
import { createLogger, type Logger } from './log';
import { describeStartupError } from './startup-error';
import type { Db } from './store/db';
import { createJobStore } from './store/sqlite-job-store';
import { openSpendLedger } from './store/spend-ledger';
import { createSpendBudget } from './jobs/spend-budget';
import { createUploadStore } from './store/upload-store';
import type { JobStore } from './store/job-store';
import { describeDatabaseUrl, openStore, type Store } from './store/store';
import { connectRedisBus, type MessageBus } from './scale/bus';
import { RedisStartError } from './scale/redis';
import { relayJobEvents } from './live/job-relay';
import { publicOutputPath } from './shared-workflows';
import { startScaleOut, type ScaleOut } from './scale/scale-out';

export interface StartServerOptions {
	logger?: Logger;
	/** Don't resume unfinished jobs at start (tests that inspect them). Default: resume. */
	resumeJobs?: boolean;
	/**
	 * The handler of every non-API page, given the HTTP server (Vite's dev middleware needs it for
	 * hot reload). Default: the SvelteKit build.
	 */
	pages?: (server: Server) => Promise<NodeHandler>;
	/** Version history settings (idle time, clock, timers): tests of automatic versions. */
	versions?: SharedWorkflowsOptions['versions'];
}

export interface RunningServer {
	url: string;
	port: number;
	/** True when the built-in simulator answers enrichment calls. */
	simulated: boolean;
	jobs: JobManager;
	jobStore: JobStore;
	/** The database: SQLite in DATA_DIR, or PostgreSQL at DATABASE_URL (scale-out). */
	store: Store;
	/** The better-sqlite3 handle in embedded mode (tests read rows through it); throws on PostgreSQL. */
	readonly db: Db;
	logger: Logger;
	/** Stops taking requests and work, checkpoints running jobs, closes everything. */
	close(): Promise<void>;
}

/** How often a scale-out worker looks for stored jobs missing from the queue (server/jobs/job-manager.ts requeueLost). */
const LOST_JOB_SWEEP_MS = 30_000;

const SVELTEKIT_HANDLER = fileURLToPath(new URL('../build/handler.js', import.meta.url));

export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;

/** The SvelteKit adapter-node handler when a build exists; else a page saying how to get one. */
async function loadPageHandler(logger: Logger): Promise<NodeHandler> {
	if (existsSync(SVELTEKIT_HANDLER)) {
		const mod = (await import(pathToFileURL(SVELTEKIT_HANDLER).href)) as { handler: NodeHandler };
		logger.info('serving the SvelteKit build');
		return mod.handler;
	}
	logger.warn('no SvelteKit build found (run `npm run build`): serving the API only');
	return (_req, res) => {
		res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
		res.end('The API is running under /api. Build the web app with `npm run build` (or use `npm run dev`).\n');
	};
}

/** The answer to a request for a host name the server does not serve (see host-check.ts). */
function refuseHost(res: ServerResponse): void {
	const body = JSON.stringify({ error: { code: 'forbidden', message: HOST_NOT_ALLOWED } });
	res.writeHead(403, {
		'content-type': 'application/json; charset=utf-8',
		'content-length': Buffer.byteLength(body),
		connection: 'close'
	});
	res.end(body);
}

function notFound(res: ServerResponse): void {
	res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
	res.end('Not found\n');
}

/** Uploads cut short by a crash (`*.part`, never registered) are removed at start. */
async function removePartialUploads(dir: string): Promise<void> {
	const names = await readdir(dir).catch(() => [] as string[]);
	await Promise.all(names.filter((n) => n.endsWith('.part')).map((n) => rm(join(dir, n), { force: true })));
}

/**
 * Starts everything: database, enrichment (real API or the in-process simulator), job manager,
 * HTTP server. Resolves once listening; unfinished jobs from an earlier run are queued again.
 * @example const server = await startServer({ ...loadConfig(), port: 0 }); await server.close()
 */
export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
	const logger = options.logger ?? createLogger({ level: config.logLevel, secret: config.apiKey });
	await mkdir(config.dataDir, { recursive: true });
	// Scale-out (issue 11): Redis first, so a missing one stops the start before anything is opened.
	const scale: ScaleOut | null = config.scaleOut
		? await startScaleOut({
				redisUrl: config.scaleOut.redisUrl,
				role: config.role,
				maxConcurrentJobs: config.maxConcurrentJobs,
				rateLimits: config.rateLimits,
				trustProxy: config.trustProxy,
				logger
			})
		: null;
	await removePartialUploads(join(config.dataDir, 'uploads'));
	// Scale-out (issue 11): rooms and live feeds span the web processes through Redis pub/sub.
	let bus: MessageBus | undefined;
	if (config.scaleOut) {
		try {
			bus = await connectRedisBus({ url: config.scaleOut.redisUrl, onError: () => {} });
		} catch (err) {
			await scale?.close();
			throw err;
		}
		bus.onStatus((status) => logger[status === 'up' ? 'info' : 'warn']({ redis: status }, 'message bus (Redis) ' + status));
	}
	const databaseUrl = config.scaleOut?.databaseUrl ?? null;
	// An unreachable PostgreSQL rejects with a DatabaseStartError: main() prints its one line.
	let store: Store;
	try {
		store = await openStore(
			{ dataDir: config.dataDir, databaseUrl },
			{
				onIdleError: (err) =>
					logger.warn({ err: err.message }, 'a PostgreSQL connection was lost; the pool reconnects on the next query')
			}
		);
	} catch (err) {
		await bus?.close();
		await scale?.close();
		throw err;
	}
	if (databaseUrl) logger.info({ database: describeDatabaseUrl(databaseUrl) }, 'using PostgreSQL');
	const closers: (() => Promise<void> | void)[] = bus ? [() => bus.close()] : [];
	/** Scale-out: the key's token bucket is the fleet's, in Redis. */
	const fleetScheduler = (baseUrl: string, apiKey: string, ratePerMinute: number) =>
		scale?.scheduler(
			{ baseUrl, apiKey },
			{
				ratePerMinute,
				maxRatePerMinute: config.maxRatePerMinute,
				maxInFlight: config.maxInFlight,
				maxAttempts: config.maxAttempts,
				requestTimeoutMs: config.requestTimeoutMs
			}
		);

	let enrichment: EnrichmentServiceHandle;
	let simulated = false;
	// With a public URL, async answers come by webhook to a secret path minted per process (a
	// restart polls every unfinished task once, so webhooks to an old secret are not missed).
	const webhookSecret = randomBytes(32).toString('base64url');
	const hooks =
		config.publicUrl && config.asyncMode
			? createTaskWebhooks({ url: `${config.publicUrl}${WEBHOOK_PATH}/${webhookSecret}` })
			: undefined;
	const common = {
		db: store,
		maxInFlight: config.maxInFlight,
		asyncMode: { enrichLead: config.asyncMode },
		requestTimeoutMs: config.requestTimeoutMs,
		maxAttempts: config.maxAttempts,
		cacheTtlMs: config.cacheTtlMs,
		maxRatePerMinute: config.maxRatePerMinute,
		onNotice: (message: string) => logger.warn(message),
		webhooks: hooks,
		...(config.pollInitialMs ? { polling: { initialMs: config.pollInitialMs } } : {})
	};
	try {
		if (config.apiKey) {
			enrichment = createEnrichmentService({
				...common,
				apiKey: config.apiKey,
				baseUrl: config.baseUrl,
				rateLimitPerMinute: config.rateLimitPerMinute,
				findEmailBulk: config.findEmailBulk ?? false,
				scheduler: fleetScheduler(config.baseUrl, config.apiKey, config.rateLimitPerMinute)
			});
			logger.info({ base_url: config.baseUrl, rate_limit_per_min: config.rateLimitPerMinute }, 'using the Sixtyfour API');
		} else {
			const simulator = await startSimulator({ ...DEMO_SIMULATOR_OPTIONS, host: '127.0.0.1', port: 0 });
			closers.push(() => simulator.close());
			simulated = true;
			const rate = Math.min(config.rateLimitPerMinute, DEMO_SIMULATOR_OPTIONS.rateLimit.requests);
			enrichment = createEnrichmentService({
				...common,
				apiKey: 'simulator',
				baseUrl: simulator.url,
				rateLimitPerMinute: rate,
				findEmailBulk: config.findEmailBulk ?? true,
				scheduler: fleetScheduler(simulator.url, 'simulator', rate)
			});
			logger.warn({ simulator_url: simulator.url }, 'no SIXTYFOUR_API_KEY: enrichment answers come from the built-in simulator');
		}
	} catch (err) {
		await store.close();
		await scale?.close();
		throw err;
	}

	const jobStore = createJobStore(store);
	const uploads = createUploadStore(store);
	const ledger = await openSpendLedger(store, {
		onError: (err) => logger.error({ err }, 'could not record a charge in the spend ledger')
	});
	const budget = createSpendBudget({ ledger, limits: config.spendLimits });
	const jobs = createJobManager({
		budget,
		store: jobStore,
		dataDir: config.dataDir,
		enrichment,
		logger,
		maxConcurrentJobs: config.maxConcurrentJobs,
		defaultConcurrency: config.defaultConcurrency,
		runJob,
		runners: RUNNERS,
		createQueue: scale?.createQueue,
		// Scale-out workers put back in the line the jobs a dying web process stored but never queued.
		sweepIntervalMs: scale?.works ? LOST_JOB_SWEEP_MS : undefined
	});

	if (bus) {
		// Where jobs run, their events go on the bus: every web process's live hub hears them.
		const stopRelay = relayJobEvents({
			bus,
			subscribe: jobs.subscribe,
			workflowOf: async (jobId) => (await jobStore.get(jobId))?.workflowId ?? null,
			publicPath: publicOutputPath(config.dataDir),
			onError: (err) => logger.warn({ err }, 'could not route a job event')
		});
		closers.unshift(stopRelay);
	}

	const metrics = createMetrics({ db: store, jobs, enrichment });
	const health = createHealthCheck({
		db: store,
		// Scale-out: Redis is up when it answers and the message bus (rooms, live feeds) is connected.
		redis: scale ? async () => (await scale.ping()) && (bus?.up ?? true) : undefined,
		secrets: config.scaleOut ? [config.scaleOut.databaseUrl, config.scaleOut.redisUrl] : []
	});
	const rateLimits = scale?.rateLimits ?? createApiRateLimit({ ...config.rateLimits, trustProxy: config.trustProxy });
	/** ROLE=worker serves nothing but its probes. */
	const servesWeb = !scale || scale.role !== 'worker';
	const hosts = createHostCheck({ nodeEnv: config.nodeEnv, publicUrl: config.publicUrl, allowedOrigins: config.allowedOrigins });
	if (config.nodeEnv === 'production' && hosts.publicOrigins.length === 0) {
		logger.warn('PUBLIC_URL is not set: in production the server answers only to IP addresses and localhost');
	}
	const sharing = createSharedWorkflows({
		config,
		db: store,
		logger,
		jobs,
		jobStore,
		publicOrigins: hosts.publicOrigins,
		versions: options.versions,
		bus
	});
	metrics.attach(sharing.metrics);
	closers.unshift(() => sharing.close());

	const app = createApp({
		dataDir: config.dataDir,
		uploadLimitBytes: config.uploadLimitBytes,
		jobs,
		jobStore,
		uploads,
		logger,
		simulated,
		workflowRoutes: sharing.workflowRoutes,
		shared: sharing.shared,
		rateLimits,
		admin: { token: config.adminToken, requireForPostedRuns: config.requireAdminForPostedRuns },
		budget,
		trustProxy: config.trustProxy,
		requestModel: { asyncEnrich: config.asyncMode, webhooks: hooks !== undefined, findEmailBulk: config.findEmailBulk ?? simulated },
		rateLimitPerMinute: () => enrichment.rateLimitPerMinute?.() ?? null, // estimate's time at the rate limit (issue 12)
		webhooks: hooks ? { hooks, secret: webhookSecret } : undefined
	});
	const api = getRequestListener(app.fetch, {
		errorHandler: (err) => {
			logger.error({ err }, 'unhandled API error');
		}
	});
	let page: NodeHandler = () => {};
	const server = createServer((req, res) => {
		const url = req.url ?? '/';
		const q = url.indexOf('?');
		const [path, query] = q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
		setSecurityHeaders(res, headerScope(path, query));
		// Probes and scrapers reach these by address, whatever the public name; they hold no tokens.
		if (path === '/healthz') health.handle(req, res);
		else if (path === '/metrics') metrics.handle(req, res);
		else if (!servesWeb) notFound(res);
		else if (!hosts.allows(req.headers.host)) refuseHost(res);
		else if (path === '/api' || path.startsWith('/api/')) void api(req, res);
		else
			page(req, res, () => {
				res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
				res.end('Not found\n');
			});
	});
	// WebSocket endpoints: `/yjs/:id` (rooms) and `/live/:id` (job events), behind one gate.
	server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
		if (!servesWeb) return refuseUpgrade(socket, 404, 'not_found', 'A worker process serves no sockets');
		if (!hosts.allows(req.headers.host)) return refuseUpgrade(socket, 403, 'forbidden', HOST_NOT_ALLOWED);
		if (sharing.handleUpgrade(req, socket, head)) return;
		// Vite's hot-reload socket (dev only) is Vite's to answer.
		if (options.pages && String(req.headers['sec-websocket-protocol'] ?? '').includes('vite-hmr')) return;
		socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
	});
	server.on('clientError', (_err, socket) => {
		if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
	});

	page = options.pages ? await options.pages(server) : await loadPageHandler(logger);

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(config.port, config.host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	const port = (server.address() as AddressInfo).port;
	const host = config.host.includes(':') ? `[${config.host}]` : config.host;
	const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
	logger.info(
		{ url, data_dir: config.dataDir, max_concurrent_jobs: config.maxConcurrentJobs, simulated, ...(scale ? { role: scale.role } : {}) },
		'server listening'
	);

	// A web process of the scale-out mode runs no jobs: the workers resume them.
	if (options.resumeJobs !== false && (!scale || scale.works)) {
		const resumed = await jobs.resumeUnfinished();
		if (resumed.length > 0) logger.info({ jobs: resumed }, 'resumed unfinished jobs');
	}

	let closing: Promise<void> | null = null;
	return {
		url,
		port,
		simulated,
		jobs,
		jobStore,
		store,
		get db(): Db {
			if (!store.sqlite) throw new Error('the server runs on PostgreSQL: use `store`');
			return store.sqlite;
		},
		logger,
		close() {
			closing ??= (async () => {
				logger.info('server stopping');
				const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
				server.closeIdleConnections();
				await jobs.shutdown();
				metrics.close();
				for (const close of closers) await close();
				server.closeAllConnections();
				await stopped;
				// Redis (queue, rate limits) last of the services the requests use: a request still
				// finishing while the rooms closed must not get a 503 for want of its rate limiter.
				await scale?.close();
				await enrichment.cache.flush(); // answers are written behind: keep the last ones
				ledger.close();
				await store.close();
				logger.info('server stopped');
			})();
			return closing;
		}
	};
}

/**
 * `tsx server/index.ts`: configuration from the environment, graceful shutdown on signals.
 * `server/dev.ts` calls it with Vite's dev middleware as `pages`.
 */
export async function main(extra: Pick<StartServerOptions, 'pages'> = {}): Promise<void> {
	let config: Config;
	try {
		config = loadConfig();
	} catch (err) {
		if (err instanceof ConfigError) {
			process.stderr.write(`${err.message}\n`);
			process.exit(1);
		}
		throw err;
	}
	const logger = createLogger({ level: config.logLevel, secret: config.apiKey });
	process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
	let server: RunningServer;
	try {
		server = await startServer(config, { logger, ...extra });
	} catch (err) {
		// A data dir we cannot write, a Redis we cannot reach: the operator's to fix, one line naming it.
		const line = err instanceof RedisStartError ? err.message : describeStartupError(err, config.dataDir);
		if (line) process.stderr.write(`${line}\n`);
		else logger.fatal({ err }, 'could not start');
		process.exit(1);
	}
	let signalled = false;
	const stop = (signal: NodeJS.Signals) => {
		if (signalled) {
			logger.warn({ signal }, 'second signal: exiting now');
			process.exit(1);
		}
		signalled = true;
		logger.info({ signal }, 'shutting down: running jobs are checkpointed and resume at the next start');
		server.close().then(
			() => process.exit(0),
			(err) => {
				logger.error({ err }, 'shutdown failed');
				process.exit(1);
			}
		);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	void main();
}
