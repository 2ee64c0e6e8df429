/**
 * Server configuration: read once at start-up from the environment (and an optional `.env` file),
 * validated with valibot. A bad value stops the start with one line that names the variable, so a
 * typo in a deployment never turns into a half-working server.
 */
import * as v from 'valibot';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A whole number from `min` to `max` (`unit` names what it counts, e.g. "cents"), as a string env var. */
function wholeNumber(min: number, max: number, unit?: string) {
	const message = `expected a whole number${unit ? ` of ${unit}` : ''} from ${min} to ${max}`;
	return v.pipe(
		v.string(),
		v.trim(),
		v.regex(/^-?\d+$/, message),
		v.transform(Number),
		v.number(),
		v.minValue(min, message),
		v.maxValue(max, message)
	);
}

/** An integer env var with bounds; empty strings count as "not set" so the default applies. */
function intVar(min: number, max: number, fallback: number) {
	return v.optional(wholeNumber(min, max), String(fallback));
}

/** An integer env var with bounds and no fixed default (the loader decides, e.g. by NODE_ENV). */
function optionalIntVar(min: number, max: number, unit?: string) {
	return v.optional(wholeNumber(min, max, unit));
}

/** A positive decimal number (sizes, hours). */
function numberVar(min: number, max: number, fallback: number) {
	return v.optional(
		v.pipe(
			v.string(),
			v.trim(),
			v.regex(/^\d+(\.\d+)?$/, `expected a number from ${min} to ${max}`),
			v.transform(Number),
			v.number(),
			v.minValue(min, `expected a number from ${min} to ${max}`),
			v.maxValue(max, `expected a number from ${min} to ${max}`)
		),
		String(fallback)
	);
}

const BooleanVar = (fallback: boolean) =>
	v.optional(
		v.pipe(
			v.string(),
			v.trim(),
			v.toLowerCase(),
			v.picklist(['true', 'false', '1', '0', 'yes', 'no'], 'expected true or false'),
			v.transform((s) => s === 'true' || s === '1' || s === 'yes')
		),
		String(fallback)
	);

/** Blank → undefined, so `SIXTYFOUR_API_KEY=` in a `.env` means "no key" (the simulator). */
const OptionalSecret = v.pipe(
	v.optional(v.string()),
	v.transform((s) => (s && s.trim() ? s.trim() : undefined))
);

