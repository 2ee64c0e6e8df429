/**
 * The full backend for browser tests and UI development: the server with shared-workflow routes,
 * Yjs rooms (`/yjs/`) and live job events (`/live/`) wired in, on the simulator.
 * Until server/index.ts wires these extensions itself, this is the one place that does.
 *
 * Run standalone (for `vite dev`, which proxies to it): `PORT=3100 DATA_DIR=/tmp/x tsx tests/e2e/helpers/backend.ts`
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../../../server/config';
import { startServer, type RunningServer, type ServerContext, type ServerExtension } from '../../../server/index';
import { createCollabServer } from '../../../server/collab/index';
import { createLiveHub } from '../../../server/live/live-hub';
import { forwardJobEvents } from '../../../server/live/job-feed';
import { createLiveJobsLoader } from '../../../server/live/load-live-jobs';
import { createWorkflowRoutes } from '../../../server/routes/workflows';
import { createSqliteWorkflowsRepo } from '../../../server/store/workflows-repo';
import { publicPath } from '../../../server/jobs/job-progress';
import { docToWorkflow, workflowToDoc } from '../../../src/lib/workflow/doc';

/** The collaboration and live-progress extension of the server. */
export async function collabExtension(ctx: ServerContext): Promise<ServerExtension> {
	const workflows = createSqliteWorkflowsRepo(ctx.db);
	const authorize = (id: string, token: string) => workflows.authorize(id, token);
	const collab = createCollabServer({ db: ctx.db, authorize });
	const hub = createLiveHub({
		authorize,
		loadSnapshot: createLiveJobsLoader({ store: ctx.jobStore, publicPath: (p) => publicPath(ctx.config.dataDir, p) })
	});
	const stop = forwardJobEvents({
		subscribe: (listener) => ctx.jobs.subscribe(listener as (e: unknown) => void as never),
		hub,
		workflowOf: async (id) => (await ctx.jobStore.get(id))?.workflowId ?? null,
		publicPath: (p) => publicPath(ctx.config.dataDir, p)
	});
	const workflowRoutes = createWorkflowRoutes({
		workflows,
		examplesDir: fileURLToPath(new URL('../../../data/examples', import.meta.url)),
		docs: {
			async createDoc(id, workflow) {
				workflowToDoc(workflow, await collab.getDoc(id));
			},
			async snapshot(id) {
				return docToWorkflow(await collab.getDoc(id));
			}
		}
	});
	return {
		upgrades: {
			'/yjs/': (req, socket, head) => void collab.handleUpgrade(req, socket, head),
			'/live/': (req, socket, head) => void hub.handleUpgrade(req, socket, head)
		},
		workflowRoutes: workflowRoutes as never,
		async close() {
			stop();
			await hub.close();
			await collab.close();
		}
	};
}

/** Starts the whole backend on `config` (port 0 for tests). */
export function startBackend(config: Config): Promise<RunningServer> {
	return startServer(config, { extensions: [collabExtension] });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	const server = await startBackend(loadConfig());
	process.stdout.write(`backend on ${server.url}\n`);
	const stop = () => void server.close().then(() => process.exit(0));
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}
