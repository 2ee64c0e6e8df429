/**
 * The readable diff of two workflows (issue 13): a table of before → after cases, each with the
 * exact sentences the history panel and `GET …/versions/{version}/diff` show.
 */
import { describe, expect, it } from 'vitest';
import type { WorkflowInput } from '../../src/lib/workflow/schema';
import { describeChange, diffWorkflows, summarizeChanges } from '../../src/lib/workflow/workflow-diff';

const read = { id: 'read', type: 'read_csv', params: { path: 'samples/leads.csv' } } as const;
const keep = { id: 'keep', type: 'filter', params: { expression: 'employees >= 100' } } as const;
const email = { id: 'email', type: 'find_email', params: {} } as const;
const save = { id: 'save', type: 'save_csv', params: { filename: 'out' } } as const;

const PLAN = "Look at the person's LinkedIn education section first, then university alumni pages.";

const lead = (plan: string) => ({ id: 'lead', type: 'enrich_lead', params: { struct: {}, research_plan: plan } }) as const;

const wf = (blocks: WorkflowInput['blocks'], name = 'Leads'): WorkflowInput => ({ name, blocks });

const CASES: { name: string; from: WorkflowInput; to: WorkflowInput; lines: string[]; summary: string }[] = [
	{ name: 'nothing changed', from: wf([read, keep, save]), to: wf([read, keep, save]), lines: [], summary: 'No changes' },
	{
		name: 'a block added',
		from: wf([read, save]),
		to: wf([read, keep, save]),
		lines: ['Added Filter (keep) at 2'],
		summary: '1 block added'
	},
	{
		name: 'a block removed',
		from: wf([read, keep, save]),
		to: wf([read, save]),
		lines: ['Removed Filter (keep) from 2'],
		summary: '1 block removed'
	},
	{
		name: 'one block dragged two places down is one move, not three',
		from: wf([read, keep, email, save]),
		to: wf([read, email, save, keep]),
		lines: ['Moved Filter (keep) from 2 to 4'],
		summary: '1 block moved'
	},
	{
		name: 'a param changed',
		from: wf([read, keep]),
		to: wf([read, { ...keep, params: { expression: 'employees >= 500' } }]),
		lines: ['Filter (keep): expression “employees >= 100” → “employees >= 500”'],
		summary: '1 setting changed'
	},
	{
		name: 'a param set and one cleared',
		from: wf([save]),
		to: wf([{ ...save, params: { bom: true } }]),
		lines: ['Save CSV (save): bom nothing → true', 'Save CSV (save): filename “out” → nothing'],
		summary: '2 settings changed'
	},
	{
		name: 'the name changed',
		from: wf([read], 'Leads'),
		to: wf([read], 'US leads'),
		lines: ['Renamed “Leads” → “US leads”'],
		summary: 'renamed'
	},
	{
		name: 'a block id reused with another type is removed and added',
		from: wf([read, keep]),
		to: wf([read, { id: 'keep', type: 'find_email', params: {} }]),
		lines: ['Removed Filter (keep) from 2', 'Added Find Email (keep) at 2'],
		summary: '1 block added, 1 block removed'
	},
	{
		name: 'a long text shows only the part that changed, with some context',
		from: wf([lead(PLAN)]),
		to: wf([lead(`${PLAN} Then the alumni list.`)]),
		lines: ['Enrich Lead (lead): research_plan “…ty alumni pages.” → “…ty alumni pages. Then the alumni list.”'],
		summary: '1 setting changed'
	},
	{
		name: 'text typed at the start of a long text, and line breaks shown as ⏎',
		from: wf([lead(PLAN)]),
		to: wf([lead(`Start here.\n${PLAN}`)]),
		lines: ['Enrich Lead (lead): research_plan “Look at the pers…” → “Start here.⏎Look at the pers…”'],
		summary: '1 setting changed'
	},
	{
		name: 'a long value set from nothing is cut',
		from: wf([keep]),
		to: wf([{ ...keep, params: { expression: `contains(company, "${'x'.repeat(100)}")` } }]),
		lines: [`Filter (keep): expression “employees >= 100” → “contains(company, "${'x'.repeat(40)}…”`],
		summary: '1 setting changed'
	},
	{
		name: 'everything at once, in a stable order',
		from: wf([read, keep, email, save], 'A'),
		to: wf([read, email, { ...keep, params: { expression: 'true' } }, { id: 'phone', type: 'find_phone', params: {} }], 'B'),
		lines: [
			'Renamed “A” → “B”',
			'Removed Save CSV (save) from 4',
			'Added Find Phone (phone) at 4',
			'Moved Filter (keep) from 2 to 3',
			'Filter (keep): expression “employees >= 100” → “true”'
		],
		summary: 'renamed, 1 block added, 1 block removed, 1 block moved, 1 setting changed'
	}
];

describe('diffWorkflows', () => {
	it.each(CASES)('$name', ({ from, to, lines, summary }) => {
		const changes = diffWorkflows(from, to);
		expect(changes.map(describeChange)).toEqual(lines);
		expect(summarizeChanges(changes)).toBe(summary);
	});

	it('nested params compare by value, not by reference', () => {
		const struct = { fields: { title: { description: 'Job title' } } };
		const a = wf([{ id: 'lead', type: 'enrich_lead', params: { struct } } as never]);
		const b = wf([{ id: 'lead', type: 'enrich_lead', params: { struct: structuredClone(struct) } } as never]);
		expect(diffWorkflows(a, b)).toEqual([]);
	});
});
