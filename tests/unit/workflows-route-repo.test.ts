import { describe, expect, it } from 'vitest';
import { accessFor, allows, readToken, tokensEqual } from '../../server/access';
import { openDatabase } from '../../server/store/db';
import { createSqliteWorkflowsRepo } from '../../server/store/workflows-repo';

describe('workflows repository (SQLite)', () => {
	it('stores a workflow and reads it back', async () => {
		const repo = createSqliteWorkflowsRepo(openDatabase(':memory:'), () => 1_000);
		const created = await repo.create({ name: 'Leads' });
		expect(await repo.get(created.id)).toEqual({ ...created, createdAt: 1_000, updatedAt: 1_000 });
		expect(await repo.get('AAAAAAAAAAAAAAAAAAAAAA')).toBeNull();
	});

	it('authorizes each token for its own workflow only', async () => {
		const repo = createSqliteWorkflowsRepo(openDatabase(':memory:'));
		const a = await repo.create({ name: 'a' });
		const b = await repo.create({ name: 'b' });
		const cases: [string, string, 'edit' | 'view' | null][] = [
			[a.id, a.editToken, 'edit'],
			[a.id, a.viewToken, 'view'],
			[a.id, b.editToken, null],
			[a.id, b.viewToken, null],
			[a.id, '', null],
			[a.id, a.editToken + 'x', null],
			[a.id, a.editToken.toUpperCase(), null],
			['AAAAAAAAAAAAAAAAAAAAAA', a.editToken, null],
			["x' OR '1'='1", a.editToken, null]
		];
		for (const [id, token, expected] of cases) expect(await repo.authorize(id, token), `${id} ${token}`).toBe(expected);
	});

	it('renames and deletes', async () => {
		let now = 1;
		const repo = createSqliteWorkflowsRepo(openDatabase(':memory:'), () => now);
		const w = await repo.create({ name: 'old' });
		now = 2;
		expect(await repo.rename(w.id, 'new')).toBe(true);
		expect(await repo.get(w.id)).toMatchObject({ name: 'new', createdAt: 1, updatedAt: 2 });
		expect(await repo.delete(w.id)).toBe(true);
		expect(await repo.get(w.id)).toBeNull();
		expect(await repo.delete(w.id)).toBe(false);
		expect(await repo.rename(w.id, 'x')).toBe(false);
	});
});

describe('access helpers', () => {
	it.each([
		['same', 'same', true],
		['same', 'Same', false],
		['short', 'a much longer secret', false],
		['', '', true]
	])('tokensEqual(%j, %j) = %s', (a, b, expected) => {
		expect(tokensEqual(a, b)).toBe(expected);
	});

	it.each([
		['edit', 'edit', true],
		['edit', 'view', true],
		['view', 'view', true],
		['view', 'edit', false],
		[null, 'view', false]
	] as const)('allows(%s, %s) = %s', (access, needed, expected) => {
		expect(allows(access, needed)).toBe(expected);
	});

	it('never grants on a token equal to neither', () => {
		expect(accessFor({ editToken: 'e', viewToken: 'v' }, 'e')).toBe('edit');
		expect(accessFor({ editToken: 'e', viewToken: 'v' }, 'v')).toBe('view');
		expect(accessFor({ editToken: 'e', viewToken: 'v' }, 'ev')).toBeNull();
	});

	it.each([
		['/live/x?token=abc', undefined, 'abc'],
		['/live/x', 'Bearer xyz', 'xyz'],
		['/live/x?token=abc', 'bearer xyz', 'xyz'],
		['/live/x?token=', undefined, null],
		['/live/x', 'Basic dXNlcjpwYXNz', null],
		['/live/x', undefined, null]
	])('readToken(%s, %s) = %s', (url, header, expected) => {
		expect(readToken(url, header)).toBe(expected);
	});
});
