/**
 * The state of one open workflow editor, handed to every component of the page by context: the
 * shared document session, the live job feed, what we know about CSV sources, the column-flow
 * analysis of the current document, and which job the run panel shows.
 */
import { createContext } from 'svelte';
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import { ApiError } from '$lib/api/http';
import {
	describeSource,
	getJob,
	getWorkflow,
	listJobs,
	type Access,
	type JobProgress,
	type JobSummary,
	type SourceReadParams,
	type UploadResult
} from '$lib/api/endpoints';
import { CollabSession } from '$lib/collab/session.svelte';
import { LiveFeed } from '$lib/live/live-feed.svelte';
import { definitionOf } from '$lib/workflow/blocks';
import { analyzeColumns, type Problem } from '$lib/workflow/columns';
import type { LiveJob } from '$lib/workflow/protocol';

export interface EditorOptions {
	workflowId: string;
	token: string;
	access: Access;
	/** The read-only link's token, when we know it (the creator does). */
	viewToken: string | null;
	user: { name: string; colour: string };
}

/**
 * A CSV source as the editor knows it: columns for the analysis, a few rows to show, how it was
 * read; `read_as` keys the block's delimiter/encoding/sheet it was read with ('' = detected).
 */
export type SourceInfo = UploadResult & { read_as?: string };

/** The read params of the Read CSV block on `path`, and a key for them ('' when all are detected). */
function readParamsOf(workflow: { blocks: { type: string; params: unknown }[] }, path: string): { how: SourceReadParams; key: string } {
	const block = workflow.blocks.find((b) => {
		const pathParam = definitionOf(b.type)?.source?.pathParam;
		return pathParam !== undefined && (b.params as Record<string, unknown>)[pathParam] === path;
	});
	const p = (block?.params ?? {}) as Record<string, unknown>;
	const pick = (v: unknown) => (typeof v === 'string' && v !== '' && v !== 'auto' ? v : undefined);
	const how: SourceReadParams = { delimiter: pick(p.delimiter), encoding: pick(p.encoding), sheet: pick(p.sheet) };
	const key = how.delimiter || how.encoding || how.sheet ? JSON.stringify([how.delimiter, how.encoding, how.sheet]) : '';
	return { how, key };
}

export class Editor {
	readonly workflowId: string;
	readonly token: string;
	readonly access: Access;
	readonly readOnly: boolean;
	readonly viewToken: string | null;
	readonly session: CollabSession;
	readonly live: LiveFeed;
	/** CSV sources by `read_csv.path`. */
	readonly sources = new SvelteMap<string, SourceInfo>();

	/** The job the run panel and the cards show (null: the newest). */
	selectedJobId = $state<string | null>(null);
	/** Which tab of the centre column is open. */
	tab = $state<'workflow' | 'results'>('workflow');
	/** A block to scroll to and focus (after an add or a keyboard move), and which control. */
	reveal = $state<{ id: string; focus?: string } | null>(null);
	/**
	 * The run panel's Run, for the phone run bar (RunBar.svelte): its label, whether it may run,
	 * a one-line state, and the action itself. Set by RunControls; null in a view-only editor.
	 */
	runAction = $state.raw<{ label: string; enabled: boolean; summary: string; run: () => void; showProblem: (() => void) | null } | null>(
		null
	);
	/** Cards folded by this person (local only). */
	readonly collapsed = new SvelteSet<string>();

