/**
 * The one-line summary a block card shows in its header, from the block's (possibly half-edited)
 * params: what the block does with these settings, in words.
 */
import type { BlockInput } from '$lib/workflow/doc';

const OPERATOR_WORDS: Record<string, string> = {
	equals: '=',
	not_equals: '≠',
	contains: 'contains',
	not_contains: 'does not contain',
	starts_with: 'starts with',
	ends_with: 'ends with',
	gt: '>',
	gte: '≥',
	lt: '<',
	lte: '≤',
	is_empty: 'is empty',
	is_not_empty: 'is not empty'
};

/** The last part of a path ("uploads/3f9c.csv" → "3f9c.csv"). */
function baseName(path: string): string {
	return path.split('/').pop() || path;
}

function quoted(value: unknown): string {
	return typeof value === 'string' ? `"${value}"` : String(value);
}

/**
 * @param fileNames display names of uploaded files by path (the stored name is a random id)
 * @example summarizeBlock({ id: 'f', type: 'filter', params: { column: 'country', operator: 'equals', value: 'US' } })
 * // 'country = "US"'
 */
export function summarizeBlock(block: BlockInput, fileNames: ReadonlyMap<string, string> = new Map()): string {
	const p = (block.params ?? {}) as Record<string, unknown>;
	switch (block.type) {
		case 'read_csv': {
			const path = typeof p.path === 'string' ? p.path.trim() : '';
			return path ? (fileNames.get(path) ?? baseName(path)) : 'No file chosen';
		}
		case 'filter': {
			const expression = typeof p.expression === 'string' ? p.expression.trim() : '';
			if (expression) return expression.replace(/\s+/g, ' ');
			if (typeof p.column === 'string' && typeof p.operator === 'string') {
				const op = OPERATOR_WORDS[p.operator] ?? p.operator;
				if (p.operator === 'is_empty' || p.operator === 'is_not_empty') return `${p.column} ${op}`;
				return `${p.column} ${op} ${p.value === undefined ? '…' : quoted(p.value)}`;
			}
			return 'No condition yet';
		}
		case 'enrich_lead': {
			const fields = p.struct && typeof p.struct === 'object' ? Object.keys(p.struct) : [];
			if (fields.length === 0) return 'No fields to find yet';
			const shown = fields.slice(0, 3).join(', ');
			const more = fields.length > 3 ? ` +${fields.length - 3}` : '';
			return `Finds ${shown}${more}`;
		}
		case 'enrich_company': {
			const fields = p.struct && typeof p.struct === 'object' ? Object.keys(p.struct) : [];
			const shown = fields.slice(0, 3).join(', ') + (fields.length > 3 ? ` +${fields.length - 3}` : '');
			const people = p.find_people === true ? 'people' : '';
			if (!shown && !people) return 'No fields to find yet';
			return `Finds ${[shown, people].filter(Boolean).join(' and ')}`;
		}
		case 'find_email': {
			const mode = p.mode === 'PERSONAL' ? 'Personal email' : 'Work email';
			return p.only_missing === false ? `${mode} for every row` : `${mode} for rows without one`;
		}
		case 'save_csv': {
			const name = typeof p.filename === 'string' && p.filename.trim() ? p.filename.trim() : 'results';
			if (p.format === 'xlsx') return `Saves ${name.replace(/\.(csv|xlsx)$/i, '')}.xlsx`;
			return `Saves ${name.endsWith('.csv') ? name : `${name}.csv`}`;
		}
		default:
			return '';
	}
}
