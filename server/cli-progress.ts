/**
 * The CLI's progress display: one bar per block, redrawn in place on a terminal, or a plain line
 * every few seconds when stderr is not a TTY (CI logs stay readable).
 */
import type { WriteStream } from 'node:tty';
import { BLOCKS, rowsAnswered } from '../src/lib/workflow/blocks';
import type { BlockType } from '../src/lib/workflow/schema';
import type { BlockProgress } from './engine/types';

const BAR_WIDTH = 24;
const PLAIN_INTERVAL_MS = 2_000;

export function formatBlockLine(block: BlockProgress, type: BlockType): string {
	const label = BLOCKS[type].label.padEnd(12);
	const total = block.total ?? null;
	const fraction = block.status === 'completed' ? 1 : total ? Math.min(1, block.rows_in / total) : 0;
	const filled = Math.round(fraction * BAR_WIDTH);
	const bar =
		total !== null || block.status === 'completed' ? '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled) : '·'.repeat(BAR_WIDTH);
	const counts = `${block.rows_in}${total !== null ? `/${total}` : ''} → ${block.rows_out}`;
	const extra = [
		block.errors ? `${block.errors} err` : '',
		block.calls || block.cached ? `${block.calls} calls, ${block.cached} cached` : '',
		requestsPerRow(block) !== null ? `${requestsPerRow(block)!.toFixed(2)} req/row` : '',
		block.rate_limit_per_min ? `limit ${block.rate_limit_per_min}/min` : '',
		block.rows_per_s ? `${block.rows_per_s} rows/s` : '',
		block.eta_s ? `ETA ${block.eta_s}s` : '',
		block.waiting ? `waiting on rate limit (${block.waiting})` : ''
	]
		.filter(Boolean)
		.join(' · ');
	return `${label} ${bar} ${block.status.padEnd(9)} ${counts}${extra ? ` · ${extra}` : ''}`;
}

/** API requests per row the block has answered (null before any, and for blocks that call no API). */
export function requestsPerRow(block: BlockProgress): number | null {
	if (!BLOCKS[block.block_type].usesApi) return null;
	const rows = rowsAnswered(block);
	const requests = block.requests ?? block.calls;
	return rows > 0 && requests > 0 ? requests / rows : null;
}

/** Returns a draw function; `force` draws even when throttled (the final state). */
export function renderProgress(stream: NodeJS.WriteStream | WriteStream) {
	const tty = Boolean(stream.isTTY);
	let drawnLines = 0;
	let lastPlain = 0;
	let lastDraw = 0;
	return (blocks: BlockProgress[], types: BlockType[], force = false) => {
		const now = Date.now();
		const lines = blocks.map((b, i) => formatBlockLine(b, types[i]));
		if (tty) {
			if (!force && now - lastDraw < 100) return;
			lastDraw = now;
			if (drawnLines > 0) stream.write(`\x1b[${drawnLines}A`);
			stream.write(lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
			drawnLines = lines.length;
		} else if (force || now - lastPlain >= PLAIN_INTERVAL_MS) {
			lastPlain = now;
			stream.write(lines.join('\n') + '\n\n');
		}
	};
}
