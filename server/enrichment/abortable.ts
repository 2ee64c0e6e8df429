/**
 * Small AbortSignal helpers shared by the scheduler, the client and the cache: every wait in the
 * enrichment layer must end the moment its caller gives up, and must leave no timer behind.
 */

/** The error an aborted signal carries (a DOMException AbortError unless the caller gave a reason). */
export function abortError(signal: AbortSignal): unknown {
	return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Waits `ms`, rejecting at once with the signal's reason if it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	if (signal?.aborted) return Promise.reject(abortError(signal));
	if (ms <= 0) return Promise.resolve();
	return new Promise((resolve, reject) => {
		const onAbort = () => {
			clearTimeout(timer);
			reject(abortError(signal!));
		};
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}

/**
 * Settles like `promise`, or rejects with the abort reason as soon as `signal` aborts — so a caller
 * stops waiting immediately even if the work underneath takes a moment to notice.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
	if (signal.aborted) {
		promise.catch(() => {});
		return Promise.reject(abortError(signal));
	}
	return new Promise<T>((resolve, reject) => {
		const onAbort = () => {
			promise.catch(() => {});
			reject(abortError(signal));
		};
		signal.addEventListener('abort', onAbort, { once: true });
		promise.then(
			(value) => {
				signal.removeEventListener('abort', onAbort);
				resolve(value);
			},
			(error: unknown) => {
				signal.removeEventListener('abort', onAbort);
				reject(error);
			}
		);
	});
}

/** True when `error` is the cancellation of `signal` (as opposed to a failure of the work). */
export function isAbortOf(error: unknown, signal: AbortSignal): boolean {
	return signal.aborted && (error === signal.reason || (error instanceof Error && error.name === 'AbortError'));
}
