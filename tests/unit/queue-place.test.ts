/**
 * A queued run's place: runs ahead (and how many are its workflow's), runs going, and the rough
 * wait — computed from the queue and the running runs' ETAs; and the sentence the run panel makes
 * of it. Through `GET /jobs/{id}/queue` in routes-jobs / openapi tests; here the rules, as a table.
 */
import { describe, expect, it } from 'vitest';
import { queuePlace, type QueueSnapshot } from '../../server/jobs/queue-place';
import { describeQueuePlace, roughWait } from '../../src/lib/queue-words';

const owners: Record<string, string | null> = { r1: 'wf-a', r2: 'wf-b', w1: 'wf-b', w2: 'wf-a', w3: 'wf-a', mine: 'wf-a', posted: null };

async function place(jobId: string, queue: QueueSnapshot, eta: Record<string, number | null> = {}) {
	return queuePlace({
		jobId,
		workflowId: owners[jobId] ?? null,
		queue,
		workflowOf: async (id) => owners[id] ?? null,
		remainingOf: async (id) => eta[id] ?? null
	});
}

describe('queuePlace', () => {
	it.each([
		{
			name: 'next in line behind one other workflow’s run with a known ETA',
			job: 'mine',
			queue: { running: ['r2'], waiting: ['mine'] },
			eta: { r2: 95 },
			want: { waiting: true, ahead: 0, ahead_here: 0, running: 1, running_here: 0, wait_s: 95 }
		},
		{
			name: 'two ahead (one its own), two running: the second slot to free',
			job: 'mine',
			queue: { running: ['r1', 'r2'], waiting: ['w1', 'w2', 'mine'] },
			eta: { r1: 30, r2: 10 },
			want: { waiting: true, ahead: 2, ahead_here: 1, running: 2, running_here: 1, wait_s: null }
		},
		{
			name: 'one ahead, two running with ETAs: the later of the two',
			job: 'mine',
			queue: { running: ['r1', 'r2'], waiting: ['w1', 'mine'] },
			eta: { r1: 30, r2: 10 },
			want: { waiting: true, ahead: 1, ahead_here: 0, running: 2, running_here: 1, wait_s: 30 }
		},
		{
			name: 'a running run whose end is unknown: no wait given',
			job: 'mine',
			queue: { running: ['r1', 'r2'], waiting: ['mine'] },
			eta: { r1: 30, r2: null },
			want: { waiting: true, ahead: 0, ahead_here: 0, running: 2, running_here: 1, wait_s: null }
		},
		{
			name: 'not in the line (running already)',
			job: 'r1',
			queue: { running: ['r1'], waiting: ['w1'] },
			eta: { r1: 5 },
			want: { waiting: false, ahead: 0, ahead_here: 0, running: 1, running_here: 1, wait_s: null }
		},
		{
			name: 'a posted workflow’s job: nothing counts as its own',
			job: 'posted',
			queue: { running: ['r1'], waiting: ['w2', 'posted'] },
			eta: { r1: 5 },
			want: { waiting: true, ahead: 1, ahead_here: 0, running: 1, running_here: 0, wait_s: null }
		}
	] as { name: string; job: string; queue: QueueSnapshot; eta: Record<string, number | null>; want: object }[])(
		'$name',
		async ({ job, queue, eta, want }) => {
			expect(await place(job, queue, eta)).toEqual(want);
		}
	);
});

describe('what a queued run says', () => {
	it.each([
		[null, 'Queued: starts when a running run finishes.'],
		[{ waiting: false, ahead: 0, ahead_here: 0, running: 1, running_here: 1, wait_s: null }, 'Starting…'],
		[{ waiting: true, ahead: 0, ahead_here: 0, running: 0, running_here: 0, wait_s: null }, 'Queued: starting shortly.'],
		[
			{ waiting: true, ahead: 0, ahead_here: 0, running: 1, running_here: 0, wait_s: 95 },
			"Queued: next in line. Starts when the run going now (another workflow's) finishes, in about 2 min."
		],
		[
			{ waiting: true, ahead: 2, ahead_here: 1, running: 2, running_here: 2, wait_s: null },
			"Queued: 2 runs ahead (1 of them this workflow's). Starts when one of the 2 runs going now (this workflow's) finishes; how long that takes is not known yet."
		],
		[
			{ waiting: true, ahead: 1, ahead_here: 0, running: 3, running_here: 1, wait_s: 20 },
			"Queued: 1 run ahead. Starts when one of the 3 runs going now (1 of them this workflow's) finishes, in less than a minute."
		]
	])('%j', (place, sentence) => {
		expect(describeQueuePlace(place)).toBe(sentence);
	});

	it.each([
		[0, 'less than a minute'],
		[59, 'less than a minute'],
		[60, 'about 1 min'],
		[600, 'about 10 min'],
		[7200, 'about 2 hours']
	])('roughWait(%d) = %s', (s, words) => expect(roughWait(s)).toBe(words));
});
