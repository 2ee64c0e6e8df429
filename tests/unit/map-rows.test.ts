import { describe, expect, it } from 'vitest';
import { mapRows } from '../../server/engine/map-rows';
import type { Row } from '../../src/lib/workflow/schema';
import type { RowStream } from '../../server/engine/types';

async function* batchesOf(count: number, size: number): RowStream {
	for (let i = 0; i < count; i += size) {
		yield Array.from({ length: Math.min(size, count - i) }, (_, k) => ({ n: i + k }));
	}
}

async function collect(stream: RowStream): Promise<Row[]> {
	const rows: Row[] = [];
	for await (const batch of stream) {
		expect(batch.length).toBeGreaterThan(0);
		rows.push(...batch);
	}
	return rows;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapRows', () => {
	it.each([
		{ rows: 0, batch: 5, concurrency: 3 },
		{ rows: 1, batch: 5, concurrency: 3 },
		{ rows: 37, batch: 5, concurrency: 1 },
		{ rows: 100, batch: 7, concurrency: 10 },
		{ rows: 300, batch: 256, concurrency: 64 }
	])(
		'keeps input order and never exceeds $concurrency in flight ($rows rows, batches of $batch)',
		async ({ rows, batch, concurrency }) => {
			let inFlight = 0;
			let peak = 0;
			const out = await collect(
				mapRows(
					batchesOf(rows, batch),
					async (row) => {
						inFlight++;
						peak = Math.max(peak, inFlight);
						await sleep(Math.random() * 3);
						inFlight--;
						return { ...row, doubled: Number(row.n) * 2 };
					},
					{ concurrency, signal: new AbortController().signal }
				)
			);
			expect(out.map((r) => r.n)).toEqual(Array.from({ length: rows }, (_, i) => i));
			expect(out.every((r) => r.doubled === Number(r.n) * 2)).toBe(true);
			expect(peak).toBeLessThanOrEqual(concurrency);
			if (rows >= concurrency * 2) expect(peak).toBe(concurrency);
		}
	);

	it('works across batch boundaries: a slow row does not stop later batches from starting', async () => {
		const started: number[] = [];
		const stream = mapRows(
			batchesOf(20, 2),
			async (row) => {
				started.push(Number(row.n));
				if (row.n === 0) await sleep(50);
				return row;
			},
			{ concurrency: 10, signal: new AbortController().signal }
		);
		const out = await collect(stream);
		expect(out).toHaveLength(20);
		// While row 0 was slow, rows from later batches were already in flight.
		expect(started.slice(0, 10).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
	});

	it('propagates a thrown error at once and aborts the rows still in flight', async () => {
		const aborted: number[] = [];
		const stream = mapRows(
			batchesOf(50, 10),
			async (row, _i, signal) => {
				if (row.n === 3) throw new Error('boom');
				// Only the abort ends these rows: waiting for them instead of failing at once hangs the test.
				await new Promise<void>((resolve) => {
					signal.addEventListener('abort', () => {
						aborted.push(Number(row.n));
						resolve();
					});
				});
				return row;
			},
			{ concurrency: 5, signal: new AbortController().signal }
		);
		await expect(collect(stream)).rejects.toThrow('boom');
		expect(aborted.length).toBeGreaterThan(0);
	});

	it('stops promptly when the signal aborts', async () => {
		const controller = new AbortController();
		let calls = 0;
		const stream = mapRows(
			batchesOf(10_000, 100),
			async (row, _i, signal) => {
				calls++;
				await new Promise<void>((resolve) => {
					const t = setTimeout(resolve, 5);
					signal.addEventListener('abort', () => (clearTimeout(t), resolve()));
				});
				return row;
			},
			{ concurrency: 4, signal: controller.signal }
		);
		setTimeout(() => controller.abort(new Error('cancelled')), 30);
		await expect(collect(stream)).rejects.toThrow('cancelled');
		expect(calls).toBeLessThan(10_000);
	});

	it('stops pulling input when the consumer stops (back-pressure)', async () => {
		let pulled = 0;
		async function* counting(): RowStream {
			for (let i = 0; i < 1_000; i++) {
				pulled++;
				yield [{ n: i }];
			}
		}
		const stream = mapRows(counting(), async (row) => row, { concurrency: 8, signal: new AbortController().signal });
		for await (const _batch of stream) break;
		expect(pulled).toBeLessThan(20);
	});
});
