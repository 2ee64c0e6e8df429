/**
 * `GET /healthz`: is this process able to do its job? It is if it answers and its database (SQLite
 * or PostgreSQL) takes a write — a server whose disk is full or read-only accepts requests but
 * loses every edit, so the probe commits one tiny real write (a one-row scratch table) instead of
 * trusting that the file is open — and, in the scale-out mode, Redis answers (the job queue, the
 * rate limits and the message bus live there). 200 when healthy, 503 with the reason otherwise, so
 * a load balancer or an orchestrator can take the instance out of rotation.
 *
 * The report names services and states, never where they are: a connection URL or its password
 * never appears in it, even inside a database's own error message.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as v from 'valibot';
import { sql } from 'kysely';
import { asStore, isDatabaseUnavailable, type StoreHandle } from './store/store';

export const HealthReportSchema = v.object({
	status: v.picklist(['ok', 'unavailable']),
	/** `writable`, or why not: `closed` (shut down), `read_only`, `error` (anything else: disk full, I/O, PostgreSQL unreachable). */
	db: v.picklist(['writable', 'closed', 'read_only', 'error']),
	/** PostgreSQL (scale-out only): `up` when it answered the probe, `down` when it could not be reached or failed it. */
	postgresql: v.optional(v.picklist(['up', 'down'])),
	/** Redis (scale-out only): `up` when it answers PING (and the message bus is connected), else `down`. */
	redis: v.optional(v.picklist(['up', 'down'])),
	uptime_s: v.number(),
	/** Why the check failed (the database's own message, Redis's state); absent when healthy. */
	reason: v.optional(v.string())
});
export type HealthReport = v.InferOutput<typeof HealthReportSchema>;

export interface HealthCheckOptions {
	db: StoreHandle;
	/** Scale-out: whether Redis answers now. Must not reject and should answer within about a second. */
	redis?: () => Promise<boolean>;
	/** Connection URLs (DATABASE_URL, REDIS_URL) whose text and password must never appear in a report. */
	secrets?: readonly string[];
	/** When the server started (ms, `now`'s clock). Default: when the check was created. */
	startedAt?: number;
	now?: () => number;
}

export interface HealthCheck {
	/** Runs the probe now. Never rejects. */
	check(): Promise<HealthReport>;
	/** The `/healthz` handler: GET and HEAD; 200 or 503 with the report as JSON. */
	handle(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * Scratch table of the probe: one row, rewritten by every check. Created on first use rather than
 * by a migration: it holds nothing anyone reads, and a missing table is recreated by the next check.
 */
const PROBE_TABLE = sql`CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at BIGINT NOT NULL)`;

/** Error codes of a database that refuses writes: SQLite's, and PostgreSQL's read_only_sql_transaction (a standby). */
const isReadOnly = (code: unknown) => typeof code === 'string' && (code.startsWith('SQLITE_READONLY') || code === '25006');

/**
 * Builds the check over the server's database.
 * @example const health = createHealthCheck({ db }); if (path === '/healthz') return health.handle(req, res)
 */
export function createHealthCheck(options: HealthCheckOptions): HealthCheck {
	const store = asStore(options.db);
	const now = options.now ?? (() => Date.now());
	const startedAt = options.startedAt ?? now();

	/** The database's part: its state, and why it is not writable. */
	async function probeDatabase(): Promise<{ db: HealthReport['db']; reason?: string }> {
		if (!store.open) return { db: 'closed', reason: 'the database is closed' };
		try {
			await PROBE_TABLE.execute(store.db);
			await store.db
				.insertInto('health_probe')
				.values({ id: 1, checked_at: Date.now() })
				.onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ checked_at: eb.ref('excluded.checked_at') })))
				.execute();
			return { db: 'writable' };
		} catch (err) {
			if (!store.open) return { db: 'closed', reason: 'the database is closed' };
			const code = (err as { code?: unknown }).code;
			const reason = isDatabaseUnavailable(err) ? `the database cannot be reached: ${describe(err)}` : describe(err);
			return { db: isReadOnly(code) ? 'read_only' : 'error', reason };
		}
	}

	async function check(): Promise<HealthReport> {
		const uptime_s = Math.max(0, Math.round((now() - startedAt) / 1000));
		const [database, redisUp] = await Promise.all([
			probeDatabase(),
			options.redis ? options.redis().catch(() => false) : Promise.resolve(null)
		]);
		const reasons = [database.reason, redisUp === false ? 'Redis cannot be reached' : undefined].filter((r) => r !== undefined);
		const report: HealthReport = {
			status: database.db === 'writable' && redisUp !== false ? 'ok' : 'unavailable',
			db: database.db,
			uptime_s
		};
		if (store.dialect === 'postgres') report.postgresql = database.db === 'writable' || database.db === 'read_only' ? 'up' : 'down';
		if (redisUp !== null) report.redis = redisUp ? 'up' : 'down';
		if (reasons.length > 0) report.reason = scrub(reasons.join('; '), options.secrets ?? []).slice(0, 300);
		return report;
	}

	return {
		check,
		handle(req, res) {
			if (req.method !== 'GET' && req.method !== 'HEAD') {
				sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'Use GET /healthz' } }, { allow: 'GET, HEAD' });
				return;
			}
			void check().then((report) => sendJson(res, report.status === 'ok' ? 200 : 503, report, {}, req.method === 'HEAD'));
		}
	};
}

function describe(err: unknown): string {
	const message = err instanceof Error ? err.message : String(err);
	return message.slice(0, 300);
}

/**
 * `text` without any of `secrets` (URLs) nor their passwords, nor any other URL (one may carry
 * credentials in a form we cannot recognise).
 */
export function scrub(text: string, secrets: readonly string[]): string {
	let out = text;
	for (const secret of secrets) {
		if (!secret) continue;
		out = out.split(secret).join('(a connection URL)');
		let password = '';
		try {
			password = new URL(secret).password;
		} catch {
			// not a URL: its whole text is already cut out
		}
		for (const form of password ? new Set([password, safeDecode(password)]) : []) out = out.split(form).join('***');
	}
	return out.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '(a URL)');
}

function safeDecode(text: string): string {
	try {
		return decodeURIComponent(text);
	} catch {
		return text;
	}
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
