/**
 * The small row-kind indicator on a block card's header: what kind of rows the block needs and
 * gives ("company rows → lead rows"), or, for blocks that take any table (Filter, Save CSV), what
 * actually flows through them here. Worded from the column-flow analysis so the card and the
 * analysis's refusal message never disagree; red when the analysis refuses the rows arriving.
 */
import { definitionOf, type BlockRowKinds } from '$lib/workflow/blocks';
import type { BlockColumns } from '$lib/workflow/columns';
import type { BlockInput } from '$lib/workflow/doc';
import { kindFits } from '$lib/workflow/row-kinds';
import type { RowKind } from '$lib/workflow/schema';

/** What the card shows: short `text`, a full sentence for `title`/aria-label, and whether it is refused. */
export interface RowKindBadge {
	/** e.g. "company rows → lead rows", "lead rows", "any table". */
	text: string;
	/** e.g. "This block needs company rows and gives lead rows". */
	label: string;
	/** True when the rows arriving are of a kind this block refuses (the analysis reports why). */
	mismatch: boolean;
}

export interface DescribeRowKindsOptions {
	block: BlockInput;
	/** The analysis of this block, or undefined while it is not known. */
	flow: Pick<BlockColumns, 'accepts' | 'input_kind' | 'output_kind'> | undefined;
}

const WORDS: Record<RowKind, string> = { lead: 'lead rows', company: 'company rows', any: 'any table' };

/** The block's declared kinds from its params as written (half-edited params read as defaults). */
function declaredKinds(block: BlockInput): BlockRowKinds | null {
	const definition = definitionOf(block.type);
	if (!definition) return null;
	const params = typeof block.params === 'object' && block.params !== null ? block.params : {};
	try {
		return definition.rowKinds(params);
	} catch {
		return null;
	}
}

/**
 * The indicator for one block card, or null for a block type the catalogue does not know.
 *
 * @example
 * describeRowKinds({ block: { id: 'c', type: 'enrich_company', params: { find_people: true } }, flow })
 * // { text: 'company rows → lead rows', label: 'This block needs company rows and gives lead rows', mismatch: false }
 */
export function describeRowKinds({ block, flow }: DescribeRowKindsOptions): RowKindBadge | null {
	const kinds = declaredKinds(block);
	if (!kinds) return null;
	const arriving = flow?.input_kind ?? null;
	const mismatch = kinds.accepts !== 'any' && !kindFits(kinds.accepts, arriving);
	const refused = mismatch ? ` — but the rows arriving here are ${WORDS[arriving!]}` : '';

	if (kinds.produces === 'columns' || definitionOf(block.type)?.source) {
		// A source: what it reads, set by the user or inferred from the file's columns.
		const set = kinds.produces !== 'columns';
		const kind = set ? (kinds.produces as RowKind) : (flow?.output_kind ?? null);
		if (kind === null) {
			return {
				text: 'kind from file',
				label: "This block reads any CSV file; whether its rows are leads or companies is inferred from the file's columns once it is read",
				mismatch: false
			};
		}
		const how = set
			? 'its row kind is set'
			: kind === 'any'
				? 'its columns name neither people nor companies'
				: "inferred from the file's columns";
		const what = kind === 'any' ? 'a table of any kind' : WORDS[kind];
		return { text: WORDS[kind], label: `This block gives ${what} (${how})`, mismatch: false };
	}

	if (kinds.produces === 'input') {
		// Takes any table and passes it on: show what flows here when it is known.
		const flows = flow?.output_kind ?? arriving;
		if (flows === null || flows === 'any') {
			return { text: 'any table', label: 'This block takes any table and passes its rows on unchanged', mismatch: false };
		}
		return { text: WORDS[flows], label: `This block takes any table; here it passes ${WORDS[flows]} on unchanged`, mismatch: false };
	}

	const needs = kinds.accepts === 'any' ? 'takes any table' : `needs ${WORDS[kinds.accepts]}`;
	return {
		text: `${WORDS[kinds.accepts]} → ${WORDS[kinds.produces]}`,
		label: `This block ${needs} and gives ${WORDS[kinds.produces]}${refused}`,
		mismatch
	};
}
