import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * Content-Security-Policy of every page. `mode: 'auto'` lets SvelteKit hash (prerendered) or nonce
 * (rendered) its own inline bootstrap script, so no page needs `'unsafe-inline'` for scripts.
 * - `connect-src ws: wss:`: the editor's Yjs (`/yjs/:id`) and live (`/live/:id`) WebSockets; the
 *   bare schemes are needed because `'self'` does not cover ws: in every browser.
 * - `style-src 'unsafe-inline'`: Svelte writes `style="…"` attributes (app.html's wrapper, `style:`
 *   directives, progress bars) — styles only; scripts stay locked down.
 * - `frame-ancestors 'none'`: links carry edit tokens, so no other site may frame the editor.
 */
const csp = {
	mode: 'auto',
	directives: {
		'default-src': ['self'],
		'script-src': ['self'],
		'style-src': ['self', 'unsafe-inline'],
		'img-src': ['self', 'data:'],
		'font-src': ['self'],
		'connect-src': ['self', 'ws:', 'wss:'],
		'object-src': ['none'],
		'base-uri': ['self'],
		'form-action': ['self'],
		'frame-ancestors': ['none']
	}
};

/**
 * Where the build goes: `build/` and `.svelte-kit/` by default. `LEADFLOW_BUILD_DIR` moves both
 * under one directory, so a test can build with its own environment (e.g. a fake API key, to prove
 * the key never reaches the bundle) without touching the build the app serves.
 */
const buildDir = process.env.LEADFLOW_BUILD_DIR;

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: buildDir ? `${buildDir}/build` : 'build' }),
		...(buildDir ? { outDir: `${buildDir}/.svelte-kit` } : {}),
		csp
	}
};

export default config;
