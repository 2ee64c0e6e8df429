import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
	parseClientMessage,
	parseServerMessage,
	PROTOCOL_VERSION,
	type LiveEvent,
	type ServerMessage
} from '../../src/lib/workflow/protocol';
import { pendingBlock } from '../../src/lib/workflow/live-jobs';
import type { RunEvent } from '../../server/engine/types';

const block = { ...pendingBlock({ block_id: 'enrich', block_type: 'enrich_lead' }), status: 'running' as const };
const job = {
	job_id: 'j1',
	status: 'running' as const,
	created_at: 1,
	started_at: 2,
	finished_at: null,
	error: null,
	output_path: null,
	retry_of: null,
	blocks: [block],
	row_errors: [{ block_id: 'enrich', row: 3, message: 'no lead information in this row' }]
};

const good: [string, ServerMessage][] = [
	['hello', { type: 'hello', version: PROTOCOL_VERSION, workflow_id: 'w1', access: 'view' }],
	['snapshot', { type: 'snapshot', jobs: [job] }],
	['empty snapshot', { type: 'snapshot', jobs: [] }],
	['pong', { type: 'pong', id: 4 }],
	['job_created', { type: 'job_created', job_id: 'j1', at: 1, workflow_id: 'w1', retry_of: null }],
	['job_started', { type: 'job_started', job_id: 'j1', at: 2, blocks: [{ block_id: 'enrich', block_type: 'enrich_lead' }] }],
	['block_started', { type: 'block_started', job_id: 'j1', at: 3, block }],
	[
		'block_progress with preview',
		{
			type: 'block_progress',
			job_id: 'j1',
			at: 4,
			block: { ...block, rows_in: 5, total: 10, eta_s: 2.5, preview: [{ name: 'Ada', age: 36, vip: true, email: null }] }
		}
	],
	['block_finished', { type: 'block_finished', job_id: 'j1', at: 5, block: { ...block, status: 'completed' } }],
	['row_error', { type: 'row_error', job_id: 'j1', at: 6, block_id: 'enrich', row: 0, message: 'timeout' }],
	[
		'job_finished',
		{ type: 'job_finished', job_id: 'j1', at: 7, status: 'failed', error: 'Invalid API key', output_path: null, blocks: [block] }
	],
	[
		'job_paused',
		{ type: 'job_paused', job_id: 'j1', at: 6, message: 'Paused at the spend limit.', blocks: [{ ...block, status: 'paused' }] }
	],
	['job_resumed', { type: 'job_resumed', job_id: 'j1', at: 6 }]
];

describe('parseServerMessage', () => {
	it.each(good)('reads %s', (_label, message) => {
		const result = parseServerMessage(JSON.stringify(message));
		expect(result).toEqual({ ok: true, message });
	});

	it.each([
		['not JSON', '{"type":', /not JSON/],
		['JSON null', 'null', /./],
		['a JSON array', '[1,2]', /./],
		['an unknown type', '{"type":"job_exploded","job_id":"j"}', /type/],
		['no type', '{"job_id":"j"}', /type/],
		['hello with a string version', JSON.stringify({ ...good[0][1], version: '1' }), /version/],
		['hello with an unknown access', JSON.stringify({ ...good[0][1], access: 'admin' }), /access/],
		['a negative row', JSON.stringify({ ...good[9][1], row: -1 }), /row/],
		['a fractional row', JSON.stringify({ ...good[9][1], row: 1.5 }), /row/],
		[
			'an unknown block status',
			JSON.stringify({ type: 'block_progress', job_id: 'j', at: 1, block: { ...block, status: 'exploded' } }),
			/block\.status/
		],
		[
			'an unknown block type',
			JSON.stringify({ type: 'block_started', job_id: 'j', at: 1, block: { ...block, block_type: 'fax' } }),
			/block\.block_type/
		],
		[
			'an object in a preview cell',
			JSON.stringify({ type: 'block_progress', job_id: 'j', at: 1, block: { ...block, preview: [{ a: {} }] } }),
			/preview/
		],
		['job_finished still running', JSON.stringify({ ...good[10][1], status: 'running' }), /status/],
		['an empty job id', JSON.stringify({ ...good[4][1], job_id: '' }), /job_id/],
		['a snapshot without jobs', '{"type":"snapshot"}', /jobs/]
	])('refuses %s with a reason', (_label, text, reason) => {
		const result = parseServerMessage(text);
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.error).toMatch(reason);
	});

	it('accepts every RunEvent the engine can emit, as it is', () => {
		const events: RunEvent[] = [
			{ type: 'job_started', job_id: 'j', at: 1, blocks: [{ block_id: 'r', block_type: 'read_csv' }] },
			{ type: 'block_progress', job_id: 'j', at: 2, block },
			{ type: 'row_error', job_id: 'j', at: 3, block_id: 'r', row: 1, message: 'x' },
			{ type: 'job_finished', job_id: 'j', at: 4, status: 'completed', error: null, output_path: '/x.csv', blocks: [] }
		];
		for (const event of events) {
			// Compile time: a RunEvent is a LiveEvent. Run time: it survives the wire unchanged.
			const live: LiveEvent = event;
			expect(parseServerMessage(JSON.stringify(live))).toEqual({ ok: true, message: event });
		}
	});
});

describe('parseClientMessage', () => {
	it.each([
		['a ping', '{"type":"ping"}', { type: 'ping' }],
		['a ping with an id', '{"type":"ping","id":7}', { type: 'ping', id: 7 }]
	])('reads %s', (_label, text, message) => {
		expect(parseClientMessage(text)).toEqual({ ok: true, message });
	});

	it.each([
		['a server message', JSON.stringify(good[0][1])],
		['a ping with a string id', '{"type":"ping","id":"7"}'],
		['an empty frame', ''],
		['a number', '42'],
		['a deeply nested frame', '['.repeat(100_000) + ']'.repeat(100_000)]
	])('refuses %s', (_label, text) => {
		expect(parseClientMessage(text).ok).toBe(false);
	});

	it.each([
		['a Buffer', Buffer.from('{"type":"ping"}')],
		['undefined', undefined],
		['an object', { type: 'ping' }]
	])('refuses %s (only text frames are messages)', (_label, value) => {
		expect(parseClientMessage(value)).toEqual({ ok: false, error: 'Expected a text frame' });
	});
});

describe('parsers never throw', () => {
	it('on arbitrary strings', () => {
		fc.assert(
			fc.property(fc.string({ maxLength: 200 }), (text) => {
				const results = [parseServerMessage(text), parseClientMessage(text)];
				return results.every((r) => typeof r.ok === 'boolean');
			}),
			{ numRuns: 500 }
		);
	});

	it('on arbitrary JSON, including frames that look almost right', () => {
		const almost = fc.record({
			type: fc.constantFrom('hello', 'snapshot', 'ping', 'row_error', 'block_progress', 'job_finished', '__proto__'),
			job_id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
			at: fc.oneof(fc.double(), fc.string()),
			block: fc.anything()
		});
		fc.assert(
			fc.property(fc.oneof(fc.jsonValue(), almost), (value) => {
				const text = JSON.stringify(value) ?? 'undefined';
				const results = [parseServerMessage(text), parseClientMessage(text)];
				return results.every((r) => (r.ok ? typeof r.message.type === 'string' : typeof r.error === 'string'));
			}),
			{ numRuns: 500 }
		);
	});
});
