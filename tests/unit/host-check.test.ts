import { describe, expect, it } from 'vitest';
import { createHostCheck, hostnameOf } from '../../server/host-check';
import { headerScope } from '../../server/security-headers';

describe('the Host check (DNS rebinding)', () => {
	const production = createHostCheck({
		nodeEnv: 'production',
		publicUrl: 'https://Leads.Example.com/app',
		allowedOrigins: ['https://app.example:8443']
	});
	const bare = createHostCheck({ nodeEnv: 'production' });

	it.each([
		{ host: 'leads.example.com', allowed: true },
		{ host: 'LEADS.example.com:443', allowed: true },
		{ host: 'leads.example.com.', allowed: true },
		{ host: 'app.example', allowed: true },
		{ host: '127.0.0.1:3000', allowed: true },
		{ host: '10.1.2.3', allowed: true },
		{ host: '[::1]:3000', allowed: true },
		{ host: 'localhost:3000', allowed: true },
		{ host: undefined, allowed: true },
		{ host: 'evil.example:3000', allowed: false },
		{ host: 'leads.example.com.evil.example', allowed: false },
		{ host: 'localhost.evil.example', allowed: false },
		{ host: 'evil.example@127.0.0.1', allowed: false },
		{ host: '127.0.0.1/evil', allowed: false },
		{ host: '', allowed: false }
	])('production with PUBLIC_URL: Host $host → $allowed', ({ host, allowed }) => {
		expect(production.allows(host)).toBe(allowed);
	});

	it('without PUBLIC_URL, production serves IP addresses and localhost only', () => {
		expect(bare.allows('127.0.0.1:3000')).toBe(true);
		expect(bare.allows('localhost')).toBe(true);
		expect(bare.allows('leads.example.com')).toBe(false);
		expect(bare.publicOrigins).toEqual([]);
	});

	it('lists the configured origins, PUBLIC_URL first', () => {
		expect(production.publicOrigins).toEqual(['https://leads.example.com', 'https://app.example:8443']);
	});

	it('is off outside production (a dev server is reached by any name)', () => {
		expect(createHostCheck({ nodeEnv: 'development' }).allows('evil.example')).toBe(true);
	});

	it.each([
		['Example.COM:80', 'example.com'],
		['[::1]:3000', '[::1]'],
		['a b', null]
	])('hostnameOf(%j) = %j', (host, expected) => {
		expect(hostnameOf(host)).toBe(expected);
	});
});

describe('pages whose URL is a capability', () => {
	it.each([
		{ path: '/w/abc', query: 'token=x', scope: 'capability-page' },
		{ path: '/w/abc', query: '', scope: 'capability-page' },
		{ path: '/', query: 'token=x', scope: 'capability-page' },
		{ path: '/', query: 'x=token', scope: 'page' },
		{ path: '/_app/immutable/x.js', query: '', scope: 'page' },
		{ path: '/api/workflows', query: 'token=x', scope: 'api' }
	])('$path?$query → $scope', ({ path, query, scope }) => {
		expect(headerScope(path, query)).toBe(scope);
	});
});
