/**
 * Jobs by state, straight from the jobs table: one grouped count per scrape, cheap at any size
 * (the job store's interface lists jobs, it does not count them).
 */
import type { JobStatus } from '../engine/types';
import type { Db } from '../store/db';

export const JOB_STATES: readonly JobStatus[] = ['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'];

/** Every state with its count (0 when none); throws if the database cannot be read. */
export function countJobsByState(db: Db): Record<JobStatus, number> {
	const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobStatus, number>;
	const rows = db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status').all() as { status: string; n: number }[];
	for (const { status, n } of rows) if (status in counts) counts[status as JobStatus] = n;
	return counts;
}
