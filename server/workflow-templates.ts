/**
 * The template gallery (issue 16): a chosen few of the committed example workflows
 * (`data/examples/<id>.json`), each with the bundled sample its Read CSV block reads, summarised for the home page. A template
 * file is a Workflow JSON plus a one-line `description` (WorkflowSchema drops that key, so the
 * workflow created from it is the plain Workflow).
 */
import * as v from 'valibot';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { definitionOf } from '../src/lib/workflow/blocks';
import { WorkflowSchema, type Workflow } from '../src/lib/workflow/schema';
import { countCsvRows } from './files/csv-source';
import type { TemplateSummary } from './routes/responses';

/**
 * The gallery, simplest first. `basic` (enrich only) stays an example for `from` and the tests
 * built on its three blocks; the gallery's Basic also finds the emails.
 */
export const GALLERY = ['basic-emails', 'filtered', 'companies', 'clean'] as const;
const SAMPLES_PREFIX = 'samples/';

const TemplateFileSchema = v.object({ description: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(300)), '') });

export interface TemplateOptions {
	/** Directory of the example workflows. */
	examplesDir: string;
	/** Directory of the bundled samples (`data/samples`). */
	samplesDir: string;
}

/** A template's workflow and summary, or null when no template has this id. A broken file throws (our bug). */
export async function loadTemplate(id: string, options: TemplateOptions): Promise<{ workflow: Workflow; summary: TemplateSummary } | null> {
	if (!(GALLERY as readonly string[]).includes(id)) return null;
	const json: unknown = JSON.parse(await readFile(join(options.examplesDir, `${id}.json`), 'utf8'));
	const workflow = v.parse(WorkflowSchema, json);
	const { description } = v.parse(TemplateFileSchema, json);
	const read = workflow.blocks.find((b) => b.type === 'read_csv');
	const path = read?.type === 'read_csv' ? read.params.path : undefined;
	const sample =
		path?.startsWith(SAMPLES_PREFIX) && !path.includes('..')
			? { path, rows: await countCsvRows(join(options.samplesDir, path.slice(SAMPLES_PREFIX.length))) }
			: null;
	const blocks = workflow.blocks.map((b) => ({ type: b.type, label: definitionOf(b.type)?.label ?? b.type }));
	return { workflow, summary: { id, name: workflow.name, description, blocks, sample } };
}

/** Every template, in gallery order. */
export async function listTemplates(options: TemplateOptions): Promise<TemplateSummary[]> {
	const loaded = await Promise.all(GALLERY.map((id) => loadTemplate(id, options)));
	return loaded.flatMap((t) => (t ? [t.summary] : []));
}
