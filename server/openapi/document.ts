/**
 * The OpenAPI 3.1 document of the REST API, built from the route list (operations.ts) and the very
 * valibot schemas the routes validate with and answer in, converted by @valibot/to-json-schema.
 * Nothing here is written by hand twice: a schema changed in a route changes the document.
 */
import { toJsonSchema, toJsonSchemaDefs, type ConversionConfig, type JsonSchema } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { ANSWER_SCHEMAS, OPERATIONS, REQUEST_SCHEMAS, type Auth, type Operation } from './operations';

export interface OpenApiDocumentOptions {
	/** The API's version (package.json's). */
	version: string;
}

/** The document as plain JSON (`GET /api/openapi.json`). */
export type OpenApiDocument = Record<string, unknown> & {
	paths: Record<string, Record<string, OpenApiOperation>>;
	components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
};
export interface OpenApiOperation {
	operationId: string;
	summary: string;
	description?: string;
	tags: string[];
	parameters?: { name: string; in: 'path' | 'query'; required: boolean; description?: string; schema: JsonSchema }[];
	requestBody?: { required: true; content: Record<string, { schema: JsonSchema; example?: unknown }> };
	responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
	security?: Record<string, string[]>[];
	'x-mounted-with'?: string;
}

/** Why each error status happens, for the reference. */
export const ERROR_DESCRIPTIONS: Record<number, string> = {
	400: 'Invalid request: `issues` names each field at fault',
	401: 'A token is needed',
	402: 'A daily spend budget is used up (or too small for this run)',
	403: 'The token does not allow this',
	404: 'Unknown resource (or not visible with this token)',
	409: 'The job is not in a state that allows this',
	413: 'The body is too large',
	415: 'Wrong media type (JSON bodies need `Content-Type: application/json`)',
	429: 'Too many requests from this client: wait and retry (`Retry-After`)',
	500: 'The server failed (the log has the details)'
};

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const overrideRef: ConversionConfig['overrideRef'] = (context) => `#/components/schemas/${context.referenceId}`;
/** Requests as sent (defaults optional, before transforms); checks with no JSON Schema form are left out. */
const REQUEST_CONFIG = { target: 'draft-2020-12', typeMode: 'input', errorMode: 'ignore', overrideRef } as const;
const ANSWER_CONFIG = { target: 'draft-2020-12', typeMode: 'output', errorMode: 'ignore', overrideRef } as const;

/** One inline schema, its named parts as references; no `$schema`/`$defs` (the components hold them). */
function inline(schema: v.GenericSchema): JsonSchema {
	const { $schema: _s, $defs: _d, ...rest } = toJsonSchema(schema, { ...REQUEST_CONFIG, definitions: REQUEST_SCHEMAS });
	return rest;
}

/** How each kind of access is described: the schemes an integrator's client needs. */
const SECURITY: Record<Auth, Record<string, string[]>[] | undefined> = {
	none: undefined,
	link: [{ linkToken: [] }, { linkTokenQuery: [] }],
	// `{}`: a resource of no workflow (an anonymous upload or job) needs no token.
	'link-if-owned': [{}, { linkToken: [] }, { linkTokenQuery: [] }],
	'link-or-admin': [{}, { linkToken: [] }, { linkTokenQuery: [] }, { adminToken: [] }]
};

function parameters(op: Operation): OpenApiOperation['parameters'] {
	const list: NonNullable<OpenApiOperation['parameters']> = [];
	for (const [name, p] of Object.entries(op.params ?? {})) {
		list.push({ name, in: 'path', required: true, description: p.description, schema: inline(p.schema) });
	}
	if (op.query) {
		const query = inline(op.query);
		const required = new Set(query.required ?? []);
		for (const [name, schema] of Object.entries(query.properties ?? {})) {
			const description = op.queryDocs?.[name];
			list.push({
				name,
				in: 'query',
				required: required.has(name),
				...(description ? { description } : {}),
				schema: schema as JsonSchema
			});
		}
	}
	return list.length ? list : undefined;
}

