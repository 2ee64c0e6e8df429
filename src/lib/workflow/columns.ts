/**
 * Column-flow analysis: which columns exist before and after each block, and the problems a person
 * must see before a run is started (and paid for). Blocks may be arranged in any order; the
 * analysis says which orders cannot work and why, pointing at the param at fault.
 *
 * Rules decided here:
 * - A workflow reads one file: Read CSV must be the first block, and a second Read CSV is refused
 *   (it would silently drop the rows of the blocks above it).
 * - When a source's columns are unknown (`sourceColumns` returns null), column checks downstream are
 *   skipped (`input: null`) rather than guessed: no false alarms.
 * - A column a block adds that already exists is not duplicated (the block overwrites it).
 * - Row kinds (see row-kinds.ts): each block's rows must be of the kind it accepts; a chain that
 *   does not fit is an error on the block that refuses the rows, naming the block that made them
 *   and the fix. A kind that cannot be known (the file's columns unknown) is never refused.
 */
import * as v from 'valibot';
import { definitionOf, isBlockType, type BlockDefinition, type BlockRowKinds, type BlockType } from './blocks';
import { compileExpression, type CompileResult } from './expression';
import { inferRowKind, kindFits, kindMismatchMessage, titleOf } from './row-kinds';
import { FixSchema, MAX_FIXES, ownedBy, withValueAt, type Fix } from './fixes';
import type { RowKind } from './params';

export const ProblemSchema = v.object({
	/** The block at fault, or null for the workflow as a whole. */
	block_id: v.nullable(v.string()),
	/** Dot path into the workflow, e.g. `blocks.2.params.expression`. */
	path: v.string(),
	severity: v.picklist(['error', 'warning']),
	message: v.string(),
	/** For expressions: 0-based offset of the problem in the text, and how far it spans. */
	position: v.optional(v.number()),
	length: v.optional(v.number()),
	/** One-click remedies, when the problem has an obvious one (fixes.ts); at most MAX_FIXES. */
	fixes: v.optional(v.array(FixSchema))
});
export type Problem = v.InferOutput<typeof ProblemSchema>;

/** The columns around one block. `null` means "not known" (e.g. the file has not been read). */
export interface BlockColumns {
	block_id: string;
	index: number;
	input: string[] | null;
	output: string[] | null;
	/** The kind of row the block accepts (`any` for Filter, Read CSV, Save CSV). */
	accepts: RowKind | null;
	/** The kind of the rows arriving (null: none arrive, or not known). */
	input_kind: RowKind | null;
	/** The kind of the rows leaving (null: not known). */
	output_kind: RowKind | null;
	problems: Problem[];
}

export interface ColumnAnalysis {
	blocks: BlockColumns[];
	/** Every problem: the workflow's own, then each block's in order. */
	problems: Problem[];
	/** False when any problem is an error: the run must not start. */
	ok: boolean;
}

export interface AnalyzeColumnsOptions {
	/** The header of a Read CSV source, or null when it cannot be known (yet). */
	sourceColumns: (path: string) => string[] | null;
	/**
	 * Compiles a filter expression (default `compileExpression`): the server passes the results it
	 * compiled beforehand a few at a time, so the analysis of 100 long expressions is not one stall.
	 */
	compile?: (text: string) => CompileResult;
}

/** A workflow as stored or edited: params are checked here, not assumed valid. */
export interface WorkflowBlocks {
	blocks: readonly { id: string; type: string; params: unknown }[];
}

const MAX_LISTED_COLUMNS = 12;

function label(type: string): string {
	return definitionOf(type)?.label ?? type;
}

function withAdded(columns: readonly string[], added: readonly string[]): string[] {
	return [...new Set([...columns, ...added])];
}

