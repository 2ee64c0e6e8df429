/**
 * `npm run dev`: the same server and routes as `npm start`, with the pages served by Vite's dev
 * middleware (hot reload) instead of the SvelteKit build. One command, one port.
 */
import { createServer as createViteServer } from 'vite';
import { main } from './index';

void main({
	pages: async (server) => {
		const vite = await createViteServer({
			server: { middlewareMode: true, hmr: { server } },
			appType: 'custom'
		});
		return (req, res, next) => vite.middlewares(req, res, next);
	}
});
