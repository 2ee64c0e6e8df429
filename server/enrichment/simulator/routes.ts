/**
 * The Sixtyfour endpoints, sync and async, plus `GET /job-status/{id}`. Every route passes the
 * same pipeline: meter → 401 → 429 → 400/422 → 403/402 → fault + latency → answer.
 */
import { Hono } from 'hono';
import type * as v from 'valibot';
import { authenticate, deliver, meter, rateLimit, readJson, type SimContext, type SimEnv } from './pipeline';
import { enrichCompanyPlan, enrichLeadPlan, findEmailBulkPlan, findEmailPlan, findPhonePlan, type Plan } from './plans';
import {
	EnrichCompanyBodySchema,
	EnrichLeadBodySchema,
	FindEmailBodySchema,
	FindEmailBulkBodySchema,
	FindPhoneBodySchema,
	validateBody
} from './request-schemas';
import type { SimulatorState } from './state';

type Planner<S extends v.GenericSchema> = (state: SimulatorState, body: v.InferOutput<S>) => Plan;

/** Parse, validate and plan; the plan, or the answer that refuses the request. */
async function planFor<S extends v.GenericSchema>(
	c: SimContext,
	state: SimulatorState,
	schema: S,
	planner: Planner<S>
): Promise<Plan | Response> {
	const raw = await readJson(c);
	if (!raw.ok) return raw.response;
	const parsed = validateBody(schema, raw.value);
	if (!parsed.ok) return c.json({ detail: parsed.detail }, 422);
	const plan = planner(state, parsed.value);
	if (plan.refusal) return c.json({ detail: plan.refusal.detail }, plan.refusal.status);
	return plan;
}

function syncRoute<S extends v.GenericSchema>(state: SimulatorState, schema: S, planner: Planner<S>) {
	return async (c: SimContext) => {
		const plan = await planFor(c, state, schema, planner);
		if (plan instanceof Response) return plan;
		return deliver(c, state, plan.endpoint, () => ({ status: 200, ...plan.answer() }));
	};
}

/**
 * Submit answers `{task_id, status: "RUNNING"}`; the answer is fixed now, and the job runs for
 * one latency draw of the underlying endpoint. A submit whose answer is lost to a fault after the
 * job was created (malformed body) still leaves the job running and billable, as a real API would.
 */
function asyncRoute<S extends v.GenericSchema>(state: SimulatorState, schema: S, planner: Planner<S>) {
	return async (c: SimContext) => {
		const plan = await planFor(c, state, schema, planner);
		if (plan instanceof Response) return plan;
		return deliver(c, state, 'async_submit', () => {
			const { body, charges } = plan.answer();
			const job = state.jobs.submit({
				apiKey: c.get('apiKey'),
				taskType: plan.taskType,
				result: body,
				charges,
				end: state.drawJobEnd(),
				durationMs: state.latencyMs(plan.endpoint),
				now: Date.now(),
				ttlMs: state.options.jobTtlMs
			});
			state.stats.jobSubmitted();
			if (plan.webhookUrl && /^https?:\/\//i.test(plan.webhookUrl)) state.webhooks.schedule(job, plan.webhookUrl);
			return { status: 200, body: { task_id: job.id, status: 'RUNNING' }, charges: [] };
		});
	};
}

/** The API routes, behind their middleware. */
export function apiRoutes(state: SimulatorState): Hono<SimEnv> {
	const api = new Hono<SimEnv>();
	api.use('*', meter(state), authenticate(state), rateLimit(state));

	for (const path of ['/enrich-lead', '/people-intelligence']) api.post(path, syncRoute(state, EnrichLeadBodySchema, enrichLeadPlan));
	api.post('/enrich-lead-async', asyncRoute(state, EnrichLeadBodySchema, enrichLeadPlan));
	for (const path of ['/enrich-company', '/company-intelligence'])
		api.post(path, syncRoute(state, EnrichCompanyBodySchema, enrichCompanyPlan));
	api.post('/enrich-company-async', asyncRoute(state, EnrichCompanyBodySchema, enrichCompanyPlan));
	api.post('/find-email', syncRoute(state, FindEmailBodySchema, findEmailPlan));
	api.post('/find-email-async', asyncRoute(state, FindEmailBodySchema, findEmailPlan));
	api.post('/find-email-bulk', syncRoute(state, FindEmailBulkBodySchema, findEmailBulkPlan));
	api.post('/find-email-bulk-async', asyncRoute(state, FindEmailBulkBodySchema, findEmailBulkPlan));
	api.post('/find-phone', syncRoute(state, FindPhoneBodySchema, findPhonePlan));
	api.post('/find-phone-async', asyncRoute(state, FindPhoneBodySchema, findPhonePlan));

	api.get('/job-status/:id', (c) =>
		deliver(c, state, 'job_status', () => {
			const body = state.jobs.statusBody(c.req.param('id'), c.get('apiKey'), Date.now());
			return body ? { status: 200, body, charges: [] } : { status: 404, body: { detail: 'Job not found' }, charges: [] };
		})
	);
	return api;
}
