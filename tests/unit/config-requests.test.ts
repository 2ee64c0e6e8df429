/** The settings of issue 14: a learnt-limit ceiling, bulk find-email, and PUBLIC_URL for webhooks. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config';

const load = (env: Record<string, string | undefined>) => loadConfig({ env: { DATA_DIR: '/tmp/leadflow-config', ...env }, envFile: null });

describe('request-saving settings', () => {
	it('defaults: no ceiling, bulk decided by the mode, no public URL (no webhooks)', () => {
		expect(load({})).toMatchObject({ maxRatePerMinute: undefined, findEmailBulk: undefined, publicUrl: undefined });
	});

	it.each([
		{ env: { SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN: '2000' }, expected: { maxRatePerMinute: 2000 } },
		{ env: { SIXTYFOUR_FIND_EMAIL_BULK: 'true' }, expected: { findEmailBulk: true } },
		{ env: { SIXTYFOUR_FIND_EMAIL_BULK: 'no' }, expected: { findEmailBulk: false } },
		{ env: { PUBLIC_URL: 'https://leads.example.com/' }, expected: { publicUrl: 'https://leads.example.com' } }
	])('$env', ({ env, expected }) => {
		expect(load(env)).toMatchObject(expected);
	});

	it.each([
		{ env: { SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN: '0' }, name: 'SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN' },
		{ env: { SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN: 'lots' }, name: 'SIXTYFOUR_RATE_LIMIT_MAX_PER_MIN' },
		{ env: { SIXTYFOUR_FIND_EMAIL_BULK: 'maybe' }, name: 'SIXTYFOUR_FIND_EMAIL_BULK' },
		{ env: { PUBLIC_URL: 'leads.example.com' }, name: 'PUBLIC_URL' },
		{ env: { PUBLIC_URL: 'ftp://leads.example.com' }, name: 'PUBLIC_URL' }
	])('$env is refused naming $name', ({ env, name }) => {
		expect(() => load(env)).toThrow(ConfigError);
		expect(() => load(env)).toThrow(new RegExp(`^Invalid configuration: ${name}: `));
	});
});
