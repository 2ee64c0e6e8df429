import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { forwardJobEvents, MAX_REMEMBERED_JOBS } from '../../server/live/job-feed';
import { createLiveJobsLoader } from '../../server/live/load-live-jobs';
import { publicPath } from '../../server/jobs/job-progress';
import type { JobEvent } from '../../server/jobs/job-manager';
import { EnrichmentError, type EnrichmentService } from '../../server/enrichment/types';
import type { LiveEvent } from '../../src/lib/workflow/protocol';
import type { Workflow } from '../../src/lib/workflow/schema';
import { createTestApp, type TestApp } from '../helpers/test-app';
import { writeLeadsCsv } from '../helpers/leads-csv';
import { jobEvents, startLiveHarness, type LiveHarness } from '../helpers/live';

/** A manager-like event source: `emit` stands for the job manager publishing. */
function eventSource() {
	const listeners = new Set<(e: JobEvent) => void>();
	return {
		subscribe: (listener: (e: JobEvent) => void) => (listeners.add(listener), () => void listeners.delete(listener)),
		emit: (e: JobEvent) => listeners.forEach((l) => l(e))
	};
}

function recordingHub() {
	const published: [string, LiveEvent][] = [];
	return { published, publish: (workflowId: string, event: LiveEvent) => void published.push([workflowId, event]) };
}

describe('forwardJobEvents', () => {
	it("routes a job's events to the workflow named at creation, with a public output path", () => {
		const source = eventSource();
		const hub = recordingHub();
		forwardJobEvents({
			subscribe: source.subscribe,
			hub,
			workflowOf: async () => 'never',
			publicPath: (p) => (p ? 'outputs/x.csv' : p)
		});
		const e = jobEvents('j1');
		source.emit({ type: 'job_created', job_id: 'j1', at: 1, workflow_id: 'w1', retry_of: null });
		source.emit(e.started() as JobEvent);
		source.emit({ ...(e.finished(1) as JobEvent), output_path: '/srv/data/outputs/x.csv' } as JobEvent);
		expect(hub.published.map(([w, ev]) => [w, ev.type])).toEqual([
			['w1', 'job_created'],
			['w1', 'job_started'],
			['w1', 'job_finished']
		]);
		expect((hub.published[2][1] as Extract<LiveEvent, { type: 'job_finished' }>).output_path).toBe('outputs/x.csv');
	});

	it('does not broadcast jobs that belong to no workflow', () => {
		const source = eventSource();
		const hub = recordingHub();
		forwardJobEvents({ subscribe: source.subscribe, hub, workflowOf: async () => null });
		source.emit({ type: 'job_created', job_id: 'j1', at: 1, workflow_id: null, retry_of: null });
		source.emit(jobEvents('j1').started() as JobEvent);
		expect(hub.published).toEqual([]);
	});

	it('asks once for the workflow of a job it never saw created, keeping its events in order', async () => {
		const source = eventSource();
		const hub = recordingHub();
		const asked: string[] = [];
		let answer!: (w: string) => void;
		forwardJobEvents({
			subscribe: source.subscribe,
			hub,
			workflowOf: (jobId) => (asked.push(jobId), new Promise((resolve) => (answer = resolve)))
		});
		const e = jobEvents('resumed');
		const events = [e.started(), e.blockStarted('read'), e.progress('read', 1), e.progress('read', 2)] as JobEvent[];
		for (const event of events) source.emit(event);
		expect(hub.published).toEqual([]);
		answer('w9');
		await Promise.resolve();
		await Promise.resolve();
		source.emit(e.finished(2) as JobEvent);
		expect(asked).toEqual(['resumed']);
		expect(hub.published.map(([w]) => w)).toEqual(['w9', 'w9', 'w9', 'w9', 'w9']);
		expect(hub.published.map(([, ev]) => ev)).toEqual([...events, e.finished(2)]);
	});

	it('drops the events of a job whose workflow cannot be found, and reports why', async () => {
		const source = eventSource();
		const hub = recordingHub();
		const errors: unknown[] = [];
		forwardJobEvents({
			subscribe: source.subscribe,
			hub,
			workflowOf: async () => {
				throw new Error('store down');
			},
			onError: (err) => errors.push(err)
		});
		source.emit(jobEvents('x').started() as JobEvent);
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect(hub.published).toEqual([]);
		expect(errors).toHaveLength(1);
	});

	it('keeps a bounded memory of jobs: the oldest are forgotten, a paused one is asked about again', async () => {
		const source = eventSource();
		const hub = recordingHub();
		const asked: string[] = [];
		forwardJobEvents({ subscribe: source.subscribe, hub, workflowOf: async (jobId) => (asked.push(jobId), 'again') });
		// Jobs that never finish here (their worker vanished): one more than the feed keeps.
		for (let i = 0; i <= MAX_REMEMBERED_JOBS; i++) {
			source.emit({ type: 'job_created', job_id: `j${i}`, at: 1, workflow_id: `w${i}`, retry_of: null });
		}
		source.emit(jobEvents(`j${MAX_REMEMBERED_JOBS}`).started() as JobEvent);
		source.emit(jobEvents('j0').started() as JobEvent);
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect(asked).toEqual(['j0']); // the newest was still known; the oldest had been forgotten
		expect(hub.published.at(-1)![0]).toBe('again');

		source.emit({ type: 'job_paused', job_id: `j${MAX_REMEMBERED_JOBS}`, at: 2, message: 'budget', blocks: [] });
		source.emit(jobEvents(`j${MAX_REMEMBERED_JOBS}`).started() as JobEvent);
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect(asked).toEqual(['j0', `j${MAX_REMEMBERED_JOBS}`]);
	});

	it('stops when told to', () => {
		const source = eventSource();
		const hub = recordingHub();
		const stop = forwardJobEvents({ subscribe: source.subscribe, hub, workflowOf: async () => 'w' });
		stop();
		source.emit({ type: 'job_created', job_id: 'j1', at: 1, workflow_id: 'w1', retry_of: null });
		expect(hub.published).toEqual([]);
	});
});

