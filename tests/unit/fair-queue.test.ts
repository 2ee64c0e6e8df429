/**
 * The in-process job queue is round robin across keys (a shared workflow's id, a posting client's
 * address): a table of arrival scripts and the order jobs must start in. Jobs run until the script
 * finishes them, so the order is decided by the queue alone, never by timing.
 */
import { describe, expect, it } from 'vitest';
import { createInProcessQueue } from '../../server/jobs/queue';

/** `A1` enqueues job A1 under key A; `done` finishes the oldest running job. */
type Step = string;

interface Case {
	name: string;
	concurrency: number;
	steps: Step[];
	/** Start order of every job once all are finished. */
	started: string[];
	/** `waiting()` right after the last step (before draining). */
	waiting?: string[];
}

const CASES: Case[] = [
	{
		name: 'one key is first come first served',
		concurrency: 1,
		steps: ['A1', 'A2', 'A3'],
		started: ['A1', 'A2', 'A3'],
		waiting: ['A2', 'A3']
	},
	{
		name: "a pile from one key does not hold back another key's job beyond one slot turn",
		concurrency: 1,
		steps: ['A1', 'A2', 'A3', 'A4', 'A5', 'B1'],
		started: ['A1', 'B1', 'A2', 'A3', 'A4', 'A5'],
		waiting: ['B1', 'A2', 'A3', 'A4', 'A5']
	},
	{
		name: 'two slots busy with one key: the other key gets the next free slot',
		concurrency: 2,
		steps: ['A1', 'A2', 'A3', 'A4', 'B1'],
		started: ['A1', 'A2', 'B1', 'A3', 'A4'],
		waiting: ['B1', 'A3', 'A4']
	},
	{
		name: 'three keys take turns',
		concurrency: 1,
		steps: ['A1', 'A2', 'A3', 'B1', 'B2', 'C1'],
		started: ['A1', 'B1', 'C1', 'A2', 'B2', 'A3'],
		waiting: ['B1', 'C1', 'A2', 'B2', 'A3']
	},
	{
		name: 'a key arriving mid-run goes before keys already served',
		concurrency: 1,
		steps: ['A1', 'A2', 'B1', 'B2', 'done', 'C1'],
		started: ['A1', 'B1', 'C1', 'A2', 'B2'],
		waiting: ['C1', 'A2', 'B2']
	},
	{
		name: 'a key that ran and left comes back as a newcomer',
		concurrency: 1,
		steps: ['A1', 'B1', 'B2', 'done', 'A2'],
		started: ['A1', 'B1', 'A2', 'B2'],
		waiting: ['A2', 'B2']
	},
	{
		name: 'enough slots for everyone: all start at once in arrival order',
		concurrency: 4,
		steps: ['A1', 'A2', 'B1', 'C1'],
		started: ['A1', 'A2', 'B1', 'C1'],
		waiting: []
	}
];

describe('createInProcessQueue round robin', () => {
	it.each(CASES)('$name', async ({ concurrency, steps, started: expected, waiting }) => {
		const started: string[] = [];
		const release = new Map<string, () => void>();
		let running = 0;
		let peak = 0;
		const queue = createInProcessQueue({
			concurrency,
			worker: (id) => {
				started.push(id);
				peak = Math.max(peak, ++running);
				return new Promise<void>((resolve) =>
					release.set(id, () => {
						running--;
						resolve();
					})
				);
			}
		});
		const settle = () => new Promise((r) => setTimeout(r, 0));
		const finishOldest = async () => {
			const id = started.find((s) => release.has(s))!;
			const done = release.get(id)!;
			release.delete(id);
			done();
			await settle();
		};
		for (const step of steps) {
			if (step === 'done') await finishOldest();
			else queue.enqueue(step, step[0]);
			await settle();
		}
		if (waiting) expect(queue.waiting()).toEqual(waiting);
		while (release.size > 0) await finishOldest();
		expect(started).toEqual(expected);
		expect(peak).toBeLessThanOrEqual(concurrency);
		await queue.close();
	});

	it('removes a waiting job from its key and keeps the others in turn; a duplicate id is a no-op', async () => {
		// The only slot stays taken by A1, so only the order of the others is looked at.
		const queue = createInProcessQueue({ concurrency: 1, worker: () => new Promise(() => {}) });
		for (const [id, key] of [
			['A1', 'A'],
			['A2', 'A'],
			['B1', 'B'],
			['B2', 'B']
		] as const)
			queue.enqueue(id, key);
		expect(queue.running()).toEqual(['A1']);
		expect(queue.waiting()).toEqual(['B1', 'A2', 'B2']);
		expect(queue.remove('B1')).toBe(true);
		expect(queue.remove('B1')).toBe(false);
		expect(queue.remove('A1')).toBe(false); // running
		expect(queue.waiting()).toEqual(['B2', 'A2']);
		queue.enqueue('A2', 'C'); // already queued: keeps its place and key
		expect(queue.waiting()).toEqual(['B2', 'A2']);
		void queue.close();
	});
});
