/**
 * The repositories over the database (issue 11), run on every backend of testBackends(): SQLite
 * always, PostgreSQL under `npm run test:scale`. Same assertions for both: one set of queries.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Row, Workflow } from '../../src/lib/workflow/schema';
import type { RunEvent } from '../../server/engine/types';
import type { RowCell } from '../../src/lib/workflow/protocol';
import { createJobStore } from '../../server/store/sqlite-job-store';
import { createSpendLedger } from '../../server/store/spend-ledger';
import type { Store } from '../../server/store/store';
import { createUploadStore } from '../../server/store/upload-store';
import { createVersionStore } from '../../server/store/version-store';
import { createWorkflowsRepo } from '../../server/store/workflows-repo';
import { testBackends } from '../helpers/backends';

const WORKFLOW = { name: 'w', blocks: [] } as unknown as Workflow;
const OPTIONS = { limit: null } as never;
/** A ms timestamp past 2³¹ (INTEGER would overflow in PostgreSQL; BIGINT must come back as a number). */
const T = 1_765_000_000_000;
const event = (n: number) => ({ type: 'job_started', n }) as unknown as RunEvent;

describe.each(testBackends())('the repositories on $name', (backend) => {
	let store: Store;
	beforeEach(async () => {
		store = await backend.open();
	});
	afterAll(() => backend.cleanup());

	describe('jobs', () => {
		it('creates, reads back numbers as numbers, and lists newest first (ties in insertion order)', async () => {
			const jobs = createJobStore(store);
			const a = await jobs.create({ id: 'a', workflow: WORKFLOW, options: OPTIONS, createdAt: T });
			expect(a).toMatchObject({
				id: 'a',
				status: 'pending',
				rowCount: 0,
				createdAt: T,
				owner: null,
				workflowId: null,
				columns: null
			});
			expect(typeof a.createdAt).toBe('number');
			await jobs.create({ id: 'b', workflowId: 'wf1', workflow: WORKFLOW, options: OPTIONS, createdAt: T });
			await jobs.create({ id: 'c', workflowId: 'wf1', owner: 'client:x', workflow: WORKFLOW, options: OPTIONS, createdAt: T + 1 });
			expect((await jobs.list({ offset: 0, limit: 10 })).jobs.map((j) => j.id)).toEqual(['c', 'b', 'a']);
			expect(await jobs.list({ offset: 1, limit: 1 })).toMatchObject({ total: 3, jobs: [{ id: 'b', owner: 'wf1' }] });
			expect((await jobs.list({ offset: 0, limit: 10, workflowId: 'wf1' })).jobs.map((j) => j.id)).toEqual(['c', 'b']);
			expect(await jobs.list({ offset: 0, limit: 10, workflowId: null })).toMatchObject({ total: 1, jobs: [{ id: 'a' }] });
			expect(await jobs.list({ offset: 0, limit: 10, workflowId: 'nope' })).toEqual({ jobs: [], total: 0 });
			expect(await jobs.get('missing')).toBeNull();
		});

		it('updates, transitions only from the given states, and lists the unfinished oldest first', async () => {
			const jobs = createJobStore(store);
			await jobs.create({ id: 'a', workflow: WORKFLOW, options: OPTIONS, createdAt: T });
			await jobs.create({ id: 'b', workflow: WORKFLOW, options: OPTIONS, createdAt: T + 5 });
			await jobs.update('a', { status: 'running', startedAt: T + 1, columns: ['x', 'y'], currentBlock: 'b1' });
			await jobs.update('a', {});
			expect(await jobs.get('a')).toMatchObject({ status: 'running', startedAt: T + 1, columns: ['x', 'y'], currentBlock: 'b1' });
			expect((await jobs.listUnfinished()).map((j) => j.id)).toEqual(['a', 'b']);
			expect(await jobs.transition('a', ['pending'], { status: 'cancelled' })).toBe(false);
			expect(await jobs.transition('a', ['pending', 'running'], { status: 'completed', finishedAt: T + 9 })).toBe(true);
			expect(await jobs.get('a')).toMatchObject({ status: 'completed', finishedAt: T + 9 });
			expect((await jobs.listUnfinished()).map((j) => j.id)).toEqual(['b']);
		});

		it('fences a transition on the run it is for (startedAt): a worker that lost the job writes nothing', async () => {
			const jobs = createJobStore(store);
			await jobs.create({ id: 'f', workflow: WORKFLOW, options: OPTIONS, createdAt: T });
			// Never started: the fence is null (IS NULL, not = NULL).
			expect(await jobs.transition('f', ['pending'], { status: 'running', startedAt: T + 1 }, { startedAt: T })).toBe(false);
			expect(await jobs.transition('f', ['pending'], { status: 'running', startedAt: T + 1 }, { startedAt: null })).toBe(true);
			// Another worker took it over (a new run, a new startedAt): the first one's finish is refused.
			expect(await jobs.transition('f', ['running'], { status: 'running', startedAt: T + 2 }, { startedAt: T + 1 })).toBe(true);
			expect(await jobs.transition('f', ['running'], { status: 'failed', error: 'lost' }, { startedAt: T + 1 })).toBe(false);
			expect(await jobs.get('f')).toMatchObject({ status: 'running', startedAt: T + 2, error: null });
			expect(await jobs.transition('f', ['running'], { status: 'completed', finishedAt: T + 3 }, { startedAt: T + 2 })).toBe(true);
			expect(await jobs.get('f')).toMatchObject({ status: 'completed', startedAt: T + 2, finishedAt: T + 3 });
		});

		it('keeps the grid cells (issue 12): latest per row and block, by rows, listed by block/state/search, counted, reset', async () => {
			const jobs = createJobStore(store);
			await jobs.create({ id: 'g', workflow: WORKFLOW, options: OPTIONS, createdAt: T });
			await jobs.saveCells('g', []);
			// 1,200 rows read (more than one multi-row insert), the API block's states over them.
			const read: RowCell[] = Array.from({ length: 1_200 }, (_, row) => ({
				row,
				block_id: 'read',
				state: 'done',
				values: {
					name: row === 42 ? 'Ada_Lovelace 100%' : `Lead ${row}`,
					quote: row === 7 ? 'say "hi"' : '',
					school: row === 9 ? 'École Polytechnique' : null
				}
			}));
			await jobs.saveCells('g', read);
			await jobs.saveCells('g', [
				{ row: 3, block_id: 'enrich', state: 'running' },
				{ row: 5, block_id: 'enrich', state: 'running' },
				{ row: 3, block_id: 'enrich', state: 'error', error: 'HTTP 500' }, // later in one batch wins
				{ row: 1_100, block_id: 'enrich', state: 'done', cached: true, values: { title: 'CTO' } }
			]);
			await jobs.saveCells('g', [{ row: 5, block_id: 'enrich', state: 'dropped' }]); // a later batch replaces
			const cells = await jobs.readCells('g', [3, 5, 1_100, 5_000]);
			const byKey = Object.fromEntries(cells.map((c) => [`${c.row}/${c.block_id}`, c]));
			expect(Object.keys(byKey).sort()).toEqual(['1100/enrich', '1100/read', '3/enrich', '3/read', '5/enrich', '5/read']);
			expect(byKey['3/enrich']).toEqual({ row: 3, block_id: 'enrich', state: 'error', error: 'HTTP 500' });
			expect(byKey['5/enrich']).toEqual({ row: 5, block_id: 'enrich', state: 'dropped' });
			expect(byKey['1100/enrich']).toEqual({ row: 1_100, block_id: 'enrich', state: 'done', cached: true, values: { title: 'CTO' } });
			expect(byKey['3/read']).toEqual(read[3]);
			// More rows than one IN list holds.
			expect(
				await jobs.readCells(
					'g',
					Array.from({ length: 1_200 }, (_, i) => i)
				)
			).toHaveLength(1_203);
			expect(await jobs.readCells('g', [])).toEqual([]);

			expect(await jobs.listCellRows('g', { state: 'error' })).toEqual([3]);
			expect(await jobs.listCellRows('g', { blockId: 'enrich' })).toEqual([3, 5, 1_100]);
			expect(await jobs.listCellRows('g', { blockId: 'enrich', state: 'done' })).toEqual([1_100]);
			expect((await jobs.listCellRows('g', {})).length).toBe(1_200); // distinct rows
			// Search: case-insensitive for ASCII on both, LIKE's wildcards and JSON's escapes taken literally.
			expect(await jobs.listCellRows('g', { search: 'ada_LOVELACE' })).toEqual([42]);
			expect(await jobs.listCellRows('g', { search: '100%' })).toEqual([42]);
			expect(await jobs.listCellRows('g', { search: 'a_l' })).toEqual([42]);
			expect(await jobs.listCellRows('g', { search: '_' })).toEqual([42]);
			expect(await jobs.listCellRows('g', { search: 'say "hi"' })).toEqual([7]);
			expect(await jobs.listCellRows('g', { search: 'cto', blockId: 'enrich' })).toEqual([1_100]);
			expect(await jobs.listCellRows('g', { search: 'nobody' })).toEqual([]);
			expect(await jobs.listCellRows('g', { search: '' })).toHaveLength(1_200);
			// Only values and errors are searched: not the stored JSON's keys or states.
			for (const word of ['done', 'values', 'state', 'error', 'cached', 'true', '":"', '{']) {
				expect(await jobs.listCellRows('g', { search: word }), word).toEqual([]);
			}
			expect(await jobs.listCellRows('g', { search: 'http 5' })).toEqual([3]); // an error's reason is
			expect(await jobs.listCellRows('g', { search: 'ÉCOLE' })).toEqual([9]); // beyond ASCII, case-folded

			expect(await jobs.countCellRows('g', 'read')).toEqual({ count: 1_200, max: 1_199 });
			expect(await jobs.countCellRows('g', 'enrich')).toEqual({ count: 3, max: 1_100 });
			expect(await jobs.countCellRows('g', 'nope')).toEqual({ count: 0, max: -1 });
			expect(await jobs.countCellRows('other', 'read')).toEqual({ count: 0, max: -1 });

			await jobs.resetProgress('g');
			expect(await jobs.readCells('g', [3])).toEqual([]);
			expect(await jobs.countCellRows('g', 'read')).toEqual({ count: 0, max: -1 });
		});

		it('keeps blocks, rows (with error paging) and events, and forgets them on reset', async () => {
			const jobs = createJobStore(store);
			await jobs.create({ id: 'j', workflow: WORKFLOW, options: OPTIONS, createdAt: T });
			await jobs.saveBlock('j', 1, { block_id: 'b2', rows_out: 1 } as never);
			await jobs.saveBlock('j', 0, { block_id: 'b1', rows_out: 1 } as never);
			await jobs.saveBlock('j', 0, { block_id: 'b1', rows_out: 2 } as never);
			expect(await jobs.listBlocks('j')).toEqual([
				{ block_id: 'b1', rows_out: 2 },
				{ block_id: 'b2', rows_out: 1 }
			]);
			const rows: Row[] = Array.from({ length: 1_203 }, (_, i) => ({ n: String(i), _error: i % 100 === 7 ? `bad ${i}` : '' }));
			expect(await jobs.appendRows('j', 0, rows.slice(0, 1_000))).toBe(1_000);
			expect(await jobs.appendRows('j', 1_000, rows.slice(1_000))).toBe(1_203);
			expect(await jobs.appendRows('j', 1_202, [{ n: 'again', _error: '' }])).toBe(1_203); // a replayed batch replaces
			expect((await jobs.get('j'))?.rowCount).toBe(1_203);
			expect(await jobs.readRows('j', 998, 3)).toEqual([rows[998], rows[999], rows[1_000]]);
			expect(await jobs.readRows('j', 1_202, 5)).toEqual([{ n: 'again', _error: '' }]);
			expect(await jobs.countErrorRows('j')).toBe(12);
			expect((await jobs.readErrorRows('j', 10, 5)).map((r) => r.n)).toEqual(['1007', '1107']);
			// Events numbered one after another, also when appended all at once.
			const seqs = await Promise.all([1, 2, 3, 4, 5].map((n) => jobs.appendEvent('j', event(n))));
			expect(seqs).toEqual([1, 2, 3, 4, 5]);
			expect(await jobs.listEvents('j', 3)).toEqual([
				{ seq: 4, event: event(4) },
				{ seq: 5, event: event(5) }
			]);
			expect((await jobs.listEvents('j', 0, 2)).map((e) => e.seq)).toEqual([1, 2]);
			await jobs.resetProgress('j');
			expect(await jobs.listBlocks('j')).toEqual([]);
			expect(await jobs.readRows('j', 0, 10)).toEqual([]);
			expect(await jobs.listEvents('j')).toEqual([]);
			expect(await jobs.get('j')).toMatchObject({ rowCount: 0, columns: null, currentBlock: null });
			expect(await jobs.appendEvent('j', event(9))).toBe(1);
		});
	});

	describe('uploads', () => {
		it('stores and finds an upload by id and by path; a path is unique', async () => {
			const uploads = createUploadStore(store);
			const u = {
				id: 'u1',
				workflowId: null,
				filePath: 'uploads/u1.csv',
				originalName: 'leads "final".csv',
				columns: ['name', 'company'],
				rowCount: 3,
				sizeBytes: 5_000_000_000,
				createdAt: T
			};
			await uploads.create(u);
			expect(await uploads.get('u1')).toEqual(u);
			expect(await uploads.getByPath('uploads/u1.csv')).toEqual(u);
			expect(await uploads.get('u2')).toBeNull();
			await expect(uploads.create({ ...u, id: 'u2' })).rejects.toThrow(/unique|duplicate/i);
		});
	});

	describe('workflows', () => {
		it('creates, authorizes by token, renames and deletes', async () => {
			const repo = createWorkflowsRepo(store, () => T);
			const wf = await repo.create({ name: 'Leads' });
			expect(await repo.get(wf.id)).toEqual(wf);
			expect(await repo.authorize(wf.id, wf.editToken)).toBe('edit');
			expect(await repo.authorize(wf.id, wf.viewToken)).toBe('view');
			expect(await repo.authorize(wf.id, 'x'.repeat(43))).toBeNull();
			expect(await repo.get('../etc/passwd')).toBeNull();
			expect(await repo.rename(wf.id, 'Renamed')).toBe(true);
			expect(await repo.rename('nope', 'x')).toBe(false);
			expect((await repo.get(wf.id))?.name).toBe('Renamed');
			expect(await repo.delete(wf.id)).toBe(true);
			expect(await repo.delete(wf.id)).toBe(false);
			expect(await repo.get(wf.id)).toBeNull();
		});
	});

	describe('spend ledger', () => {
		it('adds per scope, ignores non-positive amounts, and a new process reads the totals back', async () => {
			const ledger = createSpendLedger(store, { refreshMs: 0 });
			await ledger.add('2026-03-10', ['*', 'wf1', 'wf1'], 2.5);
			await ledger.add('2026-03-10', ['*'], 1);
			await ledger.add('2026-03-10', ['*'], 0);
			await ledger.add('2026-03-10', ['*'], -4);
			await ledger.add('2026-03-10', ['*'], Number.NaN);
			expect(ledger.spent('2026-03-10', '*')).toBe(3.5);
			expect(ledger.spent('2026-03-10', 'wf1')).toBe(2.5);
			expect(ledger.spent('2026-03-11', '*')).toBe(0);
			const restarted = createSpendLedger(await backend.reopen(), { refreshMs: 0 });
			await restarted.refresh('2026-03-10');
			expect(restarted.spent('2026-03-10', '*')).toBe(3.5);
			expect(restarted.spent('2026-03-10', 'wf1')).toBe(2.5);
			// Another process's charge shows after a refresh; our own count never goes down.
			await restarted.add('2026-03-10', ['*'], 1);
			await ledger.refresh('2026-03-10');
			expect(ledger.spent('2026-03-10', '*')).toBe(4.5);
			ledger.close();
			restarted.close();
		});
	});

	describe('versions', () => {
		it('adds, pages newest first, reads states and forgets a workflow', async () => {
			const versions = createVersionStore(store);
			const bytes = (n: number) => new Uint8Array([n, n + 1, n + 2]);
			const first = await versions.add({
				workflowId: 'w',
				kind: 'auto',
				authors: ['Ada'],
				baseId: null,
				depth: 0,
				state: bytes(1),
				stateVector: bytes(9),
				createdAt: T
			});
			const second = await versions.add({
				workflowId: 'w',
				kind: 'named',
				name: 'Before import',
				createdBy: 'Bob',
				authors: [],
				baseId: first.id,
				depth: 1,
				state: bytes(2),
				stateVector: bytes(8),
				createdAt: T + 1
			});
			expect(first).toMatchObject({ workflowId: 'w', kind: 'auto', name: null, authors: ['Ada'], createdAt: T, bytes: 6 });
			expect(second.id).toBeGreaterThan(first.id);
			expect((await versions.list('w', { limit: 10 })).map((v) => v.id)).toEqual([second.id, first.id]);
			expect((await versions.list('w', { limit: 10, before: second.id })).map((v) => v.id)).toEqual([first.id]);
			expect(await versions.get('w', second.id)).toMatchObject({ name: 'Before import', createdBy: 'Bob' });
			expect(await versions.get('other', second.id)).toBeNull();
			expect(await versions.state('w', second.id)).toEqual({
				id: second.id,
				baseId: first.id,
				depth: 1,
				state: bytes(2),
				stateVector: bytes(8)
			});
			expect((await versions.latest('w'))?.id).toBe(second.id);
			await versions.remove('w');
			expect(await versions.latest('w')).toBeNull();
		});
	});
});
