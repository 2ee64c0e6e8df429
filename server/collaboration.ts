/**
 * Issue 4 plugged into the server: shared workflows (capability tokens), their Yjs rooms on
 * `/yjs/:id`, the live job channel on `/live/:id`, and the routes that create, read and export
 * workflows. One `ServerExtension`, so index.ts stays transport plumbing.
 */
import { isAbsolute, relative } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createCollabServer } from './collab';
import type { ServerContext, ServerExtension } from './index';
import { createLiveHub } from './live/live-hub';
import { refuseUpgrade } from './live/upgrade-refusal';
import { forwardJobEvents } from './live/job-feed';
import { createLiveJobsLoader } from './live/load-live-jobs';
import { collabWorkflowDocs } from './routes/workflow-docs';
import { createWorkflowRoutes } from './routes/workflows';
import { createSqliteWorkflowsRepo } from './store/workflows-repo';

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

/**
 * A request without `Origin` (not a browser) passes; a browser's must name this server's host, or
 * be one of `publicOrigins` (PUBLIC_URL behind a proxy that rewrites Host). Comparing with Host is
 * sound only because index.ts has already refused a Host the operator did not configure (a
 * DNS-rebound name: see host-check.ts).
 */
export function isSameOrigin(req: IncomingMessage, publicOrigins: readonly string[] = []): boolean {
	const origin = req.headers.origin;
	if (origin === undefined) return true;
	try {
		const url = new URL(origin);
		return url.host === req.headers.host || publicOrigins.includes(url.origin);
	} catch {
		return false;
	}
}

export function collaboration(context: ServerContext): ServerExtension {
	const { config, db, logger, jobs, jobStore } = context;
	const workflows = createSqliteWorkflowsRepo(db);
	// PUBLIC_URL's origin is always among the listed ones (a page served there opens sockets there).
	const publicOrigins = config.publicUrl ? [new URL(config.publicUrl).origin] : [];
	const allowedOrigins = config.allowedOrigins.length > 0 ? [...config.allowedOrigins, ...publicOrigins] : undefined;
	const collab = createCollabServer({
		db,
		allowedOrigins,
		authorize: async (id, token) => (await workflows.get(id)) ? ((await workflows.authorize(id, token)) ?? 'forbidden') : null,
		log: logger
	});
	const docs = collabWorkflowDocs(collab);
	const publicPath = publicOutputPath(config.dataDir);
	const hub = createLiveHub({
		authorize: (id, token) => workflows.authorize(id, token),
		loadSnapshot: createLiveJobsLoader({ store: jobStore, publicPath }),
		allowedOrigins,
		onError: (err, where) => logger.warn({ err, where }, 'live channel error')
	});
	const stopFeed = forwardJobEvents({
		subscribe: jobs.subscribe,
		hub,
		workflowOf: async (jobId) => (await jobStore.get(jobId))?.workflowId ?? null,
		publicPath,
		onError: (err) => logger.warn({ err }, 'could not route a job event')
	});
	// In production a browser may only open sockets from an allowed origin: ALLOWED_ORIGINS (and
	// PUBLIC_URL) when set (the socket servers check it), else the server's own origin.
	const sameOriginOnly = config.nodeEnv === 'production' && !allowedOrigins;
	const guarded =
		(handle: (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown) =>
		(req: IncomingMessage, socket: Duplex, head: Buffer) => {
			if (sameOriginOnly && !isSameOrigin(req, publicOrigins)) return refuseUpgrade(socket, 403, 'forbidden', 'Origin not allowed');
			void handle(req, socket, head);
		};
	return {
		upgrades: {
			'/yjs/': guarded((req, socket, head) => collab.handleUpgrade(req, socket, head)),
			'/live/': guarded((req, socket, head) => hub.handleUpgrade(req, socket, head))
		},
		workflowRoutes: createWorkflowRoutes({ workflows, docs, examplesDir: EXAMPLES_DIR }),
		shared: { workflows, docs },
		metrics: { collab, hub },
		async close() {
			stopFeed();
			await hub.close();
			await collab.close();
		}
	};
}
