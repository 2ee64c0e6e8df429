/**
 * A CallMeter that forwards every change to whichever caller currently owns a shared call. When
 * identical requests share one HTTP call and its first caller gives up, the call goes on for the
 * others: its counters move to the next caller (the requests still held back move too), so every
 * block's "calls / waiting / cost" stays honest.
 */
import type { CallMeter } from './types';

/** Forwards deltas of calls, requests, cached, costCents and waiting to `target`. */
export class RelayMeter implements CallMeter {
	#target: CallMeter | null;
	#calls = 0;
	#requests = 0;
	#cached = 0;
	#cost = 0;
	#waiting = 0;

	constructor(target: CallMeter | null) {
		this.#target = target;
	}

	get target(): CallMeter | null {
		return this.#target;
	}

	/** Hands the meter to `next`: the requests currently waiting are moved from the old owner to it. */
	retarget(next: CallMeter | null): void {
		if (this.#target) this.#target.waiting -= this.#waiting;
		this.#target = next;
		if (next) next.waiting += this.#waiting;
	}

	get calls(): number {
		return this.#calls;
	}
	set calls(value: number) {
		if (this.#target) this.#target.calls += value - this.#calls;
		this.#calls = value;
	}
	get requests(): number {
		return this.#requests;
	}
	set requests(value: number) {
		if (this.#target) this.#target.requests += value - this.#requests;
		this.#requests = value;
	}
	get cached(): number {
		return this.#cached;
	}
	set cached(value: number) {
		if (this.#target) this.#target.cached += value - this.#cached;
		this.#cached = value;
	}
	get costCents(): number {
		return this.#cost;
	}
	set costCents(value: number) {
		if (this.#target) this.#target.costCents += value - this.#cost;
		this.#cost = value;
	}
	/** Not kept here: the owner of the shared call hears when its task was last seen running. */
	get runningAt(): number | undefined {
		return this.#target?.runningAt;
	}
	set runningAt(value: number | undefined) {
		if (this.#target) this.#target.runningAt = value;
	}
	get waiting(): number {
		return this.#waiting;
	}
	set waiting(value: number) {
		if (this.#target) this.#target.waiting += value - this.#waiting;
		this.#waiting = value;
	}
}
