/**
 * Grid cells on /live (issue 12): a room never sends `row_cells` on arrival; each client gets the
 * latest state per cell, batched, in at most one message per job per tick (cells and the job's
 * progress take turns when both wait), and a client that falls behind holds at most `maxPendingCells` cells before they turn
 * into one `rows_resync` range. Driven with fake sockets and explicit ticks (no timers relied on).
 */
import { describe, expect, it } from 'vitest';
import { LiveRoom, type LiveCounters, type LiveSocket } from '../../server/live/live-room';
import { parseServerMessage, type LiveEvent, type RowCell, type ServerMessage } from '../../src/lib/workflow/protocol';
import { pendingBlock } from '../../src/lib/workflow/live-jobs';

class FakeSocket implements LiveSocket {
	readonly sent: ServerMessage[] = [];
	bufferedAmount = 0;
	readyState = 1;
	send(data: string) {
		const parsed = parseServerMessage(data);
		if (!parsed.ok) throw new Error(parsed.error);
		this.sent.push(parsed.message);
	}
	close() {
		this.readyState = 3;
	}
	terminate() {
		this.readyState = 3;
	}
	of<T extends ServerMessage['type']>(type: T) {
		return this.sent.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
	}
}

const JOB = '00000000-0000-4000-8000-000000000001';

async function room(maxPendingCells = 2_000) {
	const counters: LiveCounters = { messagesSent: 0, progressHeldBack: 0, clientsDropped: 0 };
	// A long interval: the test drives ticks itself through the private flush (via `tick`).
	const r = new LiveRoom({
		workflowId: 'wf',
		load: async () => [],
		flushIntervalMs: 3_600_000,
		slowClientBytes: 1_000,
		maxClientBufferBytes: 1_000_000,
		maxPendingCells,
		counters
	});
	await r.ready;
	r.publish({ type: 'job_created', job_id: JOB, at: 1, workflow_id: 'wf', retry_of: null });
	r.publish({ type: 'job_started', job_id: JOB, at: 2, blocks: [{ block_id: 'enrich', block_type: 'enrich_lead' }] });
	return { room: r, counters, tick: () => r.flushNow() };
}

const cellsEvent = (cells: RowCell[]): LiveEvent => ({ type: 'row_cells', job_id: JOB, at: 3, cells });
const progress = (answered: number): LiveEvent => ({
	type: 'block_progress',
	job_id: JOB,
	at: 4,
	block: { ...pendingBlock({ block_id: 'enrich', block_type: 'enrich_lead' }), status: 'running', answered }
});

describe('grid cells on /live', () => {
	it('batches cells per tick, keeping the latest state of each', async () => {
		const { room: r, tick } = await room();
		const socket = new FakeSocket();
		r.join(socket, 'view');
		r.publish(cellsEvent([{ row: 0, block_id: 'enrich', state: 'running' }]));
		r.publish(cellsEvent([{ row: 1, block_id: 'enrich', state: 'running' }]));
		r.publish(cellsEvent([{ row: 0, block_id: 'enrich', state: 'done', values: { title: 'CTO' } }]));
		expect(socket.of('row_cells')).toHaveLength(0); // never on arrival
		tick();
		const sent = socket.of('row_cells');
		expect(sent).toHaveLength(1);
		expect(sent[0]!.cells).toEqual([
			{ row: 1, block_id: 'enrich', state: 'running' },
			{ row: 0, block_id: 'enrich', state: 'done', values: { title: 'CTO' } }
		]);
		tick();
		expect(socket.of('row_cells')).toHaveLength(1); // nothing new, nothing sent
	});

	it('sends at most one message per job per tick (≤ 10/s): progress and cells take turns, nothing is lost', async () => {
		const { room: r, tick } = await room();
		const socket = new FakeSocket();
		r.join(socket, 'view');
		const before = socket.sent.length;
		for (let t = 0; t < 10; t++) {
			r.publish(progress(t * 10));
			r.publish(cellsEvent([{ row: t, block_id: 'enrich', state: 'done', values: {} }]));
			const at = socket.sent.length;
			tick();
			expect(socket.sent.length - at).toBe(1);
		}
		const after = socket.sent.slice(before);
		// Ten ticks, ten messages, both kinds served.
		expect(after.filter((m) => m.type === 'row_cells').length).toBe(5);
		expect(after.filter((m) => m.type === 'block_progress').length).toBe(5);
		// Then the latest of each goes out, and every row's cell arrived.
		tick();
		tick();
		tick();
		const rows = new Set(socket.sent.flatMap((m) => (m.type === 'row_cells' ? m.cells.map((c) => c.row) : [])));
		expect([...rows].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
		const lastProgress = socket.of('block_progress').at(-1)!;
		expect(lastProgress.block.answered).toBe(90);
	});

	it('a slow client holds a bounded number of cells, then is told which rows to re-read', async () => {
		const { room: r, tick, counters } = await room(50);
		const slow = new FakeSocket();
		const fast = new FakeSocket();
		r.join(slow, 'view');
		r.join(fast, 'view');
		slow.bufferedAmount = 10_000; // over slowClientBytes: nothing goes out to it
		for (let row = 0; row < 500; row++) {
			r.publish(cellsEvent([{ row, block_id: 'enrich', state: 'done', values: { title: `t${row}` } }]));
			if (row % 10 === 9) tick();
		}
		expect(slow.of('row_cells')).toHaveLength(0);
		const pending = [...r.clients].find((c) => c.socket === slow)!.cells.get(JOB)!;
		expect(pending.cells.size).toBeLessThanOrEqual(50);
		expect(counters.cellsResynced).toBeGreaterThanOrEqual(1);
		// The fast one got every cell.
		const fastRows = new Set(fast.of('row_cells').flatMap((m) => m.cells.map((c) => c.row)));
		expect(fastRows.size).toBe(500);
		// It drains: a resync naming the rows it missed, then whatever came after.
		slow.bufferedAmount = 0;
		tick();
		const resync = slow.of('rows_resync');
		expect(resync).toHaveLength(1);
		expect(resync[0]).toMatchObject({ job_id: JOB, from: 0, to: 499 });
	});

	it('the last cells go out before the job ends', async () => {
		const { room: r } = await room();
		const socket = new FakeSocket();
		r.join(socket, 'view');
		r.publish(cellsEvent([{ row: 5, block_id: 'enrich', state: 'error', error: 'Enrich Lead: not found' }]));
		r.publish({ type: 'job_finished', job_id: JOB, at: 9, status: 'completed', error: null, output_path: null, blocks: [] });
		const types = socket.sent.map((m) => m.type);
		expect(types.slice(-2)).toEqual(['row_cells', 'job_finished']);
	});
});