function requestBody(op: Operation): OpenApiOperation['requestBody'] {
	if (!op.body) return undefined;
	if ('multipart' in op.body) {
		const form: JsonSchema = {
			type: 'object',
			required: ['file'],
			properties: {
				workflow_id: { type: 'string', description: 'The workflow the file is for (send it before the file)' },
				file: { type: 'string', contentMediaType: 'application/octet-stream', description: 'The CSV or .xlsx file' }
			}
		};
		return { required: true, content: { 'multipart/form-data': { schema: form } } };
	}
	const [first, ...more] = op.body.json;
	const schema = more.length ? { oneOf: op.body.json.map(ref) } : ref(first);
	return { required: true, content: { 'application/json': { schema, example: op.body.example } } };
}

function responses(op: Operation): OpenApiOperation['responses'] {
	const { answer } = op;
	type Answer = OpenApiOperation['responses'][string];
	const media = 'json' in answer ? { 'application/json': answer.json } : answer.media;
	const content = Object.fromEntries(
		Object.entries(media).map(([type, schema]) => [type, { schema: typeof schema === 'string' ? ref(schema) : schema }])
	);
	const success: Answer = { description: answer.description, content };
	const out: OpenApiOperation['responses'] = { [answer.status]: success };
	for (const status of [...op.errors, 500]) {
		out[status] = { description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: { 'application/json': { schema: ref('Error') } } };
	}
	return out;
}

/**
 * Builds the document. Pure and deterministic: the route caches it.
 * @example const doc = createOpenApiDocument({ version: '0.1.0' }); doc.paths['/api/status'].get
 */
export function createOpenApiDocument(options: OpenApiDocumentOptions): OpenApiDocument {
	const paths: OpenApiDocument['paths'] = {};
	for (const op of OPERATIONS) {
		const operation: OpenApiOperation = {
			operationId: op.operationId,
			summary: op.summary,
			...(op.description || op.mountedWith ? { description: describe(op) } : {}),
			tags: [op.tag],
			parameters: parameters(op),
			requestBody: requestBody(op),
			responses: responses(op),
			security: SECURITY[op.auth] ?? [],
			...(op.mountedWith ? { 'x-mounted-with': op.mountedWith } : {})
		};
		(paths[op.path] ??= {})[op.method] = JSON.parse(JSON.stringify(operation)) as OpenApiOperation;
	}
	return {
		openapi: '3.1.0',
		info: {
			title: 'Leadflow API',
			version: options.version,
			description:
				'Shared lead-enrichment workflows, their files, runs and jobs. Errors always answer `{ error: { code, message, issues? } }`. ' +
				'A shared workflow is reached with one of its link tokens (edit or view), as a Bearer token or `?token=`.'
		},
		servers: [{ url: '/' }],
		tags: ['Status', 'Workflows', 'Versions', 'Files', 'Runs', 'Jobs', 'Webhooks'].map((name) => ({ name })),
		paths,
		components: {
			schemas: {
				...toJsonSchemaDefs(REQUEST_SCHEMAS, REQUEST_CONFIG),
				...toJsonSchemaDefs(ANSWER_SCHEMAS, ANSWER_CONFIG)
			},
			securitySchemes: {
				linkToken: {
					type: 'http',
					scheme: 'bearer',
					description: 'A shared workflow’s edit or view token (from its link `/w/<id>?token=…`)'
				},
				linkTokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The same link token in the query string' },
				adminToken: {
					type: 'http',
					scheme: 'bearer',
					description: 'The operator’s ADMIN_TOKEN: lists every job; may be required for posted runs'
				}
			}
		}
	};
}

function describe(op: Operation): string {
	const mounted = op.mountedWith ? `Mounted only with ${op.mountedWith}.` : '';
	return [op.description, mounted].filter(Boolean).join('\n\n');
}
