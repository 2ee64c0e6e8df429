/**
 * Request bodies as the real API (a FastAPI service) accepts them — per openapi-subset.json:
 * extra keys ignored, `lead_info` / `lead` / `target_company` free-form objects — and the
 * FastAPI-style 422 `{detail: [{loc, msg, type}]}` built from valibot issues.
 */
import * as v from 'valibot';
import { TIERS } from '../../../src/lib/workflow/schema';

/** Bulk find-email accepts at most this many leads per request. */
export const MAX_BULK_LEADS = 100;

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const DICT_MESSAGE = 'Input should be a valid dictionary';
/** A JSON object with any keys (valibot's record/object alone would let arrays through). */
const FreeObject = v.custom<Record<string, unknown>>(isPlainObject, DICT_MESSAGE);
const OptionalText = v.optional(v.nullable(v.string()));
const Common = {
	research_plan: OptionalText,
	max_iterations: v.optional(v.nullable(v.pipe(v.number(), v.integer()))),
	webhook_url: OptionalText,
	benchmark: v.optional(v.nullable(v.boolean()))
};
const Mode = v.optional(v.picklist(['PROFESSIONAL', 'PERSONAL']), 'PROFESSIONAL');

export const EnrichLeadBodySchema = v.object({
	lead_info: FreeObject,
	struct: v.optional(v.nullable(FreeObject)),
	tier: v.optional(v.nullable(v.picklist(TIERS))),
	field_confidence: v.optional(v.nullable(v.boolean())),
	...Common
});
export type EnrichLeadBody = v.InferOutput<typeof EnrichLeadBodySchema>;

export const EnrichCompanyBodySchema = v.object({
	target_company: FreeObject,
	struct: FreeObject,
	find_people: v.optional(v.boolean(), false),
	people_focus_prompt: OptionalText,
	lead_struct: v.optional(v.nullable(FreeObject)),
	full_org_chart: v.optional(v.boolean(), false),
	tier: v.optional(v.nullable(v.picklist(TIERS))),
	...Common
});
export type EnrichCompanyBody = v.InferOutput<typeof EnrichCompanyBodySchema>;

export const FindEmailBodySchema = v.object({
	lead: FreeObject,
	mode: Mode,
	verify_emails: v.optional(v.boolean(), true),
	providers: v.optional(v.nullable(v.array(v.string()))),
	webhook_url: OptionalText
});
export type FindEmailBody = v.InferOutput<typeof FindEmailBodySchema>;

export const FindEmailBulkBodySchema = v.object({
	leads: v.pipe(v.array(FreeObject), v.maxLength(MAX_BULK_LEADS)),
	mode: Mode,
	verify_emails: v.optional(v.boolean(), true),
	providers: v.optional(v.nullable(v.array(v.string()))),
	webhook_url: OptionalText
});
export type FindEmailBulkBody = v.InferOutput<typeof FindEmailBulkBodySchema>;

export const FindPhoneBodySchema = v.object({
	lead: FreeObject,
	webhook_url: OptionalText
});
export type FindPhoneBody = v.InferOutput<typeof FindPhoneBodySchema>;

/** One entry of a FastAPI 422 `detail` list. */
export interface ValidationDetail {
	loc: (string | number)[];
	msg: string;
	type: string;
	input?: unknown;
}

const TYPE_MESSAGES: Record<string, [type: string, msg: string]> = {
	object: ['dict_type', 'Input should be a valid dictionary'],
	record: ['dict_type', 'Input should be a valid dictionary'],
	string: ['string_type', 'Input should be a valid string'],
	boolean: ['bool_type', 'Input should be a valid boolean'],
	number: ['float_type', 'Input should be a valid number'],
	integer: ['int_from_float', 'Input should be a valid integer'],
	array: ['list_type', 'Input should be a valid list'],
	custom: ['dict_type', DICT_MESSAGE]
};

/** FastAPI's reading of one valibot issue. */
function detailOf(issue: v.BaseIssue<unknown>): ValidationDetail {
	const loc: (string | number)[] = ['body', ...(issue.path ?? []).map((p) => p.key as string | number)];
	if (issue.input === undefined && issue.path?.length) return { loc, msg: 'Field required', type: 'missing' };
	if (issue.type === 'picklist') {
		return { loc, msg: `Input should be ${oneOf(issue.expected ?? '')}`, type: 'enum', input: issue.input };
	}
	if (issue.type === 'max_length') {
		return { loc, msg: `List should have at most ${issue.requirement as number} items after validation`, type: 'too_long' };
	}
	const [type, msg] = TYPE_MESSAGES[issue.type] ?? ['value_error', issue.message];
	return { loc, msg, type, input: issue.input };
}

/** `("a" | "b" | "c")` → `'a', 'b' or 'c'`, as pydantic words it. */
function oneOf(expected: string): string {
	const options = [...expected.matchAll(/"([^"]*)"/g)].map((m) => `'${m[1]}'`);
	if (options.length === 0) return 'one of the allowed values';
	return options.length === 1 ? options[0]! : `${options.slice(0, -1).join(', ')} or ${options[options.length - 1]}`;
}

/** Parse a body, or give the 422 detail list. */
export function validateBody<S extends v.GenericSchema>(
	schema: S,
	body: unknown
): { ok: true; value: v.InferOutput<S> } | { ok: false; detail: ValidationDetail[] } {
	if (!isPlainObject(body)) return { ok: false, detail: [{ loc: ['body'], msg: DICT_MESSAGE, type: 'dict_type', input: body }] };
	const result = v.safeParse(schema, body);
	if (result.success) return { ok: true, value: result.output };
	return { ok: false, detail: result.issues.map(detailOf) };
}