	/** Column flow of the current document: inputs, outputs and problems of every block. */
	analysis = $derived.by(() => analyzeColumns(this.session.workflow, { sourceColumns: (path) => this.#columnsOf(path) }));

	/**
	 * Jobs the live feed does not carry (it is down, or the job is older than its snapshot), read
	 * from the REST API instead while they are shown.
	 */
	readonly #polled = new SvelteMap<string, LiveJob>();

	/** Runs older than the live feed's recent ones, read from the REST history on request. */
	older = $state.raw<JobSummary[]>([]);
	/** How many runs the workflow has in all (null until the history was read). */
	runCount = $state<number | null>(null);

	/** The job shown: the selected one, else the newest. */
	job = $derived.by(
		(): LiveJob | undefined =>
			this.live.job(this.selectedJobId) ??
			(this.selectedJobId ? this.#polled.get(this.selectedJobId) : undefined) ??
			this.live.jobs[0]
	);

	#requested = new Set<string>();

	constructor(options: EditorOptions) {
		this.workflowId = options.workflowId;
		this.token = options.token;
		this.access = options.access;
		this.readOnly = options.access !== 'edit';
		this.viewToken = options.viewToken;
		const probeAccess = () => this.#probeAccess();
		this.session = new CollabSession({
			workflowId: options.workflowId,
			token: options.token,
			readOnly: this.readOnly,
			user: options.user,
			probeAccess
		});
		this.live = new LiveFeed({ workflowId: options.workflowId, token: options.token, probeAccess });
		this.#stopPolling = $effect.root(() => {
			$effect(() => this.#pollSelected(this.selectedJobId));
		});
	}

	#stopPolling: () => void;

	/** Polls a selected job the live feed does not know, until it finishes or the feed has it. */
	#pollSelected(jobId: string | null): (() => void) | void {
		if (!jobId) return;
		let stopped = false;
		let finalSeen = 0;
		let timer: ReturnType<typeof setTimeout>;
		const tick = async () => {
			if (stopped) return;
			if (!this.live.job(jobId) && navigator.onLine) {
				try {
					const progress = await getJob(jobId, this.token);
					if (stopped) return;
					this.#polled.set(jobId, toLiveJob(progress));
					// Read a finished job once more: its last block results may land just after its status.
					if (progress.status !== 'pending' && progress.status !== 'running' && ++finalSeen > 1) return;
				} catch {
					/* keep trying: the server may be restarting */
				}
			}
			timer = setTimeout(tick, 1_000);
		};
		timer = setTimeout(tick, 300);
		return () => {
			stopped = true;
			clearTimeout(timer);
		};
	}

	/** Problems of one block (optionally only those about one param, e.g. `expression`). */
	problemsOf(blockId: string, param?: string): Problem[] {
		const entry = this.analysis.blocks.find((b) => b.block_id === blockId);
		if (!entry) return [];
		if (param === undefined) return entry.problems;
		return entry.problems.filter((p) => p.path.includes(`.params.${param}`));
	}

	/** Columns available as input of a block (null while the source's columns are unknown). */
	inputColumnsOf(blockId: string): string[] | null {
		return this.analysis.blocks.find((b) => b.block_id === blockId)?.input ?? null;
	}

	/** Reads the next page of the workflow's run history (newest first) beyond what is shown. */
	async loadHistory(limit = 20): Promise<void> {
		const known = new Set(this.live.jobs.map((j) => j.job_id));
		const page = await listJobs(this.workflowId, this.token, { offset: this.older.length + known.size, limit });
		this.runCount = page.total;
		const seen = new Set([...known, ...this.older.map((j) => j.job_id)]);
		this.older = [...this.older, ...page.jobs.filter((j) => !seen.has(j.job_id))];
	}

	/** Asks the block list to bring a block into view (and focus one of its controls). */
	revealBlock(id: string, focus?: string): void {
		this.reveal = { id, focus };
	}

	/** Records what an upload told us about a file. */
	rememberSource(info: SourceInfo): void {
		this.sources.set(info.file_path, info);
	}

	/** Display names of uploaded files by path, for summaries. */
	get fileNames(): Map<string, string> {
		const names = new Map<string, string>();
		for (const [path, info] of this.sources) if (info.original_name) names.set(path, info.original_name);
		return names;
	}

	destroy(): void {
		this.#stopPolling();
		this.session.destroy();
		this.live.close();
	}

	/**
	 * Columns of a source: what an upload told us, else the server's description (asked once),
	 * else the columns a finished run's Read CSV reported.
	 */
	#columnsOf(path: string): string[] | null {
		const known = this.sources.get(path);
		if (!path.trim()) return known?.columns ?? null;
		// Read as the block says: a delimiter, encoding or sheet chosen by hand asks the server again.
		const { how, key } = readParamsOf(this.session.workflow, path);
		if (known && (known.read_as ?? '') === key) return known.columns;
		if (!this.#requested.has(`${path}\n${key}`)) {
			this.#requested.add(`${path}\n${key}`);
			describeSource(path, this.token, how).then(
				(info) => {
					if (!info) return;
					const name = info.original_name ?? this.sources.get(path)?.original_name;
					// Only if the block still reads it this way (a later change asked again).
					if (readParamsOf(this.session.workflow, path).key !== key) return;
					this.sources.set(path, { ...info, original_name: name, read_as: key });
					// Another reading of this path may be asked for again later (switching back).
					for (const r of this.#requested) if (r.startsWith(`${path}\n`) && r !== `${path}\n${key}`) this.#requested.delete(r);
				},
				() => {}
			);
		}
		if (known) return known.columns;
		for (const job of [...this.live.jobs, ...this.#polled.values()]) {
			const read = job.blocks.find((b) => definitionOf(b.block_type)?.source && b.columns.length > 0);
			const block = this.session.workflow.blocks.find((b) => b.id === read?.block_id);
			const pathParam = definitionOf(block?.type)?.source?.pathParam;
			if (read && block && pathParam && (block.params as Record<string, unknown>)[pathParam] === path) return read.columns;
		}
		return null;
	}

	/** Why the server refuses this link (null when it does not, or cannot be reached). */
	async #probeAccess(): Promise<string | null> {
		if (!navigator.onLine) return null;
		try {
			await getWorkflow(this.workflowId, this.token);
			return null;
		} catch (e) {
			if (e instanceof ApiError && [401, 403, 404].includes(e.status)) return linkRefusal(e.status);
			return null;
		}
	}
}

/** A job read over REST in the live feed's shape. */
function toLiveJob(p: JobProgress): LiveJob {
	const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);
	return {
		job_id: p.job_id,
		status: p.status,
		created_at: ms(p.created_at),
		started_at: ms(p.started_at),
		finished_at: ms(p.finished_at),
		error: p.error,
		output_path: p.output_path,
		retry_of: p.retry_of,
		blocks: p.results,
		row_errors: []
	};
}

/** What to tell someone whose link the server refuses. */
export function linkRefusal(status: number): string {
	if (status === 404) return 'This workflow does not exist (or was deleted).';
	if (status === 401) return 'This link has no access token. Ask for the full link.';
	return 'This link is not valid for this workflow. Ask for a new link.';
}

const [getEditor, setEditor] = createContext<Editor>();
export { getEditor, setEditor };
