/**
 * Direct calls to the app's REST API from tests: what the server itself says, to compare the UI
 * against (the rows of a job, the shared document) and to set up workflows quickly.
 */
import type { Row, WorkflowInput } from '../../../src/lib/workflow/schema';

export interface Created {
	id: string;
	edit_url: string;
	view_url: string;
	edit_token: string;
	view_token: string;
}

async function json<T>(res: Response): Promise<T> {
	if (!res.ok) throw new Error(`${res.status} ${res.url}: ${await res.text()}`);
	return (await res.json()) as T;
}

/** `POST /api/workflows`: a new workflow (empty, from an example name, or imported JSON). */
export async function createWorkflow(base: string, body: { name?: string; from?: string | WorkflowInput } = {}): Promise<Created> {
	return json(
		await fetch(`${base}/api/workflows`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body)
		})
	);
}

/** The shared document as the server holds it. */
export async function serverWorkflow(base: string, id: string, token: string): Promise<WorkflowInput> {
	const info = await json<{ workflow: WorkflowInput }>(await fetch(`${base}/api/workflows/${id}?token=${token}`));
	return info.workflow;
}

/** Every final row of a job, paged like the UI does (`token`: the job's workflow's link token). */
export async function jobRows(base: string, jobId: string, token: string): Promise<{ columns: string[]; rows: Row[] }> {
	const rows: Row[] = [];
	let columns: string[];
	for (let offset = 0; ; offset += 1000) {
		const page = await json<{ rows: Row[]; total: number; columns: string[] }>(
			await fetch(`${base}/api/workflows/jobs/${jobId}/rows?offset=${offset}&limit=1000`, {
				headers: { authorization: `Bearer ${token}` }
			})
		);
		columns = page.columns;
		rows.push(...page.rows);
		if (rows.length >= page.total || page.rows.length === 0) return { columns, rows };
	}
}
