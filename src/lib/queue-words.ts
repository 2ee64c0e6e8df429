/**
 * What a queued run says about itself: where it stands, whose runs it waits for, and roughly
 * when it starts — from the server's queue place (`GET /jobs/{id}/queue`).
 */
import type { JobQueuePlace } from './api/endpoints';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "about 2 min", "less than a minute". */
export function roughWait(seconds: number): string {
	if (seconds < 60) return 'less than a minute';
	const minutes = Math.round(seconds / 60);
	if (minutes < 90) return `about ${plural(minutes, 'min', 'min')}`;
	return `about ${plural(Math.round(minutes / 60), 'hour')}`;
}

/**
 * The sentence a queued run shows; `place` null while it is not known yet.
 * @example describeQueuePlace({ waiting: true, ahead: 0, ahead_here: 0, running: 1, running_here: 0, wait_s: 90 })
 * // 'Queued: next in line. Starts when the run going now (another workflow's) finishes, in about 2 min.'
 */
export function describeQueuePlace(place: JobQueuePlace | null): string {
	if (!place) return 'Queued: starts when a running run finishes.';
	if (!place.waiting) return 'Starting…';
	if (place.running === 0) return 'Queued: starting shortly.';
	const line =
		place.ahead === 0
			? 'next in line'
			: `${plural(place.ahead, 'run')} ahead${place.ahead_here > 0 ? ` (${place.ahead_here} of them this workflow's)` : ''}`;
	const whose =
		place.running_here === place.running
			? "this workflow's"
			: place.running_here === 0
				? place.running === 1
					? "another workflow's"
					: "other workflows'"
				: `${place.running_here} of them this workflow's`;
	const going = place.running === 1 ? `the run going now (${whose})` : `one of the ${place.running} runs going now (${whose})`;
	const when = place.wait_s === null ? '; how long that takes is not known yet' : `, in ${roughWait(place.wait_s)}`;
	return `Queued: ${line}. Starts when ${going} finishes${when}.`;
}