const HttpUrl = v.pipe(
	v.string(),
	v.trim(),
	v.url('expected an http(s) URL'),
	v.regex(/^https?:\/\//i, 'expected an http(s) URL'),
	v.transform((s) => s.replace(/\/+$/, ''))
);

const OriginList = v.pipe(
	v.optional(v.string(), ''),
	v.transform((s) =>
		s
			.split(',')
			.map((o) => o.trim())
			.filter(Boolean)
	),
	v.array(v.pipe(v.string(), v.url('expected a comma-separated list of origins like https://example.com')))
);

/** A connection URL with one of `schemes` (credentials may be in it: never echoed). */
const ServiceUrl = (schemes: string[], example: string) =>
	v.optional(
		v.pipe(
			v.string(),
			v.trim(),
			v.check((s) => {
				try {
					return schemes.includes(new URL(s).protocol.slice(0, -1));
				} catch {
					return false;
				}
			}, `expected a URL like ${example}`)
		)
	);

/** Variables whose values are never shown in an error (connection URLs may hold passwords). */
const SECRET_VARS = new Set(['SIXTYFOUR_API_KEY', 'ADMIN_TOKEN', 'DATABASE_URL', 'REDIS_URL']);

/** The environment as the server reads it. Every variable is a string (or absent) on the way in. */
export const EnvSchema = v.object({
	PORT: intVar(0, 65_535, 3000),
	HOST: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'expected a host name or address')), '127.0.0.1'),
	DATA_DIR: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'expected a directory')), './data'),
	SIXTYFOUR_API_KEY: OptionalSecret,
	SIXTYFOUR_BASE_URL: v.optional(HttpUrl, 'https://api.sixtyfour.ai'),
	SIXTYFOUR_RATE_LIMIT_PER_MIN: intVar(1, 1_000_000, 500),
	/** Most requests in flight to the API at once (the adaptive cap starts below it). */
	SIXTYFOUR_MAX_IN_FLIGHT: intVar(1, 10_000, 200),
	/** Use the async endpoints (submit + poll): a paid answer survives a crash. */
	SIXTYFOUR_ASYNC: BooleanVar(true),
	/**
	 * Expected time of an async enrichment before any was observed: the first poll goes out then
	 * (later ones adapt to what the API really takes). Unset: the client's default.
	 */
	SIXTYFOUR_POLL_INITIAL_MS: v.optional(
		v.pipe(
			v.string(),
			v.trim(),
			v.regex(/^\d+$/, 'expected a whole number of milliseconds from 10 to 3600000'),
			v.transform(Number),
			v.minValue(10, 'expected a whole number of milliseconds from 10 to 3600000'),
			v.maxValue(3_600_000, 'expected a whole number of milliseconds from 10 to 3600000')
		)
	),
	/** Attempts per API request, the first included (retries on 408/429/5xx/network errors). */
	SIXTYFOUR_MAX_ATTEMPTS: intVar(1, 20, 4),
	/** Timeout of one short request (submit, poll, find-email). */
	SIXTYFOUR_REQUEST_TIMEOUT_MS: intVar(1_000, 3_600_000, 60_000),
	/** Rows in flight per API block unless a workflow says otherwise. */
	DEFAULT_CONCURRENCY: intVar(1, 1_000, 50),
	MAX_CONCURRENT_JOBS: intVar(1, 100, 2),
	UPLOAD_LIMIT_MB: numberVar(0.001, 10_240, 50),
	/** How long a cached API answer is reused; 0 = forever. */
	CACHE_TTL_HOURS: numberVar(0, 1_000_000, 720),
	NODE_ENV: v.optional(v.picklist(['development', 'production', 'test'], 'expected development, production or test'), 'development'),
	ALLOWED_ORIGINS: OriginList,
	/** Count clients by `X-Forwarded-For` (right-most entry): only behind your own reverse proxy. */
	TRUST_PROXY: BooleanVar(false),
	/** Per client address; bursts of up to a minute's worth; 0 = no limit. Unset: 30 and 10 (no limit when NODE_ENV=test). */
	RATE_LIMIT_WORKFLOWS_PER_MIN: optionalIntVar(0, 100_000),
	RATE_LIMIT_UPLOADS_PER_MIN: optionalIntVar(0, 100_000),
	/** Per client address per minute, shared by posted runs, shared runs and retries. Unset: 10 (no limit when NODE_ENV=test). */
	RATE_LIMIT_RUNS_PER_MIN: optionalIntVar(0, 100_000),
	/** The operator's token (Bearer): lists every job; unset, nobody can. Never logged or echoed. */
	ADMIN_TOKEN: v.pipe(
		OptionalSecret,
		v.check((s) => s === undefined || s.length >= 16, 'expected at least 16 characters (a long random string)')
	),
	/** Runs of workflows posted as raw JSON (and their retries) need ADMIN_TOKEN. */
	REQUIRE_ADMIN_FOR_POSTED_RUNS: BooleanVar(false),
	/** The URL people open (e.g. https://leads.example.com): in production only its host (and IPs, localhost) is served. */
	PUBLIC_URL: v.optional(HttpUrl),
	/** Cents per UTC day, the whole server and each workflow (a posted run: each client); 0 = no limit. Unset: 10000 and 2000 (no limit when NODE_ENV=test). */
	SPEND_LIMIT_CENTS_PER_DAY: optionalIntVar(0, 100_000_000, 'cents'),
	SPEND_LIMIT_CENTS_PER_WORKFLOW_PER_DAY: optionalIntVar(0, 100_000_000, 'cents'),
	/** Ceiling of the rate learnt from the API's `X-RateLimit-Limit` headers (unset: none). */
	SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN: optionalIntVar(1, 1_000_000),
	/** Group find-email rows into `/find-email-bulk` requests (unset: on with the simulator, off with the real API). */
	SIXTYFOUR_FIND_EMAIL_BULK: v.optional(
		v.pipe(
			v.string(),
			v.trim(),
			v.toLowerCase(),
			v.picklist(['true', 'false', '1', '0', 'yes', 'no'], 'expected true or false'),
			v.transform((s) => s === 'true' || s === '1' || s === 'yes')
		)
	),
	/** Scale-out (issue 11): PostgreSQL for everything SQLite holds in the embedded mode. Needs REDIS_URL too. */
	DATABASE_URL: ServiceUrl(['postgres', 'postgresql'], 'postgres://user@host:5432/db'),
	/** Scale-out: Redis for the job queue, the fleet-wide rate limit, room and feed relays. Needs DATABASE_URL too. */
	REDIS_URL: ServiceUrl(['redis', 'rediss'], 'redis://127.0.0.1:6379/0'),
	/** What this process does in scale-out: `web` (HTTP + sockets), `worker` (runs jobs), `all` (both). */
	ROLE: v.optional(v.picklist(['web', 'worker', 'all'], 'expected web, worker or all'), 'all'),
	LOG_LEVEL: v.optional(
		v.picklist(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'expected a pino level (info, debug, …)'),
		'info'
	)
});