describe('live channel over the real job manager', () => {
	let app: TestApp | null = null;
	let harness: LiveHarness | null = null;
	afterEach(async () => {
		await harness?.close();
		await app?.close();
		harness = app = null;
	});

	it('shows a watcher every step of a run, and a joiner after the end the same state from the store', async () => {
		const fakeEnrichment: EnrichmentService = {
			async enrichLead(request, { meter }) {
				meter.calls++;
				await new Promise((resolve) => setTimeout(resolve, 1));
				if (String(request.lead_info.name).endsWith(' 7')) throw new EnrichmentError('lead not found', 404, false);
				return {
					notes: null,
					structured_data: { title: `Title of ${request.lead_info.name}` },
					findings: [],
					references: null,
					confidence_score: 8
				};
			},
			async findEmail() {
				throw new EnrichmentError('not used', null, false);
			},
			async enrichCompany() {
				throw new EnrichmentError('not used', null, false);
			},
			async findPhone() {
				throw new EnrichmentError('not used', null, false);
			}
		};
		app = await createTestApp({ enrichment: fakeEnrichment });
		const dataDir = app.dataDir;
		await writeLeadsCsv(join(dataDir, 'samples', 'live.csv'), 300);
		const store = app.jobStore;
		const loadSnapshot = createLiveJobsLoader({ store, publicPath: (p) => publicPath(dataDir, p) });
		harness = await startLiveHarness({ loadSnapshot });
		const h = harness;
		forwardJobEvents({
			subscribe: app.jobs.subscribe,
			hub: h.hub,
			workflowOf: async (id) => (await store.get(id))?.workflowId ?? null,
			publicPath: (p) => publicPath(dataDir, p)
		});

		const watcher = h.connect(`/live/${h.workflow.id}?token=${h.workflow.viewToken}`);
		await watcher.untilType('snapshot');
		const workflow: Workflow = {
			name: 'live',
			blocks: [
				{ id: 'read', type: 'read_csv', params: { path: 'samples/live.csv' } },
				{ id: 'enrich', type: 'enrich_lead', params: { struct: { title: 'Job title' }, concurrency: 20 } },
				{ id: 'save', type: 'save_csv', params: { filename: 'live' } }
			]
		};
		const job = await app.jobs.submit({ workflow, workflowId: h.workflow.id });
		await watcher.until(() => watcher.jobs.get(job.id)?.status === 'completed', 20_000, 'the job to complete');

		const types = watcher.types();
		expect(types.slice(0, 4)).toEqual(['hello', 'snapshot', 'job_created', 'job_started']);
		expect(types.at(-1)).toBe('job_finished');
		expect(watcher.invalid).toEqual([]);
		const seen = watcher.jobs.get(job.id)!;
		expect(seen.blocks.map((b) => [b.block_id, b.status, b.rows_out])).toEqual([
			['read', 'completed', 300],
			['enrich', 'completed', 300],
			['save', 'completed', 300]
		]);
		expect(seen.row_errors.map((e) => e.row)).toEqual([7]);
		expect(seen.output_path).toMatch(/^outputs\/.+live\.csv$/);

		// The room is gone (no watcher would keep it); a new watcher's room loads from the store.
		watcher.ws.close();
		await watcher.until(() => watcher.closed !== null);
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(h.hub.stats().rooms).toBe(0);
		const joiner = h.connect(`/live/${h.workflow.id}?token=${h.workflow.viewToken}`);
		await joiner.untilType('snapshot');
		// The store's start time is the manager's, the event's is runJob's: a few ms apart.
		const [stored, live] = [joiner.jobs.get(job.id)!, watcher.jobs.get(job.id)!];
		expect(Math.abs(stored.started_at! - live.started_at!)).toBeLessThan(1_000);
		expect({ ...stored, started_at: 0 }).toEqual({ ...live, started_at: 0 });
	});
});
