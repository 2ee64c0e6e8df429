/**
 * Everything the simulator can be told, as one valibot schema: latency per endpoint, the rate
 * limit, fault rates, auth and billing switches, and the seed. Defaults give a fast, faultless,
 * unlimited simulator; `DEMO_SIMULATOR_OPTIONS` gives one slow enough for a person to watch.
 */
import * as v from 'valibot';

/** Latency classes: each sync endpoint, the async submit itself, and job-status polls. */
export const SIM_ENDPOINTS = [
	'enrich_lead',
	'enrich_company',
	'find_email',
	'find_email_bulk',
	'find_phone',
	'async_submit',
	'job_status'
] as const;
export type SimEndpoint = (typeof SIM_ENDPOINTS)[number];

const DAY_MS = 86_400_000;
const Ms = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(DAY_MS));
const Rate = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const Cents = v.pipe(v.number(), v.finite(), v.minValue(0));

export const LatencySpecSchema = v.pipe(
	v.strictObject({ medianMs: Ms, p99Ms: v.optional(Ms) }),
	v.check((l) => l.p99Ms === undefined || l.p99Ms >= l.medianMs, 'p99Ms must be at least medianMs')
);

/** `default` applies to every endpoint not named; unnamed and no default → no delay. */
const LatencyTableSchema = v.strictObject({
	default: v.optional(LatencySpecSchema),
	...(Object.fromEntries(SIM_ENDPOINTS.map((e) => [e, v.optional(LatencySpecSchema)])) as {
		[K in SimEndpoint]: v.OptionalSchema<typeof LatencySpecSchema, undefined>;
	})
});

export const RateLimitSchema = v.strictObject({
	/** Requests admitted per key within any window (polls included). */
	requests: v.pipe(v.number(), v.integer(), v.minValue(1)),
	windowMs: v.optional(v.pipe(Ms, v.minValue(1)), 60_000)
});

const FaultsSchema = v.pipe(
	v.strictObject({
		/** Share of API requests answered `500 {detail}` (after their latency). */
		error500: v.optional(Rate, 0),
		/** Share of API requests never answered, until the client gives up or `hangTimeoutMs`. */
		hang: v.optional(Rate, 0),
		/** Share of API requests answered 200 with a truncated JSON body (never charged). */
		malformed: v.optional(Rate, 0),
		/** Share of API requests whose connection is destroyed instead of answered. */
		reset: v.optional(Rate, 0),
		/** Share of async jobs that end `failed` / `timed_out` (never charged). */
		asyncFailed: v.optional(Rate, 0),
		asyncTimedOut: v.optional(Rate, 0),
		/** Share of webhook deliveries never sent / sent twice. */
		webhookDrop: v.optional(Rate, 0),
		webhookDuplicate: v.optional(Rate, 0)
	}),
	v.check((f) => f.error500 + f.hang + f.malformed + f.reset <= 1, 'Request fault rates add up to more than 1'),
	v.check((f) => f.asyncFailed + f.asyncTimedOut <= 1, 'Async fault rates add up to more than 1'),
	v.check((f) => f.webhookDrop + f.webhookDuplicate <= 1, 'Webhook fault rates add up to more than 1')
);

const PricesSchema = v.strictObject({
	enrich_lead: v.optional(Cents, 5),
	enrich_company: v.optional(Cents, 10),
	find_email_professional: v.optional(Cents, 5),
	find_email_personal: v.optional(Cents, 20),
	find_phone: v.optional(Cents, 30)
});

export const SimulatorOptionsSchema = v.strictObject({
	/** Fixes fake data and the fault/latency sequences. */
	seed: v.optional(v.pipe(v.number(), v.integer()), 64),
	/** The only accepted `x-api-key`; null accepts any non-empty key. */
	apiKey: v.optional(v.nullable(v.pipe(v.string(), v.minLength(1))), null),
	/** Without it, `tier: "high" | "xhigh"` is refused with 403. */
	allowHighTier: v.optional(v.boolean(), false),
	/** Credit balance in cents; a paid call it cannot cover gets 402. null = unlimited. */
	creditsCents: v.optional(v.nullable(Cents), null),
	latency: v.optional(LatencyTableSchema, {}),
	/** null = no limit. */
	rateLimit: v.optional(v.nullable(RateLimitSchema), null),
	faults: v.optional(FaultsSchema, {}),
	/** How long a hung request waits before it gives up with 504. */
	hangTimeoutMs: v.optional(Ms, 600_000),
	prices: v.optional(PricesSchema, {}),
	/** POSTs per webhook delivery (the first included), and the wait before the first retry (doubling). */
	webhookAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10)), 3),
	webhookRetryMs: v.optional(Ms, 200),
	/** Finished async jobs are forgotten (then 404) this long after they end. */
	jobTtlMs: v.optional(Ms, 3_600_000)
});

/** Options as given (everything optional). Also the shape of a run-time `configure()` patch. */
export type SimulatorOptionsInput = v.InferInput<typeof SimulatorOptionsSchema>;
/** Options with every default applied. */
export type SimulatorOptions = v.InferOutput<typeof SimulatorOptionsSchema>;

/**
 * Used when the app runs without an API key: slow enough that a person sees rows progress
 * (enrich ≈ 3 s median, 8 s p99; find-email and find-phone ≈ 1.5 s), rate-limited like the real API.
 */
export const DEMO_SIMULATOR_OPTIONS = Object.freeze({
	latency: {
		default: { medianMs: 3_000, p99Ms: 8_000 },
		find_email: { medianMs: 1_500, p99Ms: 4_000 },
		find_phone: { medianMs: 1_500, p99Ms: 4_000 },
		async_submit: { medianMs: 60, p99Ms: 250 },
		job_status: { medianMs: 40, p99Ms: 200 }
	},
	rateLimit: { requests: 600, windowMs: 60_000 }
} satisfies SimulatorOptionsInput);

/** Validate options; throws an Error naming every bad field. */
export function parseSimulatorOptions(input: unknown): SimulatorOptions {
	const result = v.safeParse(SimulatorOptionsSchema, input);
	if (!result.success) throw new Error(`Invalid simulator options: ${v.summarize(result.issues)}`);
	return result.output;
}

const MERGED_KEYS = ['latency', 'faults', 'prices'] as const;

/**
 * Apply a patch to options as given: `latency`, `faults` and `prices` merge key by key (so
 * `{ faults: { error500: 0.1 } }` keeps the other rates); every other key replaces.
 */
export function mergeOptionsInput(base: SimulatorOptionsInput, patch: SimulatorOptionsInput): SimulatorOptionsInput {
	const merged: Record<string, unknown> = { ...base, ...patch };
	for (const key of MERGED_KEYS) {
		const from = patch[key];
		if (from && typeof from === 'object') merged[key] = { ...(base[key] ?? {}), ...from };
	}
	return merged as SimulatorOptionsInput;
}
