/**
 * Lint: typescript-eslint and eslint-plugin-svelte's recommended rules, plus the boundaries of
 * STYLE.md point 13 as rules — the isomorphic domain code (`src/lib/workflow`) imports no svelte,
 * hono or node built-ins; the browser app (`src/`) takes only types from `server/`; no import
 * cycles anywhere. Formatting is Prettier's job (eslint-config-prettier turns the overlapping rules off).
 */
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

/** Node's built-in modules, with and without the `node:` prefix. */
const NODE_BUILTINS = [
	'node:*',
	'fs',
	'fs/*',
	'path',
	'os',
	'crypto',
	'http',
	'https',
	'net',
	'stream',
	'stream/*',
	'url',
	'util',
	'child_process',
	'worker_threads',
	'events',
	'buffer',
	'zlib'
];

const SERVER_TYPES_ONLY = {
	group: ['**/server/*', '**/server/**'],
	allowTypeImports: true,
	message: 'src/ takes only types from server/ (import type).'
};

export default ts.config(
	{ ignores: ['build/', '.svelte-kit/', 'node_modules/', 'data/', 'test-results/', 'tmp/'] },
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	prettier,
	...svelte.configs.prettier,
	{
		languageOptions: { globals: { ...globals.browser, ...globals.node } },
		plugins: { 'import-x': importX },
		settings: {
			'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.svelte.ts', '.svelte'] })],
			'import-x/extensions': ['.ts', '.js'],
			'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] }
		},
		rules: {
			'import-x/no-cycle': ['error', { ignoreExternal: true }],
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
			// `catch {}` around best-effort cleanup is deliberate and commented where it happens.
			'no-empty': ['error', { allowEmptyCatch: true }],
			// The app is served at the root (no `paths.base`), so plain hrefs are already resolved.
			'svelte/no-navigation-without-resolve': 'off',
			// It flags every Set/Map in a .svelte.ts file, also locals and private non-reactive
			// bookkeeping (sets of ids already requested); reactive collections here are $state arrays.
			'svelte/prefer-svelte-reactivity': 'off'
		}
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts'],
		languageOptions: { parserOptions: { projectService: false, extraFileExtensions: ['.svelte'], parser: ts.parser, svelteConfig } }
	},
	{
		// The browser app may take types from the server (the typed API client), never code.
		files: ['src/**'],
		ignores: ['src/**/*.server.ts'],
		rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [SERVER_TYPES_ONLY] }] }
	},
	{
		// Isomorphic domain code: runs in the browser, the server and the CLI alike. (One rule entry
		// holds both sets: a later block's entry for the same rule replaces an earlier one.)
		files: ['src/lib/workflow/**'],
		rules: {
			'@typescript-eslint/no-restricted-imports': [
				'error',
				{
					patterns: [
						SERVER_TYPES_ONLY,
						{
							group: ['svelte', 'svelte/*', '$app/*', '$lib/components/*'],
							message: 'src/lib/workflow is isomorphic: no svelte.'
						},
						{ group: ['hono', 'hono/*'], message: 'src/lib/workflow is isomorphic: no hono.' },
						{ group: NODE_BUILTINS, message: 'src/lib/workflow is isomorphic: no node built-ins.' }
					]
				}
			]
		}
	}
);
