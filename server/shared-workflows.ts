/**
 * Shared workflows, always part of the server (issue 4): capability tokens, their Yjs rooms on
 * `/yjs/:id`, the live job channel on `/live/:id`, and the routes that create, read and export
 * workflows. `startServer` builds this once the database and the job manager exist; index.ts only
 * hands it upgrades. Both socket endpoints sit behind the same gate (sockets/upgrade-gate.ts) with
 * the same `authorize` and Origin rule, so a given link gets the same answer on either.
 */
import { isAbsolute, relative } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { SharedWorkflows } from './app';
import { createCollabServer } from './collab';
import type { Config } from './config';
import type { JobManager } from './jobs/job-manager';
import { createLiveHub } from './live/live-hub';
import { forwardJobEvents } from './live/job-feed';
import { createLiveJobsLoader } from './live/load-live-jobs';
import type { Logger } from './log';
import type { MetricsSources } from './metrics';
import { collabWorkflowDocs } from './routes/workflow-docs';
import { createWorkflowRoutes, type WorkflowRoutes } from './routes/workflows';
import type { MessageBus } from './scale/bus';
import type { Authorize, OriginRule } from './sockets/upgrade-gate';
import type { StoreHandle } from './store/store';
import type { JobStore } from './store/job-store';
import { createSqliteWorkflowsRepo } from './store/workflows-repo';
import { createSqliteVersionStore } from './store/version-store';
import { createVersionHistory, type VersionHistoryOptions } from './history/version-history';

/** The committed example workflows (whatever DATA_DIR is). */
const EXAMPLES_DIR = fileURLToPath(new URL('../data/examples', import.meta.url));

/** Stored output paths are shown relative to the data dir (`outputs/…`), never the server's layout. */
export function publicOutputPath(dataDir: string) {
	return (path: string | null): string | null => {
		if (!path) return null;
		if (!isAbsolute(path)) return path;
		const inside = relative(dataDir, path);
		return inside.startsWith('..') ? null : inside;
	};
}

export interface SharedWorkflowsOptions {
	config: Config;
	db: StoreHandle;
	logger: Logger;
	jobs: JobManager;
	jobStore: JobStore;
	/** Origins the operator configured (PUBLIC_URL's, then ALLOWED_ORIGINS: host-check.ts). */
	publicOrigins: readonly string[];
	/** Version history settings (idle time, clock, timers); default: 30 s idle, real timers. */
	versions?: Partial<Omit<VersionHistoryOptions, 'store' | 'getDoc' | 'onError'>>;
	/**
	 * Scale-out: rooms relay through it to the other web processes, and the live hub takes job
	 * events from it (published by `relayJobEvents` wherever jobs run, not by `jobs` here).
	 */
	bus?: MessageBus;
}

export interface SharedWorkflowsServer {
	/** The server's `upgrade` listener part: true when the request was for `/yjs` or `/live` (answered then). */
	handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
	workflowRoutes: WorkflowRoutes;
	shared: SharedWorkflows;
	/** Rooms and live hub figures for `/metrics`. */
	metrics: MetricsSources;
	/** Persists the rooms and tells every socket client; before the database closes. */
	close(): Promise<void>;
}

/**
 * Builds the rooms, the live hub and the workflow routes over one workflows repository.
 * @example const sharing = createSharedWorkflows({ config, db, logger, jobs, jobStore, publicOrigins: hosts.publicOrigins })
 */
export function createSharedWorkflows(options: SharedWorkflowsOptions): SharedWorkflowsServer {
	const { config, db, logger, jobs, jobStore } = options;
	const workflows = createSqliteWorkflowsRepo(db);
	// In production a browser may only open sockets from an allowed origin: ALLOWED_ORIGINS (and
	// PUBLIC_URL) when set, else the server's own origin.
	const origins: OriginRule =
		config.allowedOrigins.length > 0
			? { allowedOrigins: [...new Set([...config.allowedOrigins, ...options.publicOrigins])] }
			: config.nodeEnv === 'production'
				? { sameOrigin: { publicOrigins: options.publicOrigins } }
				: {};
	// An unknown workflow is 401 (as for an unknown token); a workflow that exists, with a token not its own, 403.
	const authorize: Authorize = async (id, token) =>
		(await workflows.get(id)) ? ((await workflows.authorize(id, token)) ?? 'forbidden') : null;
	const { bus } = options;
	// Version history (issue 13): every stored edit is noted; a pause makes an automatic version.
	const versions = createVersionHistory({
		store: createSqliteVersionStore(db),
		getDoc: (id) => collab.getDoc(id),
		onError: (err, workflowId) => logger.warn({ err, workflowId }, 'could not record a version'),
		...options.versions
	});
	const collab = createCollabServer({
		db,
		authorize,
		...origins,
		log: logger,
		onEdit: (id, doc, author) => versions.noteEdit(id, doc, author),
		bus
	});
	const docs = collabWorkflowDocs(collab);
	const publicPath = publicOutputPath(config.dataDir);
	const hub = createLiveHub({
		authorize,
		...origins,
		loadSnapshot: createLiveJobsLoader({ store: jobStore, publicPath }),
		onError: (err, where) => logger.warn({ err, where }, 'live channel error'),
		bus
	});
	const stopFeed = bus
		? () => {}
		: forwardJobEvents({
				subscribe: jobs.subscribe,
				hub,
				workflowOf: async (jobId) => (await jobStore.get(jobId))?.workflowId ?? null,
				publicPath,
				onError: (err) => logger.warn({ err }, 'could not route a job event')
			});
	return {
		handleUpgrade: (req, socket, head) => collab.handleUpgrade(req, socket, head) || hub.handleUpgrade(req, socket, head),
		workflowRoutes: createWorkflowRoutes({ workflows, docs, examplesDir: EXAMPLES_DIR }),
		shared: { workflows, docs, versions },
		metrics: { collab, hub },
		async close() {
			stopFeed();
			await hub.close();
			await collab.close();
			// The rooms stored their last edits as they closed: their pending versions are taken now.
			await versions.flush();
		}
	};
}
