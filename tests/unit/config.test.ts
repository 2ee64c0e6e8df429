import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConfigError, loadConfig, parseDotEnv } from '../../server/config';
import { createLogger } from '../../server/log';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

let temp: TempDir;
beforeAll(async () => {
	temp = await makeTempDir();
});
afterAll(() => temp.cleanup());

const load = (env: Record<string, string | undefined>, envFile: string | null = null) => loadConfig({ env, envFile, cwd: temp.dir });

describe('loadConfig', () => {
	it('applies the documented defaults', () => {
		const config = load({});
		expect(config).toMatchObject({
			port: 3000,
			host: '127.0.0.1',
			dataDir: join(temp.dir, 'data'),
			apiKey: undefined,
			baseUrl: 'https://api.sixtyfour.ai',
			rateLimitPerMinute: 500,
			uploadLimitBytes: 50 * 1024 * 1024,
			nodeEnv: 'development',
			allowedOrigins: []
		});
	});

	it.each([
		[{ PORT: '0' }, { port: 0 }],
		[{ PORT: ' 8080 ' }, { port: 8080 }],
		[{ DATA_DIR: '/srv/leads' }, { dataDir: '/srv/leads' }],
		[{ SIXTYFOUR_BASE_URL: 'http://127.0.0.1:4100/' }, { baseUrl: 'http://127.0.0.1:4100' }],
		[{ SIXTYFOUR_RATE_LIMIT_PER_MIN: '1000' }, { rateLimitPerMinute: 1000 }],
		[{ UPLOAD_LIMIT_MB: '0.5' }, { uploadLimitBytes: 512 * 1024 }],
		[{ CACHE_TTL_HOURS: '0' }, { cacheTtlMs: 0 }],
		[{ CACHE_TTL_HOURS: '2' }, { cacheTtlMs: 7_200_000 }],
		[
			{ MAX_CONCURRENT_JOBS: '4', DEFAULT_CONCURRENCY: '20' },
			{ maxConcurrentJobs: 4, defaultConcurrency: 20 }
		],
		[{ SIXTYFOUR_ASYNC: 'false' }, { asyncMode: false }],
		[{ SIXTYFOUR_API_KEY: '  ' }, { apiKey: undefined }],
		[{ SIXTYFOUR_API_KEY: 'sk-live-123' }, { apiKey: 'sk-live-123' }],
		[{ PORT: '' }, { port: 3000 }],
		[{ ALLOWED_ORIGINS: 'https://a.example, https://b.example' }, { allowedOrigins: ['https://a.example', 'https://b.example'] }],
		[{ NODE_ENV: 'production' }, { nodeEnv: 'production' }],
		[{}, { adminToken: undefined, requireAdminForPostedRuns: false, publicUrl: undefined }],
		[{}, { rateLimits: { workflowsPerMinute: 30, uploadsPerMinute: 10, runsPerMinute: 10 } }],
		[{ NODE_ENV: 'test' }, { rateLimits: { workflowsPerMinute: 0, uploadsPerMinute: 0, runsPerMinute: 0 } }],
		[{ RATE_LIMIT_RUNS_PER_MIN: '4' }, { rateLimits: { workflowsPerMinute: 30, uploadsPerMinute: 10, runsPerMinute: 4 } }],
		[
			{ RATE_LIMIT_RUNS_PER_MIN: '0', NODE_ENV: 'production' },
			{ rateLimits: { workflowsPerMinute: 30, uploadsPerMinute: 10, runsPerMinute: 0 } }
		],
		[{ ADMIN_TOKEN: ' a-long-operator-token ' }, { adminToken: 'a-long-operator-token' }],
		[{ ADMIN_TOKEN: '' }, { adminToken: undefined }],
		[{ REQUIRE_ADMIN_FOR_POSTED_RUNS: 'true' }, { requireAdminForPostedRuns: true }],
		[{ PUBLIC_URL: 'https://leads.example.com/' }, { publicUrl: 'https://leads.example.com' }]
	])('%j → %j', (env, expected) => {
		expect(load(env)).toMatchObject(expected);
	});

	it.each([
		[{ PORT: 'abc' }, 'PORT'],
		[{ PORT: '70000' }, 'PORT'],
		[{ PORT: '-1' }, 'PORT'],
		[{ PORT: '3000.5' }, 'PORT'],
		[{ SIXTYFOUR_BASE_URL: 'ftp://example.com' }, 'SIXTYFOUR_BASE_URL'],
		[{ SIXTYFOUR_BASE_URL: 'not a url' }, 'SIXTYFOUR_BASE_URL'],
		[{ SIXTYFOUR_RATE_LIMIT_PER_MIN: '0' }, 'SIXTYFOUR_RATE_LIMIT_PER_MIN'],
		[{ UPLOAD_LIMIT_MB: 'lots' }, 'UPLOAD_LIMIT_MB'],
		[{ MAX_CONCURRENT_JOBS: '0' }, 'MAX_CONCURRENT_JOBS'],
		[{ CACHE_TTL_HOURS: '-5' }, 'CACHE_TTL_HOURS'],
		[{ NODE_ENV: 'staging' }, 'NODE_ENV'],
		[{ SIXTYFOUR_ASYNC: 'maybe' }, 'SIXTYFOUR_ASYNC'],
		[{ ALLOWED_ORIGINS: 'example.com' }, 'ALLOWED_ORIGINS'],
		[{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
		[{ RATE_LIMIT_RUNS_PER_MIN: 'many' }, 'RATE_LIMIT_RUNS_PER_MIN'],
		[{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
		[{ REQUIRE_ADMIN_FOR_POSTED_RUNS: 'sometimes' }, 'REQUIRE_ADMIN_FOR_POSTED_RUNS'],
		[{ PUBLIC_URL: 'leads.example.com' }, 'PUBLIC_URL']
	])('%j is refused with one line naming %s', (env, variable) => {
		let error: unknown;
		try {
			load(env);
		} catch (err) {
			error = err;
		}
		expect(error).toBeInstanceOf(ConfigError);
		const message = (error as Error).message;
		expect(message).toMatch(new RegExp(`^Invalid configuration: ${variable}: `));
		expect(message).not.toContain('\n');
	});

	it('never shows a bad ADMIN_TOKEN in its error', () => {
		expect(() => load({ ADMIN_TOKEN: 'tiny-secret' })).toThrow(/^Invalid configuration: ADMIN_TOKEN: /);
		expect(() => load({ ADMIN_TOKEN: 'tiny-secret' })).not.toThrow(/tiny-secret/);
	});

	it('scale-out needs both service URLs, never echoes them, and a role needs scale-out', () => {
		expect(load({}).scaleOut).toBeNull();
		expect(load({}).role).toBe('all');
		const both = { DATABASE_URL: 'postgres://u:pw@127.0.0.1:5432/test', REDIS_URL: 'redis://127.0.0.1:6379/3' };
		expect(load({ ...both, ROLE: 'worker' })).toMatchObject({
			scaleOut: { databaseUrl: both.DATABASE_URL, redisUrl: both.REDIS_URL },
			role: 'worker'
		});
		expect(() => load({ DATABASE_URL: both.DATABASE_URL })).toThrow(/^Invalid configuration: REDIS_URL: scale-out needs both/);
		expect(() => load({ REDIS_URL: both.REDIS_URL })).toThrow(/^Invalid configuration: DATABASE_URL: /);
		expect(() => load({ ROLE: 'web' })).toThrow(/^Invalid configuration: ROLE: ROLE=web needs DATABASE_URL/);
		expect(() => load({ ...both, ROLE: 'cook' })).toThrow(/^Invalid configuration: ROLE: expected web, worker or all/);
		expect(() => load({ ...both, DATABASE_URL: 'mysql://u:secretpw@h/db' })).toThrow(
			/^Invalid configuration: DATABASE_URL: expected a URL like/
		);
		expect(() => load({ ...both, DATABASE_URL: 'mysql://u:secretpw@h/db' })).not.toThrow(/secretpw/);
	});

	it('reads a .env file; the environment wins over it', async () => {
		const file = join(temp.dir, '.env');
		await writeFile(file, '# comment\nexport PORT=4000\nDATA_DIR="/tmp/from file"\nHOST=0.0.0.0 # trailing comment\n');
		expect(load({ PORT: '5000' }, file)).toMatchObject({ port: 5000, dataDir: '/tmp/from file', host: '0.0.0.0' });
	});

	it('a bad value in .env names the variable too', async () => {
		const file = join(temp.dir, 'bad.env');
		await writeFile(file, 'MAX_CONCURRENT_JOBS=lots\n');
		expect(() => load({}, file)).toThrow(/^Invalid configuration: MAX_CONCURRENT_JOBS: /);
	});
});

describe('parseDotEnv', () => {
	it.each([
		['A=1', { A: '1' }],
		['A = spaced ', { A: 'spaced' }],
		["B='single # not a comment'", { B: 'single # not a comment' }],
		['C=x=y', { C: 'x=y' }],
		['not a line\n=nothing\n1BAD=x', {}],
		['D=\nE=""', { D: '', E: '' }],
		['F=1\r\nG=2\r\n', { F: '1', G: '2' }]
	])('%j', (text, expected) => {
		expect(parseDotEnv(text)).toEqual(expected);
	});
});

describe('the API key never reaches a log line', () => {
	it('redacts it by path and scrubs it from message text', () => {
		const lines: string[] = [];
		const sink = new Writable({
			write(chunk, _enc, done) {
				lines.push(String(chunk));
				done();
			}
		});
		const key = 'sk-secret-abc123';
		const logger = createLogger({ level: 'info', destination: sink, secret: key });
		logger.info({ apiKey: key, config: { apiKey: key }, headers: { 'x-api-key': key } }, 'starting');
		logger.info(`oops the key is ${key}`);
		logger.child({ service: { SIXTYFOUR_API_KEY: key } }).warn('child');
		expect(lines).toHaveLength(3);
		for (const line of lines) expect(line).not.toContain(key);
		expect(lines[0]).toContain('[redacted]');
	});

	it('a refused key value is not echoed in the configuration error', () => {
		// The key itself can't be invalid (any text is a key) but the error path must never print it:
		// prove the message for another bad variable does not carry the key that was also set.
		expect(() => load({ SIXTYFOUR_API_KEY: 'sk-secret-xyz', PORT: 'bad' })).toThrow(
			expect.objectContaining({ message: expect.not.stringContaining('sk-secret-xyz') })
		);
	});
});
