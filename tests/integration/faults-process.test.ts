/**
 * Process faults around files (the server in a child process):
 * - SIGKILL in the middle of a streamed upload: the restarted server serves, the half-written
 *   upload is not an upload (no record, not readable through the API), and the upload finished
 *   before the kill is intact;
 * - a data directory it cannot write at start (under a regular file; read-only): the process exits 1 at once with one line naming the
 *   directory (no stack trace, no retry loop).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { spawnServer, testServerEnv, type ServerProcess } from '../helpers/server';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const temps: TempDir[] = [];
const children: ServerProcess[] = [];

afterAll(async () => {
	for (const p of children) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
	await Promise.all(children.map((p) => p.exited));
	for (const t of temps) {
		await chmod(t.dir, 0o755).catch(() => {});
		await t.cleanup();
	}
});

async function tempDir(prefix: string): Promise<string> {
	const t = await makeTempDir(prefix);
	temps.push(t);
	return t.dir;
}

async function start(dataDir: string): Promise<ServerProcess> {
	const p = await spawnServer(testServerEnv(dataDir, null));
	children.push(p);
	return p;
}

const CSV = 'name,company\nAda Lovelace,Engines\nGrace Hopper,Navy\n';

async function uploadSmall(url: string): Promise<{ file_path: string; upload_id: string }> {
	const form = new FormData();
	form.append('file', new Blob([CSV], { type: 'text/csv' }), 'first.csv');
	const res = await fetch(`${url}/api/workflows/upload`, { method: 'POST', body: form });
	expect(res.status).toBe(200);
	return res.json();
}

/**
 * Streams a multipart upload by hand, one 256 KB chunk at a time and never finishing, so the
 * server is mid-write when the test kills it. Resolves once `bytes` have been sent.
 */
function startEndlessUpload(url: string, bytes: number): Promise<void> {
	const boundary = 'leadflowfaultboundary';
	const req = request(`${url}/api/workflows/upload`, {
		method: 'POST',
		headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' }
	});
	req.on('error', () => {}); // the server dies under it: expected
	req.write(
		`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.csv"\r\nContent-Type: text/csv\r\n\r\nname,company\n`
	);
	const chunk = Buffer.from('Half Written,Nowhere Inc\n'.repeat(10_000));
	let sent = 0;
	return new Promise((resolve) => {
		const pump = () => {
			while (sent < bytes) {
				sent += chunk.length;
				if (!req.write(chunk)) return void req.once('drain', pump);
			}
			resolve();
		};
		pump();
	});
}

describe('SIGKILL during an upload', () => {
	it('the restarted server serves; the half-written upload is no upload; the earlier one is intact', async () => {
		const dataDir = await tempDir('leadflow-kill-upload-');
		const first = await start(dataDir);
		const done = await uploadSmall(first.url);

		await startEndlessUpload(first.url, 3 * 1024 * 1024);
		// Wait until the server is really writing the file, then kill it mid-stream.
		let partial = '';
		const deadline = Date.now() + 10_000;
		while (!partial) {
			const files = await readdir(join(dataDir, 'uploads'));
			const other = files.find((f) => `uploads/${f}` !== done.file_path);
			if (other && (await stat(join(dataDir, 'uploads', other))).size > 256 * 1024) partial = other;
			else if (Date.now() > deadline) throw new Error('the server never started writing the upload');
			else await new Promise((r) => setTimeout(r, 20));
		}
		first.child.kill('SIGKILL');
		expect((await first.exited).signal).toBe('SIGKILL');

		const second = await start(dataDir);
		expect((await fetch(`${second.url}/api/status`)).status).toBe(200);

		// The finished upload: its record, its bytes, and the API still describe it.
		expect(await readFile(join(dataDir, done.file_path), 'utf8')).toBe(CSV);
		const described = await fetch(`${second.url}/api/workflows/source?path=${encodeURIComponent(done.file_path)}`);
		expect(described.status).toBe(200);
		expect(await described.json()).toMatchObject({ file_path: done.file_path, row_count: 2, original_name: 'first.csv' });

		// The half-written one: no upload record; the API does not offer it as an upload.
		const db = new Database(join(dataDir, 'app.db'), { readonly: true, fileMustExist: true });
		try {
			const records = db.prepare('SELECT file_path FROM uploads').all() as { file_path: string }[];
			expect(records.map((r) => r.file_path)).toEqual([done.file_path]);
		} finally {
			db.close();
		}
		const half = await fetch(`${second.url}/api/workflows/source?path=${encodeURIComponent(`uploads/${partial}`)}`);
		const halfBody = half.status === 200 ? ((await half.json()) as { original_name?: string }) : null;
		// Either gone, or at most a bare file nobody named (never presented as the upload "half.csv").
		expect(halfBody?.original_name).toBeUndefined();

		// And a new upload works at once.
		const again = await uploadSmall(second.url);
		expect(again.file_path).not.toBe(done.file_path);
	});
});

/**
 * A data directory the server cannot use, made so that it holds for every user and any checkout:
 * a path under a regular file cannot be created even by root (ENOTDIR). The read-only case needs a
 * user that permissions apply to; root ignores them, and running the server as another user would
 * need the checkout readable by that user (not so in a private `mktemp -d` clone), so as root it is
 * reported as skipped rather than faked.
 */
const UNUSABLE_DATA_DIRS: { name: string; make: (parent: string) => Promise<string>; skip: boolean }[] = [
	{
		name: 'a path under a regular file (ENOTDIR, for any user)',
		make: async (parent) => {
			await writeFile(join(parent, 'a-file'), 'not a directory');
			return join(parent, 'a-file', 'data');
		},
		skip: false
	},
	{
		name: 'a read-only directory (EACCES; needs a non-root user)',
		make: async (parent) => {
			const dataDir = join(parent, 'data');
			await mkdir(dataDir);
			await chmod(dataDir, 0o555);
			return dataDir;
		},
		skip: process.getuid?.() === 0
	}
];

describe('a data directory the server cannot write', () => {
	for (const unusable of UNUSABLE_DATA_DIRS) {
		it.skipIf(unusable.skip)(
			`${unusable.name}: exits 1 at once with one line naming the directory, no stack trace, no retry`,
			async () => {
				const parent = await tempDir('leadflow-unusable-');
				const dataDir = await unusable.make(parent);
				const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
					cwd: REPO,
					env: { PATH: process.env.PATH ?? '', HOME: parent, ...testServerEnv(dataDir, null), LOG_LEVEL: 'info' },
					stdio: ['ignore', 'pipe', 'pipe']
				});
				let stdout = '';
				let stderr = '';
				child.stdout.on('data', (d) => (stdout += d));
				child.stderr.on('data', (d) => (stderr += d));
				const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
				const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
				clearTimeout(timer);

				// Exit 1 (not the watchdog's SIGKILL): it gave up at once instead of retrying.
				expect(code).toBe(1);
				const lines = stderr.trim().split('\n');
				expect(lines, stderr).toHaveLength(1);
				expect(lines[0]).toMatch(
					new RegExp(
						`^Cannot start: the data directory ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not writable \\(.+\\)\\.`
					)
				);
				expect(stderr).not.toMatch(/\n\s+at /);
				// Nothing claimed to be listening.
				expect(stdout).not.toMatch(/server listening/);
			}
		);
	}
});
