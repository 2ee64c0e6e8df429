/**
 * The API reference as one static HTML page rendered from the OpenAPI document (`GET /api/docs`):
 * no script at all (the API's Content-Security-Policy allows none, and a reference needs none),
 * one inline stylesheet allowed by its hash, every text escaped.
 */
import { createHash } from 'node:crypto';
import type { JsonSchema } from '@valibot/to-json-schema';
import type { OpenApiDocument, OpenApiOperation } from './document';

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1,h2,h3{line-height:1.2}h2{margin-top:2.5rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
h3{margin:1.8rem 0 .4rem;font-size:1.05rem}code{font:13px ui-monospace,monospace;background:#f3f4f6;padding:0 .25rem;border-radius:3px}
.m{display:inline-block;min-width:3.2rem;text-align:center;font:600 12px ui-monospace,monospace;color:#fff;border-radius:3px;padding:.1rem .3rem;margin-right:.4rem}
.get{background:#1a7f37}.post{background:#0969da}table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{text-align:left;vertical-align:top;border-bottom:1px solid #eaeef2;padding:.25rem .5rem;font-size:14px}
.note{color:#57606a}.tag{background:#fff8c5;border-radius:3px;padding:0 .3rem;font-size:13px}ul.toc{columns:2}
`.trim();

/** The page's Content-Security-Policy: nothing but its own stylesheet. */
export const REFERENCE_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

const escape = (s: unknown) =>
	String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
/** Backticks in descriptions become code, as in Markdown; the rest stays text. */
const prose = (s: string | undefined) => escape(s ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');
const anchor = (name: string) => `schema-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** A schema in one line: `string`, `array of Row`, `"csv" | "xlsx"`, a link for a named one. */
function typeOf(schema: JsonSchema | boolean | undefined): string {
	if (schema === undefined || schema === true) return 'any';
	if (schema === false) return 'never';
	if (schema.$ref) {
		const name = schema.$ref.split('/').pop()!;
		return `<a href="#${anchor(name)}">${escape(name)}</a>`;
	}
	if (schema.const !== undefined) return `<code>${escape(JSON.stringify(schema.const))}</code>`;
	if (schema.enum) return schema.enum.map((e) => `<code>${escape(JSON.stringify(e))}</code>`).join(' | ');
	const alternatives = schema.anyOf ?? schema.oneOf;
	if (alternatives) return alternatives.map((s) => typeOf(s as JsonSchema)).join(' | ');
	if (schema.type === 'array') return `array of ${typeOf(schema.items as JsonSchema)}`;
	if (schema.type === 'object' && !schema.properties && schema.additionalProperties) {
		return `map of ${typeOf(schema.additionalProperties as JsonSchema)}`;
	}
	return escape(Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any'));
}

/** Bounds, patterns and defaults worth knowing when writing a request. */
function constraints(schema: JsonSchema): string {
	const parts: string[] = [];
	if (schema.minLength !== undefined) parts.push(`min length ${schema.minLength}`);
	if (schema.maxLength !== undefined) parts.push(`max length ${schema.maxLength}`);
	if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
	if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
	if (schema.pattern) parts.push(`pattern <code>${escape(schema.pattern)}</code>`);
	if (schema.format) parts.push(escape(schema.format));
	if (schema.default !== undefined) parts.push(`default <code>${escape(JSON.stringify(schema.default))}</code>`);
	return parts.join(', ');
}

/** An object's fields as table rows, nested objects indented under their field. */
function fieldRows(schema: JsonSchema, prefix = ''): string {
	const required = new Set(schema.required ?? []);
	return Object.entries(schema.properties ?? {})
		.map(([name, raw]) => {
			const field = raw as JsonSchema;
			const nested = field.type === 'object' && field.properties ? fieldRows(field, `${prefix}${name}.`) : '';
			const note = [field.description ? prose(field.description) : '', constraints(field)].filter(Boolean).join(' — ');
			const row = `<tr><td><code>${escape(prefix + name)}</code>${required.has(name) ? '' : ' <span class="note">optional</span>'}</td><td>${typeOf(field)}</td><td>${note}</td></tr>`;
			return row + nested;
		})
		.join('');
}

function schemaBlock(schema: JsonSchema): string {
	if (schema.type === 'object' && schema.properties) {
		return `<table><tr><th>Field</th><th>Type</th><th>Notes</th></tr>${fieldRows(schema)}</table>`;
	}
	return `<p>${typeOf(schema)}${constraints(schema) ? ` — ${constraints(schema)}` : ''}</p>`;
}

function operationBlock(path: string, method: string, op: OpenApiOperation): string {
	const out = [
		`<h3 id="${escape(op.operationId)}"><span class="m ${escape(method)}">${escape(method.toUpperCase())}</span><code>${escape(path)}</code></h3>`
	];
	out.push(`<p>${prose(op.summary)}</p>`);
	if (op.description) out.push(...op.description.split('\n\n').map((p) => `<p class="note">${prose(p)}</p>`));
	const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
	const optional = (op.security ?? []).some((s) => Object.keys(s).length === 0);
	if (schemes.length)
		out.push(
			`<p class="note">Auth: ${[...new Set(schemes)].map((s) => `<code>${escape(s)}</code>`).join(' or ')}${optional ? ' (not for resources of no workflow)' : ''}</p>`
		);
	if (op.parameters?.length) {
		const rows = op.parameters.map(
			(p) =>
				`<tr><td><code>${escape(p.name)}</code> <span class="note">${p.in}${p.required ? '' : ', optional'}</span></td><td>${typeOf(p.schema)}</td><td>${[prose(p.description), constraints(p.schema)].filter(Boolean).join(' — ')}</td></tr>`
		);
		out.push(`<table><tr><th>Parameter</th><th>Type</th><th>Notes</th></tr>${rows.join('')}</table>`);
	}
	for (const [type, body] of Object.entries(op.requestBody?.content ?? {})) {
		out.push(`<p>Body (<code>${escape(type)}</code>): ${body.schema.properties ? '' : typeOf(body.schema)}</p>`);
		if (body.schema.properties) out.push(schemaBlock(body.schema));
		if (body.example !== undefined) out.push(`<p class="note">Example: <code>${escape(JSON.stringify(body.example))}</code></p>`);
	}
	const rows = Object.entries(op.responses).map(([status, r]) => {
		const types = Object.entries(r.content ?? {}).map(([type, c]) => `${typeOf(c.schema)} <span class="note">${escape(type)}</span>`);
		return `<tr><td>${escape(status)}</td><td>${types.join('<br>')}</td><td>${prose(r.description)}</td></tr>`;
	});
	out.push(`<table><tr><th>Status</th><th>Answer</th><th>When</th></tr>${rows.join('')}</table>`);
	return out.join('\n');
}

/**
 * Renders the reference page of a document.
 * @example c.header('Content-Security-Policy', REFERENCE_PAGE_CSP); return c.html(renderReferencePage(doc))
 */
export function renderReferencePage(doc: OpenApiDocument): string {
	const info = doc.info as { title: string; version: string; description: string };
	const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
		Object.entries(methods).map(([method, op]) => ({ path, method, op }))
	);
	const tags = [...new Set(ops.map((o) => o.op.tags[0]))];
	const toc = ops
		.map((o) => `<li><a href="#${escape(o.op.operationId)}">${escape(o.method.toUpperCase())} ${escape(o.path)}</a></li>`)
		.join('');
	const sections = tags.map(
		(tag) =>
			`<h2>${escape(tag)}</h2>\n${ops
				.filter((o) => o.op.tags[0] === tag)
				.map((o) => operationBlock(o.path, o.method, o.op))
				.join('\n')}`
	);
	const schemas = Object.entries(doc.components.schemas).map(
		([name, schema]) =>
			`<h3 id="${anchor(name)}">${escape(name)}</h3>${schema.description ? `<p>${prose(schema.description)}</p>` : ''}${schemaBlock(schema)}`
	);
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(info.title)} ${escape(info.version)} — reference</title><style>${STYLE}</style></head>
<body><h1>${escape(info.title)} <span class="tag">${escape(info.version)}</span></h1>
<p>${prose(info.description)}</p>
<p>Machine-readable: <a href="/api/openapi.json"><code>/api/openapi.json</code></a> (OpenAPI 3.1) — generate a client from it.</p>
<ul class="toc">${toc}</ul>
${sections.join('\n')}
<h2>Schemas</h2>
${schemas.join('\n')}
</body></html>
`;
}
