/**
 * A loopback port free right now: for a server that must come back where its clients (or
 * PUBLIC_URL) left it after a restart, or a service started on a port of the test's choosing.
 */
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
	const probe = createServer();
	await new Promise<void>((resolve, reject) => {
		probe.once('error', reject);
		probe.listen(0, '127.0.0.1', resolve);
	});
	const { port } = probe.address() as { port: number };
	await new Promise<void>((resolve) => probe.close(() => resolve()));
	return port;
}
