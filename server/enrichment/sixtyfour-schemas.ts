/**
 * Sixtyfour request/response shapes (../shared/sixtyfour/API-NOTES.md). Responses are parsed
 * leniently: every documented variant is accepted and normalised to one shape.
 */
import * as v from 'valibot';
import { STRUCT_FIELD_TYPES, TIERS } from '../../src/lib/workflow/schema';

const Scalar = v.union([v.string(), v.number(), v.boolean(), v.null()]);

export const LeadInfoSchema = v.record(v.string(), Scalar);

export const EnrichLeadRequestSchema = v.object({
	lead_info: LeadInfoSchema,
	struct: v.record(
		v.string(),
		v.union([v.string(), v.object({ description: v.string(), type: v.optional(v.picklist(STRUCT_FIELD_TYPES)) })])
	),
	research_plan: v.optional(v.string()),
	tier: v.optional(v.picklist(TIERS)),
	max_iterations: v.optional(v.number()),
	field_confidence: v.optional(v.boolean())
});
export type EnrichLeadRequest = v.InferOutput<typeof EnrichLeadRequestSchema>;

export const EnrichLeadResponseSchema = v.object({
	notes: v.optional(v.nullable(v.string()), null),
	structured_data: v.record(v.string(), v.unknown()),
	findings: v.optional(v.array(v.unknown()), []),
	references: v.optional(v.nullable(v.record(v.string(), v.unknown())), null),
	/** 0–10 in most examples, 0–1 in one: normalised by `confidence0to10`. */
	confidence_score: v.optional(v.nullable(v.number()), null)
});
export type EnrichLeadResponse = v.InferOutput<typeof EnrichLeadResponseSchema> & {
	/** Cents charged for this answer, when the API said (async `charge_amount`). */
	cost_cents?: number;
};

export const EnrichCompanyRequestSchema = v.object({
	target_company: LeadInfoSchema,
	struct: EnrichLeadRequestSchema.entries.struct,
	find_people: v.optional(v.boolean()),
	people_focus_prompt: v.optional(v.string()),
	lead_struct: v.optional(EnrichLeadRequestSchema.entries.struct),
	research_plan: v.optional(v.string()),
	tier: v.optional(v.picklist(TIERS)),
	max_iterations: v.optional(v.number())
});
export type EnrichCompanyRequest = v.InferOutput<typeof EnrichCompanyRequestSchema>;

/** One person of a Find people answer: an object, or (leniently) just a name. */
const PersonSchema = v.union([
	v.record(v.string(), v.unknown()),
	v.pipe(
		v.string(),
		v.transform((name) => ({ name }) as Record<string, unknown>)
	)
]);

/** A people list: non-person entries (null, numbers) are dropped rather than failing the company. */
const PeopleList = v.pipe(
	v.array(v.unknown()),
	v.transform((items) =>
		items.flatMap((item) => {
			const person = v.safeParse(PersonSchema, item);
			return person.success ? [person.output] : [];
		})
	)
);

/**
 * `/enrich-company` answer: the enrich-lead envelope, plus `people` — the Find people list, read
 * from `structured_data.leads` or `structured_data.people` (sources differ; top-level `leads` /
 * `people` are accepted too), or null when the answer carries no list.
 */
export const EnrichCompanyResponseSchema = v.pipe(
	v.looseObject({ ...EnrichLeadResponseSchema.entries }),
	v.transform((answer) => {
		const structured = answer.structured_data;
		const raw = [structured.leads, structured.people, answer.leads, answer.people].find(Array.isArray);
		const people = raw === undefined ? null : v.parse(PeopleList, raw);
		return {
			notes: answer.notes,
			structured_data: structured,
			findings: answer.findings,
			references: answer.references,
			confidence_score: answer.confidence_score,
			people
		};
	})
);
export type EnrichCompanyResponse = v.InferOutput<typeof EnrichCompanyResponseSchema> & {
	/** Cents charged for this answer, when the API said (async `charge_amount`). */
	cost_cents?: number;
};

export const FindEmailRequestSchema = v.object({
	lead: LeadInfoSchema,
	mode: v.optional(v.picklist(['PROFESSIONAL', 'PERSONAL'])),
	verify_emails: v.optional(v.boolean())
});
export type FindEmailRequest = v.InferOutput<typeof FindEmailRequestSchema>;

