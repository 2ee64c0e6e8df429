/**
 * Group commit for the update log: appends made in one turn of the event loop (several rooms'
 * edits, a room's turn and another's) are written together, one multi-row INSERT per
 * `ROWS_PER_INSERT`, instead of one statement, one query compilation and (PostgreSQL) one commit
 * and WAL flush each. Every caller's promise settles only once the statement holding its row has
 * committed, so a room still relays and acknowledges an edit only after it is stored; if the
 * statement fails, every append in it rejects (those rooms close with 1011, their clients resend).
 *
 * A room awaits each append before making the next (room.ts), so a group never holds two rows of
 * one room and the log keeps each room's order.
 */

/** Rows per INSERT: 3 parameters a row stays far below SQLite's 32,766 and PostgreSQL's 65,535. */
export const ROWS_PER_INSERT = 500;

export interface LogRow {
	workflowId: string;
	update: Uint8Array;
}

interface Waiting {
	row: LogRow;
	resolve: () => void;
	reject: (error: unknown) => void;
}

/** Queues rows and hands them to `insert` together, after the current turn of the event loop. */
export function createGroupCommit(insert: (rows: LogRow[]) => Promise<void>): (row: LogRow) => Promise<void> {
	let queue: Waiting[] = [];

	async function flush(): Promise<void> {
		const group = queue;
		queue = [];
		for (let i = 0; i < group.length; i += ROWS_PER_INSERT) {
			const part = group.slice(i, i + ROWS_PER_INSERT);
			try {
				await insert(part.map((w) => w.row));
				for (const w of part) w.resolve();
			} catch (error) {
				for (const w of part) w.reject(error);
			}
		}
	}

	return (row) =>
		new Promise<void>((resolve, reject) => {
			// After the socket reads and room turns (immediates too) already due in this turn of the
			// loop, so the appends they make share the statement; it costs no extra wait for I/O.
			if (queue.length === 0) setImmediate(() => void flush());
			queue.push({ row, resolve, reject });
		});
}
