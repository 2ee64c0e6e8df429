/**
 * The workflow routes' `WorkflowDocs` over the collaboration server: a new workflow's content is
 * written into its room's document (persisted and relayed like any edit), and a snapshot is read
 * from the live document, so GET and export show exactly what people see in the editor.
 */
import type * as Y from 'yjs';
import { docToWorkflow, workflowToDoc } from '../../src/lib/workflow/doc';
import { RelayUnavailableError } from '../collab/rooms';
import { HttpError } from '../http-error';
import type { WorkflowDocs } from './workflows';

/** What the adapter needs of the collab server (`CollabServer` has it). */
export interface DocSource {
	getDoc(workflowId: string): Promise<Y.Doc>;
}

/**
 * @example createWorkflowRoutes({ workflows, docs: collabWorkflowDocs(collab), examplesDir })
 */
export function collabWorkflowDocs(collab: DocSource): WorkflowDocs {
	// Scaled out, a room cannot be loaded while Redis is away: a 503 to retry, not a 500.
	const getDoc = (id: string) =>
		collab.getDoc(id).catch((error: unknown) => {
			if (error instanceof RelayUnavailableError) {
				throw new HttpError(503, 'unavailable', 'The collaboration relay (Redis) is unavailable; retry shortly');
			}
			throw error;
		});
	return {
		async createDoc(id, workflow) {
			workflowToDoc(workflow, await getDoc(id));
		},
		async snapshot(id) {
			return docToWorkflow(await getDoc(id));
		}
	};
}