/** `[address, status, type]` or `[address, status]`. */
const EmailTuple = v.pipe(
	v.array(v.nullable(v.string())),
	v.minLength(1),
	v.transform((t) => ({ address: t[0] ?? '', status: t[1] ?? 'UNKNOWN', type: t[2] ?? null }))
);
const EmailList = v.optional(
	v.nullable(
		v.union([
			v.array(EmailTuple),
			v.pipe(
				v.string(),
				v.transform((s) => [{ address: s, status: 'UNKNOWN', type: null }])
			)
		])
	),
	null
);

export const FindEmailResponseSchema = v.looseObject({
	email: EmailList,
	personal_email: EmailList,
	cost_cents: v.optional(v.nullable(v.number()), null)
});
export type FindEmailResponse = v.InferOutput<typeof FindEmailResponseSchema>;
export type FoundEmail = NonNullable<FindEmailResponse['email']>[number];

export const FindPhoneRequestSchema = v.object({
	lead: LeadInfoSchema
});
export type FindPhoneRequest = v.InferOutput<typeof FindPhoneRequestSchema>;

/** One number found: `{number, region?}`, or (leniently) the bare number. */
const PhoneEntry = v.union([
	v.pipe(
		v.string(),
		v.transform((number) => ({ number, region: null as string | null }))
	),
	v.pipe(
		v.looseObject({ number: v.string(), region: v.optional(v.nullable(v.string()), null) }),
		v.transform(({ number, region }) => ({ number, region }))
	)
]);

/**
 * `/find-phone` answer: the lead echoed back with `phone` — one number as text, a list of
 * `{number, region}`, or `""` / null when none was found — normalised to `phones` (empty entries
 * dropped, order kept: the first is the best).
 */
export const FindPhoneResponseSchema = v.pipe(
	v.looseObject({
		phone: v.optional(v.nullable(v.union([v.string(), v.array(PhoneEntry)])), null),
		cost_cents: v.optional(v.nullable(v.number()), null)
	}),
	v.transform((answer) => {
		const raw = answer.phone;
		const list = raw === null ? [] : typeof raw === 'string' ? [{ number: raw, region: null }] : raw;
		return {
			phones: list.map((p) => ({ number: p.number.trim(), region: p.region })).filter((p) => p.number !== ''),
			cost_cents: answer.cost_cents
		};
	})
);
export type FindPhoneResponse = v.InferOutput<typeof FindPhoneResponseSchema>;

/** `POST /*-async` answer. */
export const AsyncSubmitSchema = v.looseObject({
	task_id: v.pipe(v.string(), v.minLength(1)),
	status: v.optional(v.string())
});

const RUNNING = ['running', 'queued', 'pending', 'processing'] as const;
const FAILED = ['failed', 'cancelled', 'terminated', 'timed_out'] as const;

/** `GET /job-status/{id}` answer, normalised to running | completed | failed. */
export const JobStatusSchema = v.pipe(
	v.looseObject({
		status: v.string(),
		result: v.optional(v.unknown()),
		error: v.optional(v.unknown()),
		charge_amount: v.optional(v.nullable(v.number()))
	}),
	v.transform((s) => {
		const status = s.status.toLowerCase();
		const state: 'running' | 'completed' | 'failed' = (RUNNING as readonly string[]).includes(status)
			? 'running'
			: status === 'completed'
				? 'completed'
				: (FAILED as readonly string[]).includes(status)
					? 'failed'
					: 'running';
		return { ...s, state, rawStatus: status };
	})
);
export type JobStatusAnswer = v.InferOutput<typeof JobStatusSchema>;

/** The message inside an error body: `{detail: "…"}`, `{detail: [{loc, msg}]}` or `{error, message}`. */
export function errorMessageOf(body: unknown): string | null {
	if (!body || typeof body !== 'object') return null;
	const b = body as Record<string, unknown>;
	if (typeof b.detail === 'string') return b.detail;
	if (Array.isArray(b.detail)) {
		return b.detail
			.map((d) => {
				const item = d as { loc?: unknown[]; msg?: string };
				return `${(item.loc ?? []).join('.')}: ${item.msg ?? 'invalid'}`;
			})
			.join('; ');
	}
	if (typeof b.message === 'string') return b.message;
	if (typeof b.error === 'string') return b.error;
	return null;
}

/** Sixtyfour reports confidence on 0–10 mostly, 0–1 sometimes: always give 0–10. */
export function confidence0to10(score: number | null | undefined): number | null {
	if (score == null || !Number.isFinite(score)) return null;
	return score <= 1 ? Math.round(score * 100) / 10 : Math.round(score * 10) / 10;
}
