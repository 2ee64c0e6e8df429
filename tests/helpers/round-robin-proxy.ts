/**
 * A TCP load balancer for multi-process tests, as a deployment without sticky sessions has one:
 * each new connection goes to the next backend in turn; a backend that refuses the connection
 * (killed) is skipped. Nothing more: bytes are piped both ways.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface RoundRobinProxy {
	/** `http://127.0.0.1:<port>` */
	url: string;
	/** How many connections each backend got. */
	counts: number[];
	close(): Promise<void>;
}

/** `backends`: `http://host:port` URLs. */
export async function startRoundRobinProxy(backends: string[]): Promise<RoundRobinProxy> {
	const targets = backends.map((b) => new URL(b));
	const counts = targets.map(() => 0);
	const sockets = new Set<Socket>();
	let next = 0;

	function connect(client: Socket, tries: number): void {
		if (tries >= targets.length) return void client.destroy();
		const index = next++ % targets.length;
		const target = targets[index];
		const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
		sockets.add(upstream);
		let connected = false;
		upstream.once('connect', () => {
			connected = true;
			counts[index]++;
			client.pipe(upstream);
			upstream.pipe(client);
			client.resume();
		});
		upstream.on('error', () => {
			if (!connected) connect(client, tries + 1);
			else client.destroy();
		});
		upstream.on('close', () => {
			sockets.delete(upstream);
			if (connected) client.destroy();
		});
		client.on('close', () => upstream.destroy());
	}

	const server: Server = createServer((client) => {
		sockets.add(client);
		client.pause();
		client.on('error', () => {});
		client.on('close', () => sockets.delete(client));
		connect(client, 0);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	return {
		url: `http://127.0.0.1:${port}`,
		counts,
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}
