import { describe, expect, it } from 'vitest';
import { flatMapRows } from '../../server/engine/map-rows';
import type { RowStream } from '../../server/engine/types';
import type { Row } from '../../src/lib/workflow/schema';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `count` companies in batches of `size`; `pulled` counts rows the consumer side took from it. */
function companies(count: number, size: number) {
	const state = { pulled: 0, closed: false };
	async function* stream(): RowStream {
		try {
			for (let i = 0; i < count; i += size) {
				const batch = Array.from({ length: Math.min(size, count - i) }, (_, k) => ({ company: i + k }));
				state.pulled += batch.length;
				yield batch;
			}
		} finally {
			state.closed = true;
		}
	}
	return { stream: stream(), state };
}

/** The people of a company: a deterministic count in 0..max. */
const staffOf = (company: number, max: number) => (company * 7919) % (max + 1);
const peopleOf = (company: number, max: number): Row[] => Array.from({ length: staffOf(company, max) }, (_, p) => ({ company, person: p }));

describe('flatMapRows: one row in, any number of rows out', () => {
	it.each([
		{ rows: 0, batch: 5, concurrency: 3, maxPeople: 4, outBatch: 256 },
		{ rows: 1, batch: 5, concurrency: 3, maxPeople: 4, outBatch: 256 },
		{ rows: 40, batch: 7, concurrency: 1, maxPeople: 3, outBatch: 256 },
		{ rows: 100, batch: 16, concurrency: 8, maxPeople: 6, outBatch: 5 },
		{ rows: 60, batch: 10, concurrency: 4, maxPeople: 700, outBatch: 256 }
	])(
		'$rows companies, ≤ $maxPeople people each, concurrency $concurrency, output batches ≤ $outBatch: company order, then the order given',
		async ({ rows, batch, concurrency, maxPeople, outBatch }) => {
			let inFlight = 0;
			let peak = 0;
			const out: Row[] = [];
			const { stream } = companies(rows, batch);
			for await (const b of flatMapRows(
				stream,
				async (row) => {
					inFlight++;
					peak = Math.max(peak, inFlight);
					await sleep(Math.random() * 3);
					inFlight--;
					return peopleOf(Number(row.company), maxPeople);
				},
				{ concurrency, signal: new AbortController().signal, batchSize: outBatch }
			)) {
				expect(b.length).toBeGreaterThan(0);
				expect(b.length).toBeLessThanOrEqual(outBatch);
				out.push(...b);
			}
			const expected = Array.from({ length: rows }, (_, c) => peopleOf(c, maxPeople)).flat();
			expect(out).toEqual(expected);
			expect(peak).toBeLessThanOrEqual(concurrency);
			if (rows >= concurrency * 2) expect(peak).toBe(concurrency);
		}
	);

	it('bounded memory: never more than `concurrency` companies in flight, and people flow out before the file is read', async () => {
		const COMPANIES = 2_000;
		const PEOPLE = 200;
		const CONCURRENCY = 8;
		const BATCH = 50;
		const { stream, state } = companies(COMPANIES, BATCH);
		let started = 0;
		let running = 0;
		let peakRunning = 0;
		let peakWindow = 0;
		let firstOutputAtPulled: number | null = null;
		let seen = 0;
		for await (const b of flatMapRows(
			stream,
			async (row) => {
				started++;
				running++;
				peakRunning = Math.max(peakRunning, running);
				await sleep(0);
				running--;
				return Array.from({ length: PEOPLE }, (_, p) => ({ company: row.company, person: p }));
			},
			{ concurrency: CONCURRENCY, signal: new AbortController().signal }
		)) {
			firstOutputAtPulled ??= state.pulled;
			seen += b.length;
			// While the consumer holds a batch, the producer is paused: count what it holds.
			const last = b[b.length - 1];
			const done = Number(last.company) + (last.person === PEOPLE - 1 ? 1 : 0);
			peakWindow = Math.max(peakWindow, started - done);
			expect(state.pulled - done).toBeLessThanOrEqual(CONCURRENCY + BATCH);
		}
		expect(seen).toBe(COMPANIES * PEOPLE);
		expect(peakRunning).toBeLessThanOrEqual(CONCURRENCY);
		expect(peakWindow).toBeLessThanOrEqual(CONCURRENCY);
		expect(peakWindow).toBeGreaterThan(0);
		expect(firstOutputAtPulled).not.toBeNull();
		expect(firstOutputAtPulled!).toBeLessThan(COMPANIES);
		expect(firstOutputAtPulled!).toBeLessThanOrEqual(CONCURRENCY + BATCH);
	});

	it('a company with more people than a batch is split across batches, in order', async () => {
		const { stream } = companies(3, 3);
		const batches: Row[][] = [];
		for await (const b of flatMapRows(
			stream,
			async (row) =>
				row.company === 1 ? peopleOf(1, 0).concat(Array.from({ length: 12 }, (_, p) => ({ company: 1, person: p }))) : [row],
			{
				concurrency: 2,
				signal: new AbortController().signal,
				batchSize: 5
			}
		)) {
			batches.push(b);
		}
		expect(batches.map((b) => b.length)).toEqual([5, 5, 4]);
		expect(batches.flat().map((r) => `${r.company}:${r.person ?? '-'}`)).toEqual([
			'0:-',
			...Array.from({ length: 12 }, (_, p) => `1:${p}`),
			'2:-'
		]);
	});

	it('cancelling stops the calls in flight and closes the source', async () => {
		const controller = new AbortController();
		const { stream, state } = companies(1_000, 10);
		const aborted: number[] = [];
		const out: Row[] = [];
		const run = (async () => {
			for await (const b of flatMapRows(
				stream,
				(row, _i, signal) =>
					new Promise<Row[]>((resolve, reject) => {
						const onAbort = () => (clearTimeout(t), aborted.push(Number(row.company)), reject(signal.reason));
						const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve([row, row])), 2);
						signal.addEventListener('abort', onAbort, { once: true });
					}),
				{ concurrency: 4, signal: controller.signal }
			)) {
				out.push(...b);
				if (out.length >= 20) controller.abort(new Error('cancelled by test'));
			}
		})();
		await expect(run).rejects.toThrow('cancelled by test');
		expect(state.closed).toBe(true);
		expect(state.pulled).toBeLessThan(1_000);
		expect(aborted.length).toBeGreaterThan(0);
		expect(aborted.length).toBeLessThanOrEqual(4);
	});

	it('a consumer that stops early aborts the calls in flight and closes the source', async () => {
		const { stream, state } = companies(1_000, 10);
		let abortedCalls = 0;
		for await (const b of flatMapRows(
			stream,
			(row, _i, signal) =>
				new Promise<Row[]>((resolve) => {
					const onAbort = () => abortedCalls++;
					signal.addEventListener('abort', onAbort, { once: true });
					setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve([row])), row.company === 0 ? 0 : 20);
				}),
			{ concurrency: 4, signal: new AbortController().signal }
		)) {
			expect(b[0].company).toBe(0);
			break;
		}
		expect(state.closed).toBe(true);
		expect(abortedCalls).toBe(4); // companies 1–4: the window refilled before company 0 was handed out
	});

	it.each<[string, (row: Row) => Promise<Row[]>, RegExp]>([
		['a call that rejects', async (row) => (row.company === 5 ? Promise.reject(new Error('boom at 5')) : [row]), /boom at 5/],
		[
			'a call that throws synchronously',
			((row: Row) => {
				if (row.company === 3) throw new Error('sync boom');
				return Promise.resolve([row]);
			}) as (row: Row) => Promise<Row[]>,
			/sync boom/
		],
		[
			'a mapper that returns no array',
			async (row) => (row.company === 2 ? (row as unknown as Row[]) : [row]),
			/must resolve to an array/
		]
	])('%s ends the stream with that error', async (_, fn, message) => {
		const { stream, state } = companies(50, 10);
		const run = (async () => {
			for await (const _b of flatMapRows(stream, fn, { concurrency: 4, signal: new AbortController().signal })) {
				// drain
			}
		})();
		await expect(run).rejects.toThrow(message);
		expect(state.closed).toBe(true);
	});
});
