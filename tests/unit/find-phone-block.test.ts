/**
 * Find Phone, the block added through the block definition alone: its definition (columns,
 * checks, row kinds, summary, params), its runner against the simulator (sync and async forms,
 * the cache, rows that cannot be looked up, a refused key), and the answer shapes it accepts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNNERS } from '../../server/blocks';
import { runJob } from '../../server/engine/run-job';
import { createEnrichmentService } from '../../server/enrichment/service';
import { FindPhoneResponseSchema } from '../../server/enrichment/sixtyfour-schemas';
import { createSimulatorApp, type SimulatorApp } from '../../server/enrichment/simulator';
import { openDatabase, type Db } from '../../server/store/db';
import { summarizeBlock } from '../../src/lib/block-summary';
import { BLOCKS, describeBlocks } from '../../src/lib/workflow/blocks';
import { analyzeColumns, type WorkflowBlocks } from '../../src/lib/workflow/columns';
import { addBlock, docToWorkflow } from '../../src/lib/workflow/doc';
import { BlockSchema, WorkflowSchema, type Row, type WorkflowInput } from '../../src/lib/workflow/schema';
import { makeTempDir, type TempDir } from '../helpers/temp-dir';

type B = WorkflowBlocks['blocks'][number];
const block = (id: string, type: string, params: unknown = {}): B => ({ id, type, params });
const sources: Record<string, string[]> = {
	'leads.csv': ['name', 'company', 'email'],
	'names.csv': ['name', 'notes'],
	'bare.csv': ['id', 'notes'],
	'companies.csv': ['company_name', 'website']
};
const analyze = (...blocks: B[]) => analyzeColumns({ blocks }, { sourceColumns: (path) => sources[path] ?? null });

describe('the Find Phone definition', () => {
	it('adds phone and _error after the columns it receives, and passes leads on', () => {
		const flow = analyze(block('r', 'read_csv', { path: 'leads.csv' }), block('p', 'find_phone'));
		expect(flow.ok).toBe(true);
		expect(flow.blocks[1]).toMatchObject({
			input: ['name', 'company', 'email'],
			output: ['name', 'company', 'email', 'phone', '_error'],
			accepts: 'lead',
			input_kind: 'lead',
			output_kind: 'lead'
		});
	});

	it('does not duplicate a phone column the file already has', () => {
		sources['with-phone.csv'] = ['name', 'company', 'phone'];
		const flow = analyze(block('r', 'read_csv', { path: 'with-phone.csv' }), block('p', 'find_phone'));
		expect(flow.blocks[1].output).toEqual(['name', 'company', 'phone', '_error']);
	});

	it.each([
		[
			'names.csv',
			'warning',
			'Find Phone has a name but no company, domain, email or LinkedIn column: few numbers are found from a name alone'
		],
		[
			'bare.csv',
			'error',
			'Find Phone needs a column that identifies a person: a name (name, full_name, or first_name + last_name) or a LinkedIn URL; the columns here are "id", "notes"'
		]
	])('checks that %s can identify a person (%s)', (path, severity, message) => {
		const flow = analyze(block('r', 'read_csv', { path, kind: 'lead' }), block('p', 'find_phone'));
		expect(flow.blocks[1].problems).toEqual([{ block_id: 'p', path: 'blocks.1', severity, message }]);
	});

	it('refuses company rows with the row-kind message, not a column complaint', () => {
		const flow = analyze(block('r', 'read_csv', { path: 'companies.csv' }), block('p', 'find_phone'));
		expect(flow.blocks[1].problems.map((p) => p.message)).toEqual([
			'Find Phone needs lead rows, but Read CSV (block 1) gives company rows (it has company columns and no person column: "company_name", "website"). ' +
				"Add Enrich Company with Find people before Find Phone to turn companies into leads, or set Read CSV's row kind to Lead if each row is a person."
		]);
	});

	it('takes the people Enrich Company finds', () => {
		const flow = analyze(
			block('r', 'read_csv', { path: 'companies.csv' }),
			block('c', 'enrich_company', { struct: {}, find_people: true }),
			block('p', 'find_phone')
		);
		expect(flow.ok).toBe(true);
		expect(flow.blocks[2].input_kind).toBe('lead');
	});

	it('reports bad params at their path, and says so when it comes first', () => {
		const flow = analyze(block('p', 'find_phone', { only_missing: 'yes', extra: 1 }));
		expect(flow.problems.map((p) => p.path)).toEqual(['blocks.0.params.only_missing', 'blocks.0.params.extra', 'blocks.0.type']);
		expect(flow.problems[2].message).toBe('Find Phone comes after nothing: it has no rows to work on. Add a Read CSV block first.');
	});

	it('parses into the block union with its defaults, and is in the catalogue with its summary', () => {
		expect(v.parse(BlockSchema, { id: 'p', type: 'find_phone', params: {} })).toEqual({
			id: 'p',
			type: 'find_phone',
			params: { only_missing: true }
		});
		expect(describeBlocks().find((b) => b.type === 'find_phone')).toMatchObject({
			label: 'Find Phone',
			category: 'enrichment',
			uses_api: true,
			row_kinds: { accepts: 'lead', produces: 'lead' }
		});
		expect(summarizeBlock({ id: 'p', type: 'find_phone', params: {} })).toBe('Phone for rows without one');
		expect(summarizeBlock({ id: 'p', type: 'find_phone', params: { only_missing: false } })).toBe('Phone for every row');
		expect(BLOCKS.find_phone.rowCount).toBe('same');
	});

	it('is added to a shared document with its default params', async () => {
		const Y = await import('yjs');
		const doc = new Y.Doc();
		addBlock(doc, { type: 'find_phone', id: 'p' });
		expect(docToWorkflow(doc).blocks).toEqual([{ id: 'p', type: 'find_phone', params: { only_missing: true } }]);
	});
});

describe('the /find-phone answer', () => {
	it.each([
		[{ phone: '+1 415-555-0100' }, ['+1 415-555-0100']],
		[
			{ phone: [{ number: '+1 415-555-0100', region: 'US' }, { number: ' +44 20 7946 0000 ' }] },
			['+1 415-555-0100', '+44 20 7946 0000']
		],
		[{ phone: ['+1 415-555-0100'] }, ['+1 415-555-0100']],
		[{ phone: '' }, []],
		[{ phone: null }, []],
		[{ name: 'Ada' }, []]
	])('reads %j as the numbers %j', (answer, numbers) => {
		expect(v.parse(FindPhoneResponseSchema, answer).phones.map((p) => p.number)).toEqual(numbers);
	});

	it('refuses a phone that is neither text nor a list of numbers', () => {
		expect(v.safeParse(FindPhoneResponseSchema, { phone: 42 }).success).toBe(false);
	});
});

describe('the Find Phone runner against the simulator', () => {
	let tmp: TempDir;
	/** One database per service: the answer cache is keyed by request, not by API key. */
	const dbs: Db[] = [];
	const CSV = [
		'name,company,phone,linkedin',
		'Ada Lovelace,Analytical Engines,,',
		'Grace Hopper,Navy,+1 202-555-0199,',
		'Alan Turing,Bletchley Park,,',
		',Nobody Ltd,,',
		'Katherine Johnson,NASA,,https://www.linkedin.com/in/kjohnson',
		'Edsger Dijkstra,Eindhoven,,',
		'Barbara Liskov,MIT,,'
	].join('\n');

	beforeAll(async () => {
		tmp = await makeTempDir();
		mkdirSync(join(tmp.dir, 'uploads'), { recursive: true });
		writeFileSync(join(tmp.dir, 'uploads', 'leads.csv'), `${CSV}\n`);
	});
	afterAll(async () => {
		for (const db of dbs) db.close();
		await tmp.cleanup();
	});

	const workflow = (params: Record<string, unknown> = {}): WorkflowInput => ({
		name: 'phones',
		blocks: [
			{ id: 'read', type: 'read_csv', params: { path: 'uploads/leads.csv' } },
			{ id: 'phone', type: 'find_phone', params }
		]
	});

	let keys = 0;
	function service(sim: SimulatorApp, options: { async?: boolean; apiKey?: string } = {}) {
		const db = openDatabase(':memory:');
		dbs.push(db);
		return createEnrichmentService({
			apiKey: options.apiKey ?? `phone-test-${keys++}`,
			baseUrl: 'http://sim.test',
			db,
			fetch: (input, init) => Promise.resolve(sim.app.request(String(input), init)),
			asyncMode: { findPhone: options.async ?? false },
			polling: { initialMs: 10, minIntervalMs: 5 }
		});
	}

	async function run(sim: SimulatorApp, enrichment: ReturnType<typeof service>, params: Record<string, unknown> = {}) {
		const rows: Row[] = [];
		const result = await runJob({
			runners: RUNNERS,
			jobId: `phone-${Math.random()}`,
			workflow: v.parse(WorkflowSchema, workflow(params)),
			dataDir: tmp.dir,
			enrichment,
			onRows: (batch) => void rows.push(...batch)
		});
		return { result, rows, phone: result.blocks[1] };
	}

	it('finds phones, skips rows that have one, and fails only the row that names nobody', async () => {
		const sim = createSimulatorApp({ seed: 3 });
		const { result, rows, phone } = await run(sim, service(sim));
		expect(result.status).toBe('completed');
		expect(result.columns).toEqual(['name', 'company', 'phone', 'linkedin', '_error']);
		expect(rows).toHaveLength(7);
		expect(rows[1]).toMatchObject({ name: 'Grace Hopper', phone: '+1 202-555-0199', _error: null });
		expect(rows[3]._error).toBe('Find Phone: needs a name or a LinkedIn URL to find a phone number');
		const looked = rows.filter((_, i) => i !== 1 && i !== 3);
		for (const row of looked) {
			expect(row._error).toBeNull();
			expect(row.phone === null || /^\+1 \d{3}-555-01\d{2}$/.test(String(row.phone))).toBe(true);
		}
		expect(looked.some((r) => r.phone !== null)).toBe(true);
		const stats = sim.stats();
		expect(stats.calls['/find-phone']).toBe(5);
		expect(stats.paid_answers).toBe(5);
		expect(phone).toMatchObject({ rows_in: 7, rows_out: 7, skipped: 1, errors: 1, calls: 5, cost_cents: 150 });
	});

	it('serves a second run from the cache: no call, no cost, the same phones', async () => {
		const sim = createSimulatorApp({ seed: 3 });
		const enrichment = service(sim);
		const first = await run(sim, enrichment);
		const second = await run(sim, enrichment);
		expect(second.rows).toEqual(first.rows);
		expect(second.phone).toMatchObject({ calls: 0, cached: 5, cost_cents: 0 });
		expect(sim.stats().calls['/find-phone']).toBe(5);
	});

	it('looks up every row when only_missing is off', async () => {
		const sim = createSimulatorApp({ seed: 3 });
		const { phone } = await run(sim, service(sim), { only_missing: false });
		expect(phone).toMatchObject({ skipped: 0, calls: 6 });
	});

	it('through the async form (submit, then poll) gives the same phones as the sync one', async () => {
		const syncSim = createSimulatorApp({ seed: 5 });
		const asyncSim = createSimulatorApp({ seed: 5, latency: { find_phone: { medianMs: 20 } } });
		const sync = await run(syncSim, service(syncSim));
		const viaTask = await run(asyncSim, service(asyncSim, { async: true }));
		expect(viaTask.rows).toEqual(sync.rows);
		const stats = asyncSim.stats();
		expect(stats.calls['/find-phone-async']).toBe(5);
		expect(stats.calls['/job-status']).toBeGreaterThanOrEqual(5);
		expect(stats.calls['/find-phone']).toBeUndefined();
		expect(viaTask.phone.cost_cents).toBe(150);
	});

	it('fails the job when the API refuses the key (401)', async () => {
		const sim = createSimulatorApp({ seed: 3, apiKey: 'the-real-key' });
		const { result } = await run(sim, service(sim, { apiKey: 'a-wrong-key' }));
		expect(result.status).toBe('failed');
		expect(result.error).toContain('401');
	});
});