function listColumns(columns: readonly string[]): string {
	if (columns.length === 0) return 'none';
	const shown = columns.slice(0, MAX_LISTED_COLUMNS).map((c) => `"${c}"`);
	const more = columns.length - shown.length;
	return shown.join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/** The columns `params` makes a block add, or null when its params are not valid. */
function addedColumns(definition: BlockDefinition, params: unknown): string[] | null {
	const parsed = v.safeParse(definition.params, params);
	if (!parsed.success) return null;
	return definition.addedColumns?.(parsed.output) ?? [];
}

/**
 * Analyses the flow of columns through a workflow.
 *
 * @example
 * const flow = analyzeColumns(workflow, { sourceColumns: (path) => headers.get(path) ?? null });
 * if (!flow.ok) showProblems(flow.problems);
 */
export function analyzeColumns(workflow: WorkflowBlocks, options: AnalyzeColumnsOptions): ColumnAnalysis {
	const blocks = Array.isArray(workflow?.blocks) ? workflow.blocks : [];
	const problems: Problem[] = [];
	if (blocks.length === 0) {
		problems.push({
			block_id: null,
			path: 'blocks',
			severity: 'error',
			message: 'The workflow has no blocks: start with a Read CSV block',
			fixes: [{ action: 'add_block', label: 'Add Read CSV', type: 'read_csv', index: 0 }]
		});
	}
	const adds = blocks.map((b) => {
		const definition = definitionOf(b.type);
		return definition ? addedColumns(definition, b.params) : null;
	});
	const firstRead = blocks.findIndex((b) => definitionOf(b.type)?.source !== undefined);
	const seenIds = new Set<string>();

	/** Rows exist once a Read CSV has run; `columns` is null when their names are unknown. */
	let read = false;
	let columns: string[] | null = [];
	/** The kind of the rows so far, and the block that made them so (null: unknown / no rows). */
	let kind: RowKind | null = null;
	let kindFrom: { index: number; type: BlockType; evidence: string[] | null } | null = null;
	const results: BlockColumns[] = [];

	blocks.forEach((block, index) => {
		const base = `blocks.${index}`;
		const found: Problem[] = [];
		/** What `missing` proposed for each message it wrote: the fix `report` attaches. */
		const remedies = new Map<string, { later: number } | { column: string; similar: string }>();
		const report = (path: string, severity: Problem['severity'], message: string, extra?: Partial<Problem>) => {
			const fixes = [...(extra?.fixes ?? []), ...remedyFixes(block, path, remedies.get(message), extra)]
				.slice(0, MAX_FIXES)
				.map((f) => ownedBy(f, block.id));
			const problem: Problem = { block_id: block.id, path: `${base}${path}`, severity, message, ...extra, fixes };
			if (fixes.length === 0) delete problem.fixes;
			found.push(problem);
		};
		const input = read ? columns : [];
		const checkable = read ? columns : null;

		/** The message for a column that does not exist where it is used. */
		const missing = (column: string, available: string[]): string => {
			const later = adds.findIndex((a, j) => j > index && a !== null && a.includes(column));
			if (later >= 0) {
				const message = `"${column}" does not exist yet: ${label(blocks[later].type)} (block ${later + 1}) adds it later; move this block after it`;
				remedies.set(message, { later });
				return message;
			}
			const similar = available.find((c) => c.toLowerCase() === column.toLowerCase());
			if (similar !== undefined) {
				const message = `There is no column "${column}": did you mean "${similar}"? (names are case-sensitive)`;
				remedies.set(message, { column, similar });
				return message;
			}
			return `There is no column "${column}" here; the columns are ${listColumns(available)}`;
		};

		if (seenIds.has(block.id)) report('.id', 'error', `Another block already has the id "${block.id}"`);
		seenIds.add(block.id);

		let output: string[] | null = input;
		const inputKind = read ? kind : null;
		let outputKind: RowKind | null = inputKind;
		let accepts: RowKind | null = null;
		/** True when the rows are of the wrong kind: column checks would only repeat it. */
		let misfit = false;
		if (!isBlockType(block.type)) {
			report('.type', 'error', `Unknown block type "${String(block.type)}"`);
			output = read ? null : [];
			outputKind = null;
		} else {
			const type: BlockType = block.type;
			const definition = definitionOf(type)!;
			const parsed = v.safeParse(definition.params, block.params);
			if (!parsed.success) {
				for (const issue of parsed.issues) {
					const dot = v.getDotPath(issue);
					report(dot ? `.params.${dot}` : '.params', 'error', issue.message);
				}
			}
			if (index === 0 && !definition.source) {
				const move = firstRead > 0 ? ` Move Read CSV (block ${firstRead + 1}) to the top.` : ' Add a Read CSV block first.';
				const fix: Fix =
					firstRead > 0
						? { action: 'move_block', label: 'Move Read CSV to the top', block_id: blocks[firstRead].id, to: 0 }
						: { action: 'add_block', label: 'Add Read CSV', type: 'read_csv', index: 0 };
				report(
					'.type',
					'error',
					definition.noRowsMessage
						? `${definition.noRowsMessage}${move}`
						: `${label(type)} comes after nothing: it has no rows to work on.${move}`,
					{ fixes: [fix] }
				);
			}
			if (index > 0 && definition.source) {
				report(
					'.type',
					'error',
					'Read CSV must be the first block: a workflow reads one file, and a second Read CSV would drop the rows of the blocks above it',
					index === firstRead
						? { fixes: [{ action: 'move_block', label: 'Move Read CSV to the top', block_id: block.id, to: 0 }] }
						: {}
				);
			}

			const params = parsed.success ? parsed.output : null;
			const kinds = rowKindsOf(definition, params ?? block.params);
			accepts = kinds.accepts;
			if (read && !definition.source && kindFrom && !kindFits(kinds.accepts, inputKind)) {
				misfit = true;
				const producer = blocks[kindFrom.index];
				const mismatch = {
					consumer: { id: block.id, type, index, params: block.params },
					producer,
					from: kindFrom,
					accepts: kinds.accepts
				};
				report(
					'',
					'error',
					kindMismatchMessage({
						consumer: label(type),
						consumerType: type,
						accepts: kinds.accepts,
						have: inputKind!,
						producer: {
							label: label(producer.type),
							type: producer.type,
							index: kindFrom.index,
							evidence: kindFrom.evidence,
							words: definitionOf(producer.type)?.kindWords
						}
					}),
					{ fixes: kindFixes(mismatch, inputKind!) }
				);
			}
			definition.check?.({
				params,
				raw: block.params,
				columns: checkable,
				misfit,
				report,
				missing,
				listColumns,
				compile: options.compile ?? compileExpression
			});
			if (definition.source) {
				read = true;
				const path = params ? (params as Record<string, unknown>)[definition.source.pathParam] : undefined;
				output = typeof path === 'string' ? sourceColumnsOf(options, path) : null;
			} else if (definition.addedColumns) {
				output = input && adds[index] ? withAdded(input, adds[index]) : null;
			}
			if (kinds.produces === 'columns') {
				const inferred = output ? inferRowKind(output) : null;
				outputKind = inferred?.kind ?? null;
				kindFrom = { index, type, evidence: inferred ? (inferred.kind === 'lead' ? inferred.person : inferred.company) : [] };
			} else if (kinds.produces !== 'input') {
				outputKind = kinds.produces;
				kindFrom = { index, type, evidence: null };
			}
		}
		if (read) {
			columns = output;
			kind = outputKind;
		}
		results.push({
			block_id: block.id,
			index,
			input,
			output,
			accepts,
			input_kind: inputKind,
			output_kind: read ? outputKind : null,
			problems: found
		});
		problems.push(...found);
	});

	return { blocks: results, problems, ok: !problems.some((p) => p.severity === 'error') };
}

/** What `kindFixes` needs to know about a chain whose kinds do not fit. */
interface KindMisfit {
	consumer: { id: string; type: BlockType; index: number; params: unknown };
	producer: { id: string; type: string; params: unknown };
	from: { index: number };
	accepts: RowKind;
}

/**
 * The one-click fixes for rows of kind `have` refused by a block that accepts `accepts`: what the
 * message proposes (see each block's `kindWords.fix`). A source: set its row kind (and, for
 * Enrich Company on leads, use Enrich Lead instead); Enrich Company: turn Find people on, or put
 * a company block above it; any other lead block: put the company block above it.
 */
function kindFixes(m: KindMisfit, have: RowKind): Fix[] {
	const { consumer, producer, accepts } = m;
	const producerDef = definitionOf(producer.type);
	const where = `${label(producer.type)} (block ${m.from.index + 1})`;
	const fixes: Fix[] = [];
	if (producerDef?.source && accepts !== 'any') {
		fixes.push({
			action: 'set_param',
			label: `Set Read CSV's row kind to ${titleOf(accepts)}`,
			block_id: producer.id,
			param: 'kind',
			value: accepts
		});
		if (consumer.type === 'enrich_company' && have === 'lead') {
			fixes.unshift({ action: 'replace_block', label: 'Switch to Enrich Lead', block_id: consumer.id, type: 'enrich_lead' });
		}
		return fixes;
	}
	const findsPeople = producer.type === 'enrich_company' && (producer.params as { find_people?: unknown } | null)?.find_people === true;
	if (accepts === 'lead' && producer.type === 'enrich_company' && !findsPeople) {
		fixes.push({
			action: 'set_param',
			label: `Turn on Find people in ${where}`,
			block_id: producer.id,
			param: 'find_people',
			value: true
		});
	} else if (accepts === 'company' && have === 'lead') {
		fixes.push({ action: 'move_block', label: `Move this block above ${where}`, block_id: consumer.id, to: m.from.index });
		if (findsPeople) {
			fixes.push({
				action: 'set_param',
				label: `Turn off Find people in ${where}`,
				block_id: producer.id,
				param: 'find_people',
				value: false
			});
		}
	}
	return fixes;
}

/**
 * The fix for a message `missing` wrote: move the block after the one that adds the column, or
 * use the column's real spelling where the param holds exactly that name (a column param, or the
 * name's place in a filter expression).
 */
function remedyFixes(
	block: WorkflowBlocks['blocks'][number],
	path: string,
	remedy: { later: number } | { column: string; similar: string } | undefined,
	extra: Partial<Problem> | undefined
): Fix[] {
	if (!remedy) return [];
	if ('later' in remedy) {
		return [{ action: 'move_block', label: `Move this block after block ${remedy.later + 1}`, block_id: block.id, to: remedy.later }];
	}
	const segments = path.startsWith('.params.') ? path.slice('.params.'.length).split('.') : null;
	if (!segments) return [];
	const label = `Use "${remedy.similar}"`;
	const params = block.params as Record<string, unknown> | null;
	const current = segments.reduce<unknown>(
		(at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined),
		params
	);
	if (current === remedy.column) {
		const changed = withValueAt(params, segments, remedy.similar);
		return changed ? [{ action: 'set_param', label, block_id: block.id, param: changed.param, value: changed.value }] : [];
	}
	const [param] = segments;
	if (
		typeof current === 'string' &&
		param !== undefined &&
		segments.length === 1 &&
		extra?.position !== undefined &&
		extra.length !== undefined
	) {
		const at = extra.position;
		const span = current.slice(at, at + extra.length);
		// The name as written there (bare or quoted): replace only its letters.
		const offset = span.indexOf(remedy.column);
		if (offset === -1) return [];
		const text = current.slice(0, at + offset) + remedy.similar + current.slice(at + offset + remedy.column.length);
		return [{ action: 'set_param', label, block_id: block.id, param, value: text }];
	}
	return [];
}

/** A block's row kinds, from its params as written (invalid params read as the defaults). */
function rowKindsOf(definition: BlockDefinition, params: unknown): BlockRowKinds {
	const loose = typeof params === 'object' && params !== null ? params : {};
	return definition.rowKinds(loose);
}

function sourceColumnsOf(options: AnalyzeColumnsOptions, path: string): string[] | null {
	try {
		const found = options.sourceColumns(path);
		return Array.isArray(found) ? [...new Set(found)] : null;
	} catch {
		return null;
	}
}
