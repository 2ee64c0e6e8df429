/**
 * `GET /healthz`: is this process able to do its job? It is if it answers and its database takes a
 * write — a server whose disk is full or read-only accepts requests but loses every edit, so the
 * probe commits one tiny real write (a one-row scratch table) instead of trusting that the file is
 * open. 200 when healthy, 503 with the reason otherwise, so a load balancer or an orchestrator can
 * take the instance out of rotation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as v from 'valibot';
import type { Db } from './store/db';

export const HealthReportSchema = v.object({
	status: v.picklist(['ok', 'unavailable']),
	/** `writable`, or why not: `closed` (shut down), `read_only`, `error` (anything else: disk full, I/O). */
	db: v.picklist(['writable', 'closed', 'read_only', 'error']),
	uptime_s: v.number(),
	/** Why the check failed (the database's own message); absent when healthy. */
	reason: v.optional(v.string())
});
export type HealthReport = v.InferOutput<typeof HealthReportSchema>;

export interface HealthCheckOptions {
	db: Db;
	/** When the server started (ms, `now`'s clock). Default: when the check was created. */
	startedAt?: number;
	now?: () => number;
}

export interface HealthCheck {
	/** Runs the probe now. Never throws. */
	check(): HealthReport;
	/** The `/healthz` handler: GET and HEAD; 200 or 503 with the report as JSON. */
	handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * Scratch table of the probe: one row, rewritten by every check. Created on first use rather than
 * by a migration: it holds nothing anyone reads, and a missing table is recreated by the next check.
 */
const PROBE_TABLE = `CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at INTEGER NOT NULL)`;
const PROBE_WRITE = `INSERT INTO health_probe (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`;

/**
 * Builds the check over the server's database.
 * @example const health = createHealthCheck({ db }); if (path === '/healthz') return health.handle(req, res)
 */
export function createHealthCheck(options: HealthCheckOptions): HealthCheck {
	const { db } = options;
	const now = options.now ?? (() => Date.now());
	const startedAt = options.startedAt ?? now();

	function check(): HealthReport {
		const uptime_s = Math.max(0, Math.round((now() - startedAt) / 1000));
		if (!db.open) return { status: 'unavailable', db: 'closed', uptime_s, reason: 'the database is closed' };
		try {
			db.exec(PROBE_TABLE);
			db.prepare(PROBE_WRITE).run(Date.now());
			return { status: 'ok', db: 'writable', uptime_s };
		} catch (err) {
			const code = (err as { code?: unknown }).code;
			const readOnly = typeof code === 'string' && code.startsWith('SQLITE_READONLY');
			return { status: 'unavailable', db: readOnly ? 'read_only' : 'error', uptime_s, reason: describe(err) };
		}
	}

	return {
		check,
		handle(req, res) {
			if (req.method !== 'GET' && req.method !== 'HEAD') {
				sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'Use GET /healthz' } }, { allow: 'GET, HEAD' });
				return;
			}
			const report = check();
			sendJson(res, report.status === 'ok' ? 200 : 503, report, {}, req.method === 'HEAD');
		}
	};
}

function describe(err: unknown): string {
	const message = err instanceof Error ? err.message : String(err);
	return message.slice(0, 300);
}

/** A small JSON answer (never cached: health changes from one second to the next). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, headOnly = false): void {
	const text = JSON.stringify(body);
	res.writeHead(status, {
		'content-type': 'application/json; charset=utf-8',
		'content-length': Buffer.byteLength(text),
		'cache-control': 'no-store',
		...headers
	});
	res.end(headOnly ? undefined : text);
}