export type Env = v.InferOutput<typeof EnvSchema>;

/** The validated configuration the server runs with. */
export interface Config {
	port: number;
	host: string;
	/** Absolute. */
	dataDir: string;
	apiKey: string | undefined;
	baseUrl: string;
	rateLimitPerMinute: number;
	maxInFlight: number;
	asyncMode: boolean;
	requestTimeoutMs: number;
	maxAttempts: number;
	pollInitialMs: number | undefined;
	/** Ceiling of the learnt rate limit (undefined: none). */
	maxRatePerMinute: number | undefined;
	/** Bulk find-email: undefined = on with the simulator, off with the real API. */
	findEmailBulk: boolean | undefined;
	/**
	 * Where people reach the server (no trailing slash): in production only its host (and IPs,
	 * localhost) is served, and async calls report back by webhook under it.
	 */
	publicUrl: string | undefined;
	defaultConcurrency: number;
	maxConcurrentJobs: number;
	uploadLimitBytes: number;
	cacheTtlMs: number;
	nodeEnv: Env['NODE_ENV'];
	allowedOrigins: string[];
	logLevel: Env['LOG_LEVEL'];
	trustProxy: boolean;
	/** Per client address per minute; 0 = no limit. */
	rateLimits: { workflowsPerMinute: number; uploadsPerMinute: number; runsPerMinute: number };
	/** The operator's token, when set: lists every job, and runs posted workflows when they need it. */
	adminToken: string | undefined;
	requireAdminForPostedRuns: boolean;
	/** Spend per UTC day in cents: the whole server, and each workflow (or posting client); 0 = no limit. */
	spendLimits: { serverCentsPerDay: number; workflowCentsPerDay: number };
	/** Scale-out services (both set) or none: the embedded mode (SQLite in `dataDir`, in-process queue and rooms). */
	scaleOut: { databaseUrl: string; redisUrl: string } | null;
	/** What this process does; anything but `all` needs `scaleOut`. */
	role: Env['ROLE'];
}

/** A configuration problem: its message is the one line printed before exiting. */
export class ConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConfigError';
	}
}

/**
 * Parses a `.env` file's text: `KEY=VALUE` lines, `#` comments, optional `export ` and quotes.
 * Deliberately small (no interpolation, no multi-line values) so nothing surprising happens.
 */
export function parseDotEnv(text: string): Record<string, string> {
	const out: Record<string, string> = {};
	for (const raw of text.split(/\r?\n/)) {
		const line = raw.trim();
		if (!line || line.startsWith('#')) continue;
		const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
		if (!m) continue;
		let value = m[2];
		const quote = value[0];
		if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
			value = value.slice(1, -1);
		} else {
			value = value.replace(/\s+#.*$/, '').trim();
		}
		out[m[1]] = value;
	}
	return out;
}

export interface LoadConfigOptions {
	/** Defaults to `process.env`. */
	env?: Record<string, string | undefined>;
	/** A `.env` file to read first (the environment wins); missing is fine. Default `./.env`. */
	envFile?: string | null;
	/** Base for a relative DATA_DIR. Default `process.cwd()`. */
	cwd?: string;
}

