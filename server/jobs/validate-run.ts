/**
 * Everything checked before a run is queued, past the schema: every `read_csv` path resolves to a
 * readable CSV inside the data dir that this run may read (not another workflow's upload or output,
 * see source-access.ts), every filter expression compiles, and the column flow makes the run
 * possible. All problems are collected (not just the first), each with its path in the request
 * (`workflow.blocks.2.params.expression`), so the editor can point at every one at once.
 */
import { statSync } from 'node:fs';
import { definitionOf } from '../../src/lib/workflow/blocks';
import { analyzeColumns } from '../../src/lib/workflow/columns';
import { compileExpression, type CompileResult } from '../../src/lib/workflow/expression';
import type { Workflow } from '../../src/lib/workflow/schema';
import { compileWork, spendWork, yieldIfDue } from '../engine/work-slices';
import { resolveDataPath } from '../files/csv-path';
import { FileError } from '../files/file-error';
import { countSourceRows, hasReadOverrides, readSourceHeader, type SourceReadOptions } from '../files/source-file';
import type { Issue } from '../http-error';
import { ownerOf, OTHER_WORKFLOWS_FILE, PRIVATE_FILE, type CsvSource } from './source-access';

/** Sample files up to this size are counted for the estimate. */
const COUNT_UP_TO_BYTES = 32 * 1024 * 1024;

export interface SourceFile {
	blockId: string;
	/** Absolute, resolved inside the data dir. */
	file: string;
	columns: string[];
	rowCount: number | null;
}

export interface RunCheck {
	/** Problems that stop the run. */
	issues: Issue[];
	/** Things worth a look that do not stop it (e.g. a filter column that may be empty). */
	warnings: Issue[];
	/** The input of each `read_csv` block that resolved. */
	sources: Record<string, SourceFile>;
}

export interface CheckRunOptions {
	dataDir: string;
	/** What each resolved file is and whose (`createSourceClassifier`). */
	classify: (file: string) => Promise<CsvSource>;
	/**
	 * Whether this run may read a file that belongs to workflow `workflowId`: a shared workflow's
	 * run reads its own files only; a posted workflow (an anonymous job) none.
	 */
	mayReadOwned: (workflowId: string) => boolean | Promise<boolean>;
	/** Where the workflow sits in the request body (issue paths start with it). */
	pathPrefix?: string;
}

/**
 * Checks a schema-valid workflow against the files it reads.
 * @example const { issues } = await checkRun(workflow, { dataDir, classify, mayReadOwned: (id) => id === workflowId })
 */
export async function checkRun(workflow: Workflow, options: CheckRunOptions): Promise<RunCheck> {
	const prefix = options.pathPrefix ?? 'workflow';
	const issues: Issue[] = [];
	const warnings: Issue[] = [];
	const sources: Record<string, SourceFile> = {};
	const columnsByPath = new Map<string, string[]>();

	for (let i = 0; i < workflow.blocks.length; i++) {
		const block = workflow.blocks[i];
		const pathParam = definitionOf(block.type)?.source?.pathParam;
		if (pathParam === undefined) continue;
		const path = String((block.params as Record<string, unknown>)[pathParam]);
		try {
			// A source block's read settings (delimiter, encoding, sheet) sit beside its path.
			const { delimiter, encoding, sheet } = block.params as SourceReadOptions;
			const source = await describeSource(block.id, path, { delimiter, encoding, sheet }, options);
			sources[block.id] = source;
			columnsByPath.set(path, source.columns);
		} catch (err) {
			if (!(err instanceof FileError)) throw err;
			issues.push({ path: `${prefix}.blocks.${i}.params.${pathParam}`, message: err.message });
		}
	}

	// Column flow, filter expressions (with their positions), block order: one analysis shared with the editor.
	const compiled = await compileFilters(workflow);
	const flow = analyzeColumns(workflow, {
		sourceColumns: (path) => columnsByPath.get(path) ?? null,
		compile: (text) => compiled.get(text) ?? compileExpression(text)
	});
	for (const problem of flow.problems) {
		const where = problem.position !== undefined ? ` (at character ${problem.position + 1})` : '';
		const issue: Issue = { path: `${prefix}.${problem.path}`, message: `${problem.message}${where}` };
		if (problem.position !== undefined) {
			issue.position = problem.position;
			if (problem.length !== undefined) issue.length = problem.length;
		}
		(problem.severity === 'error' ? issues : warnings).push(issue);
	}
	return { issues, warnings, sources };
}

/**
 * Compiles every filter expression with a turn of the event loop between slices: 100 expressions
 * of 10,000 characters are ~100–200 ms of CPU, too long to hold a request's thread in one piece.
 */
async function compileFilters(workflow: Workflow): Promise<Map<string, CompileResult>> {
	const compiled = new Map<string, CompileResult>();
	for (const block of workflow.blocks) {
		const param = definitionOf(block.type)?.expressionParam;
		const raw = param === undefined ? undefined : (block.params as Record<string, unknown>)[param];
		const text = typeof raw === 'string' ? raw : undefined;
		if (text === undefined || compiled.has(text)) continue;
		await yieldIfDue();
		compiled.set(text, compileExpression(text));
		spendWork(compileWork(text));
	}
	return compiled;
}

async function describeSource(blockId: string, path: string, how: SourceReadOptions, options: CheckRunOptions): Promise<SourceFile> {
	const file = resolveDataPath(options.dataDir, path);
	const source = await options.classify(file);
	if (source.kind === 'private') throw new FileError(PRIVATE_FILE, 'invalid_path');
	const owner = ownerOf(source);
	if (owner !== null && !(await options.mayReadOwned(owner))) throw new FileError(OTHER_WORKFLOWS_FILE, 'forbidden');
	// An upload was described when it arrived (as detected); other files, or one read another way, are read now.
	if (source.kind === 'upload' && !hasReadOverrides(how)) {
		return { blockId, file, columns: source.upload.columns, rowCount: source.upload.rowCount };
	}
	const { columns } = await readSourceHeader(file, { ...how, previewRows: 0 });
	// Counting a huge file would hold up the request; its estimate then says "unknown".
	const rowCount = statSync(file).size <= COUNT_UP_TO_BYTES ? await countSourceRows(file, how) : null;
	return { blockId, file, columns, rowCount };
}
