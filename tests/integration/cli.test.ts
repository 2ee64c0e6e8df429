/**
 * The headless CLI as a user runs it: a child process over an example workflow, against a fast
 * simulator, with --input, --out and --limit; and its refusals.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config';
import { startSimulator, type RunningSimulator } from '../../server/enrichment/simulator';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const run = promisify(execFile);
let sim: RunningSimulator;
let tmp: TempDir;

beforeAll(async () => {
	sim = await startSimulator({ port: 0, latency: { default: { medianMs: 5 } } });
	tmp = await makeTempDir('cli-');
});
afterAll(async () => {
	await sim.close();
	await tmp.cleanup();
});

function cli(args: string[], env: Record<string, string> = {}) {
	return run(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], {
		cwd: resolve('.'),
		env: { ...process.env, SIXTYFOUR_API_KEY: 'cli-test-key', SIXTYFOUR_BASE_URL: sim.url, DATA_DIR: join(tmp.dir, 'data'), ...env },
		timeout: 60_000
	});
}

type Failed = { code: number; stderr: string };

describe('npm run workflow -- run', () => {
	it('runs an example on a given input, writes the output where asked and prints a summary', async () => {
		const input = join(tmp.dir, 'my leads.csv');
		writeFileSync(input, readFileSync('data/samples/leads.csv'));
		const out = join(tmp.dir, 'out');
		const { stderr } = await cli(['run', 'data/examples/basic.json', '--input', input, '--out', out, '--limit', '5']);
		expect(stderr).toMatch(/COMPLETED/);
		expect(stderr).toMatch(/rows out 5 · errors 0 · API calls \d+/);
		const [file] = readdirSync(out);
		expect(stderr).toContain(join(out, file));
		const lines = readFileSync(join(out, file), 'utf8').trim().split(/\r?\n/);
		expect(lines).toHaveLength(6);
		expect(lines[0]).toMatch(/^name,company,email/);
	});

	it('refuses an invalid workflow with the path of each problem, before any call', async () => {
		const bad = join(tmp.dir, 'bad.json');
		writeFileSync(bad, JSON.stringify({ name: 'x', blocks: [{ id: 'f', type: 'filter', params: { expression: 'a ==' } }] }));
		const before = sim.stats().requests;
		const error = await cli(['run', bad]).catch((e: { code: number; stderr: string }) => e);
		expect(error).toMatchObject({ code: 2 });
		expect((error as { stderr: string }).stderr).toMatch(/blocks\.0/);
		expect(sim.stats().requests).toBe(before);
	});

	it("reads its settings with the server's loader: a bad value fails with the server's one line, before any call", async () => {
		const env = { SIXTYFOUR_RATE_LIMIT_PER_MIN: 'lots' };
		let expected = '';
		try {
			loadConfig({ env: { ...env, DATA_DIR: join(tmp.dir, 'data') }, envFile: null });
		} catch (err) {
			expected = (err as ConfigError).message;
		}
		expect(expected).toBe(
			'Invalid configuration: SIXTYFOUR_RATE_LIMIT_PER_MIN: expected a whole number from 1 to 1000000 (got "lots")'
		);
		const before = sim.stats().requests;
		const error = (await cli(['run', 'data/examples/basic.json', '--limit', '1'], env).catch((e: Failed) => e)) as Failed;
		expect(error.code).toBe(2);
		expect(error.stderr.trim()).toBe(expected);
		expect(sim.stats().requests).toBe(before);
	});

	it('--data-dir wins over DATA_DIR (the cache database goes there)', async () => {
		const input = join(tmp.dir, 'flag leads.csv');
		writeFileSync(input, readFileSync('data/samples/leads.csv'));
		const fromEnv = join(tmp.dir, 'env-data');
		const fromFlag = join(tmp.dir, 'flag-data');
		const { stderr } = await cli(
			[
				'run',
				'data/examples/basic.json',
				'--input',
				input,
				'--out',
				join(tmp.dir, 'flag-out'),
				'--limit',
				'1',
				'--data-dir',
				fromFlag
			],
			{
				DATA_DIR: fromEnv
			}
		);
		expect(stderr).toMatch(/COMPLETED/);
		expect(existsSync(join(fromFlag, 'app.db'))).toBe(true);
		expect(existsSync(join(fromEnv, 'app.db'))).toBe(false);
	});

	it.each([
		[['--limit', 'ten'], 'Invalid option: --limit: expected a whole number (got "ten")'],
		[['--concurrency', '5000'], /^Invalid option: --concurrency: .+ \(got "5000"\)$/]
	])('refuses a bad flag %j with one line naming it', async (flag, message) => {
		const error = (await cli(['run', 'data/examples/basic.json', ...flag]).catch((e: Failed) => e)) as Failed;
		expect(error.code).toBe(2);
		if (typeof message === 'string') expect(error.stderr.trim()).toBe(message);
		else expect(error.stderr.trim()).toMatch(message);
	});

	it('prints its usage for a wrong command', async () => {
		const error = await cli(['frobnicate']).catch((e: { code: number; stderr: string }) => e);
		expect(error).toMatchObject({ code: 2 });
		expect((error as { stderr: string }).stderr).toMatch(/Usage: npm run workflow -- run/);
	});
});