/**
 * Reads and validates the configuration. Throws `ConfigError` with one line naming the variable.
 * @example loadConfig({ env: { PORT: '0', DATA_DIR: '/tmp/x' }, envFile: null })
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
	const cwd = options.cwd ?? process.cwd();
	const envFile = options.envFile === undefined ? resolve(cwd, '.env') : options.envFile;
	let fromFile: Record<string, string> = {};
	if (envFile && existsSync(envFile)) {
		try {
			fromFile = parseDotEnv(readFileSync(envFile, 'utf8'));
		} catch (err) {
			throw new ConfigError(`Cannot read ${envFile}: ${(err as Error).message}`);
		}
	}
	const env = options.env ?? process.env;
	const merged: Record<string, string | undefined> = { ...fromFile };
	for (const key of Object.keys(EnvSchema.entries)) {
		if (env[key] !== undefined) merged[key] = env[key];
		// An empty value means "unset" for everything but the key (handled by its own schema).
		if (merged[key] !== undefined && merged[key]!.trim() === '' && key !== 'SIXTYFOUR_API_KEY') {
			delete merged[key];
		}
	}
	const picked = Object.fromEntries(Object.keys(EnvSchema.entries).map((k) => [k, merged[k]]));
	const result = v.safeParse(EnvSchema, picked);
	if (!result.success) {
		const issue = result.issues[0];
		const name = String(issue.path?.[0]?.key ?? 'environment');
		// Never echo a secret back; other values are shown so the typo is visible.
		const shown = SECRET_VARS.has(name) ? '' : ` (got ${JSON.stringify(picked[name] ?? '')})`;
		throw new ConfigError(`Invalid configuration: ${name}: ${issue.message}${shown}`);
	}
	const e = result.output;
	if ((e.DATABASE_URL === undefined) !== (e.REDIS_URL === undefined)) {
		throw new ConfigError(
			`Invalid configuration: ${e.DATABASE_URL === undefined ? 'DATABASE_URL' : 'REDIS_URL'}: scale-out needs both DATABASE_URL and REDIS_URL (or neither, for the embedded mode)`
		);
	}
	if (e.ROLE !== 'all' && e.DATABASE_URL === undefined) {
		throw new ConfigError(
			`Invalid configuration: ROLE: ROLE=${e.ROLE} needs DATABASE_URL and REDIS_URL (the embedded mode is one process)`
		);
	}
	return {
		port: e.PORT,
		host: e.HOST,
		dataDir: resolve(cwd, e.DATA_DIR),
		apiKey: e.SIXTYFOUR_API_KEY,
		baseUrl: e.SIXTYFOUR_BASE_URL,
		rateLimitPerMinute: e.SIXTYFOUR_RATE_LIMIT_PER_MIN,
		maxInFlight: e.SIXTYFOUR_MAX_IN_FLIGHT,
		asyncMode: e.SIXTYFOUR_ASYNC,
		requestTimeoutMs: e.SIXTYFOUR_REQUEST_TIMEOUT_MS,
		maxAttempts: e.SIXTYFOUR_MAX_ATTEMPTS,
		pollInitialMs: e.SIXTYFOUR_POLL_INITIAL_MS,
		maxRatePerMinute: e.SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN,
		findEmailBulk: e.SIXTYFOUR_FIND_EMAIL_BULK,
		publicUrl: e.PUBLIC_URL,
		defaultConcurrency: e.DEFAULT_CONCURRENCY,
		maxConcurrentJobs: e.MAX_CONCURRENT_JOBS,
		uploadLimitBytes: Math.round(e.UPLOAD_LIMIT_MB * 1024 * 1024),
		cacheTtlMs: e.CACHE_TTL_HOURS * 3_600_000,
		nodeEnv: e.NODE_ENV,
		allowedOrigins: e.ALLOWED_ORIGINS,
		logLevel: e.LOG_LEVEL,
		trustProxy: e.TRUST_PROXY,
		// Test suites create many workflows from one address: limits there only when asked for.
		rateLimits: {
			workflowsPerMinute: e.RATE_LIMIT_WORKFLOWS_PER_MIN ?? (e.NODE_ENV === 'test' ? 0 : 30),
			uploadsPerMinute: e.RATE_LIMIT_UPLOADS_PER_MIN ?? (e.NODE_ENV === 'test' ? 0 : 10),
			runsPerMinute: e.RATE_LIMIT_RUNS_PER_MIN ?? (e.NODE_ENV === 'test' ? 0 : 10)
		},
		adminToken: e.ADMIN_TOKEN,
		requireAdminForPostedRuns: e.REQUIRE_ADMIN_FOR_POSTED_RUNS,
		// $100 a day for the server, $20 for one workflow: a runaway run stops at a bill someone chose.
		spendLimits: {
			serverCentsPerDay: e.SPEND_LIMIT_CENTS_PER_DAY ?? (e.NODE_ENV === 'test' ? 0 : 10_000),
			workflowCentsPerDay: e.SPEND_LIMIT_CENTS_PER_WORKFLOW_PER_DAY ?? (e.NODE_ENV === 'test' ? 0 : 2_000)
		},
		scaleOut: e.DATABASE_URL !== undefined && e.REDIS_URL !== undefined ? { databaseUrl: e.DATABASE_URL, redisUrl: e.REDIS_URL } : null,
		role: e.ROLE
	};
}
