/**
 * Jobs by state, straight from the jobs table: one grouped count per scrape, cheap at any size
 * (the job store's interface lists jobs, it does not count them).
 */
import type { JobStatus } from '../engine/types';
import { asStore, type StoreHandle } from '../store/store';

export const JOB_STATES: readonly JobStatus[] = ['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'];

/** Every state with its count (0 when none); rejects if the database cannot be read. */
export async function countJobsByState(db: StoreHandle): Promise<Record<JobStatus, number>> {
	const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobStatus, number>;
	const rows = await asStore(db)
		.db.selectFrom('jobs')
		.select((eb) => ['status', eb.fn.countAll<number>().as('n')])
		.groupBy('status')
		.execute();
	for (const { status, n } of rows) if (status in counts) counts[status as JobStatus] = Number(n);
	return counts;
}
