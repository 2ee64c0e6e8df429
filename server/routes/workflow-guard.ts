/**
 * Token checks for what belongs to a shared workflow — its runs, jobs, uploads and outputs — in
 * the routes that are not mounted under `/:id` (so `requireWorkflowAccess` cannot pick the id from
 * the path). Same answers as that middleware: unknown workflow 404, no token 401, a wrong token or a
 * view token where editing is needed 403. Anonymous resources (a job posted as raw JSON, an upload
 * without a workflow) carry no workflow and pass: their unguessable id is their capability.
 */
import type { Context } from 'hono';
import { accessFor, allows, ID_PATTERN, readToken, type Access, type WorkflowLookup } from '../access';
import { HttpError, notFound } from '../http-error';

export interface WorkflowGuard {
	/**
	 * Throws unless `token` grants `level` on workflow `workflowId`; returns the access it grants.
	 * @example await guard.require(job.workflowId, requestToken(c), 'edit')
	 */
	require(workflowId: string, token: string | null, level: Access): Promise<Access>;
	/** Like `require` for something that may belong to no workflow (`null` passes unchecked). */
	requireIfOwned(workflowId: string | null, token: string | null, level: Access): Promise<void>;
}

/** The capability token a request carries (`Authorization: Bearer …` or `?token=`), or null. */
export function requestToken(c: Context): string | null {
	return readToken(c.req.url, c.req.header('authorization'));
}

/**
 * Creates the guard over the workflows repository. Without one (a server with no shared workflows)
 * every owned resource is refused as unknown, never let through.
 */
export function createWorkflowGuard(workflows: WorkflowLookup | undefined): WorkflowGuard {
	async function lookup(workflowId: string) {
		if (!workflows || !ID_PATTERN.test(workflowId)) return null;
		return workflows.get(workflowId);
	}

	const guard: WorkflowGuard = {
		async require(workflowId, token, level) {
			const workflow = await lookup(workflowId);
			if (!workflow) throw notFound('Workflow');
			if (!token) throw new HttpError(401, 'unauthorized', 'This workflow needs its link token (?token=… or a Bearer token)');
			const access = accessFor(workflow, token);
			if (!access) throw new HttpError(403, 'forbidden', 'This link token is not valid for this workflow');
			if (!allows(access, level)) throw new HttpError(403, 'forbidden', 'This is a view-only link: it cannot change anything');
			return access;
		},
		async requireIfOwned(workflowId, token, level) {
			if (workflowId !== null) await guard.require(workflowId, token, level);
		}
	};
	return guard;
}
