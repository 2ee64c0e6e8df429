/**
 * The CSV reader on arbitrary bytes (fast-check): `read_csv` never throws anything but a
 * `JobFailure` out of the block, and what it does read is consistent — unique usable column names,
 * every row shaped like the header, every `_error` reported, the pre-count equal to the rows
 * streamed, and the upload route's header reader agreeing with the block. A table written by
 * csv-stringify reads back cell for cell.
 */
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReadCsv } from '../../server/blocks/read-csv';
import { countCsvRows, readCsvHeader } from '../../server/files/csv-source';
import { FileError } from '../../server/files/file-error';
import { createCounters } from '../../server/engine/progress';
import { JobFailure, type BlockRunContext } from '../../server/engine/types';
import type { EnrichmentService } from '../../server/enrichment/types';
import { ERROR_COLUMN, type Row } from '../../src/lib/workflow/schema';
import { cpuMs } from '../helpers/cpu-time';
import { PROPERTY_TIMEOUT_MS } from '../helpers/timeouts';

let dataDir: string;
beforeAll(() => {
	dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'fuzz-csv-')));
	mkdirSync(join(dataDir, 'uploads'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** read_csv has no business calling the API. */
const noApi = new Proxy({} as EnrichmentService, { get: () => () => Promise.reject(new Error('read_csv called the API')) });

let n = 0;
function writeCase(bytes: Uint8Array | string): string {
	const path = `uploads/case-${++n}.csv`;
	writeFileSync(join(dataDir, path), bytes);
	return path;
}

type Outcome =
	{ ok: true; columns: string[]; rows: Row[]; total: number | null; rowErrors: number[]; errors: number } | { ok: false; error: unknown };

/** Runs the block as the engine does and drains it; never lets an error escape (returns it). */
async function readBlock(path: string): Promise<Outcome> {
	const counters = createCounters();
	const rowErrors: number[] = [];
	const ctx: BlockRunContext = {
		jobId: 'fuzz',
		blockId: 'read',
		signal: new AbortController().signal,
		dataDir,
		outputDir: join(dataDir, 'outputs'),
		options: {},
		enrichment: noApi,
		counters,
		rowError: (index) => {
			counters.errors++;
			rowErrors.push(index);
		},
		setOutputPath: () => {}
	};
	try {
		const out = await runReadCsv({ params: { path }, columns: [], rows: (async function* () {})(), ctx });
		const rows: Row[] = [];
		for await (const batch of out.rows) {
			expect(batch.length).toBeGreaterThan(0);
			rows.push(...batch);
		}
		return { ok: true, columns: out.columns, rows, total: counters.total, rowErrors, errors: counters.errors };
	} catch (error) {
		return { ok: false, error };
	}
}

/** What every successful read must satisfy. */
function expectConsistent(outcome: Extract<Outcome, { ok: true }>) {
	const { columns, rows, total, rowErrors } = outcome;
	expect(columns.length).toBeGreaterThan(0);
	expect(new Set(columns).size).toBe(columns.length);
	for (const column of columns) {
		expect(column).toBe(column.trim());
		expect(column).not.toBe('');
		expect(column).not.toBe('__proto__');
	}
	expect(total).toBe(rows.length);
	const errored: number[] = [];
	rows.forEach((row, i) => {
		expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
		// As sets: a column named like an integer ("0", "2024") is listed first by Object.keys
		// whatever its place; order comes from `columns`, never from a row's keys.
		const keys = Object.keys(row).sort();
		if (ERROR_COLUMN in row && !columns.includes(ERROR_COLUMN)) {
			errored.push(i);
			expect(keys).toEqual([...columns, ERROR_COLUMN].sort());
			expect(row[ERROR_COLUMN]).toMatch(/^Row \d+ has \d+ fields but the header has \d+/);
		} else expect(keys).toEqual([...columns].sort());
		for (const column of columns) expect(typeof row[column]).toBe('string');
	});
	if (!columns.includes(ERROR_COLUMN)) expect(rowErrors).toEqual(errored);
}

function expectClearFailure(error: unknown) {
	expect(error).toBeInstanceOf(JobFailure);
	expect((error as JobFailure).message).toMatch(/^The CSV file .+ (is empty|could not be read: .+)$/s);
}

/** Bytes that look like CSV often enough to reach the parser's corners. */
const csvish = fc
	.array(
		fc.oneof(
			fc.constantFrom(',', '"', '\n', '\r', '\r\n', ' ', 'a', 'b', '""', '\uFEFF', '__proto__', 'é', '😀', '\t', ';'),
			fc.string({ maxLength: 6 })
		),
		{ maxLength: 80 }
	)
	.map((parts) => new TextEncoder().encode(parts.join('')));
/** Arbitrary bytes, with invalid UTF-8, NULs and stray quotes. */
const bytes = fc.uint8Array({ maxLength: 400 });
/** Valid CSV text with one byte flipped or the file cut short. */
const damaged = fc
	.tuple(
		fc.array(fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
		fc.nat(),
		fc.integer({ min: 0, max: 255 }),
		fc.boolean()
	)
	.map(([table, at, byte, cut]) => {
		const text = new TextEncoder().encode(stringify(table));
		if (text.length === 0) return text;
		const i = at % text.length;
		if (cut) return text.slice(0, i);
		const copy = text.slice();
		copy[i] = byte;
		return copy;
	});

describe('read_csv on arbitrary bytes (fast-check)', () => {
	it(
		'rows or a clear JobFailure, never another throw; what it reads is consistent',
		async () => {
			let read = 0;
			let refused = 0;
			await fc.assert(
				fc.asyncProperty(fc.oneof(bytes, csvish, damaged), async (input) => {
					// A box against a blow-up on hostile bytes, not a speed test; CPU time, because a loaded
					// machine stretches the wall clock at random (one case takes a few ms of CPU).
					const started = cpuMs();
					const outcome = await readBlock(writeCase(input));
					expect(cpuMs() - started).toBeLessThan(1_000);
					if (outcome.ok) {
						read++;
						expectConsistent(outcome);
					} else {
						refused++;
						expectClearFailure(outcome.error);
					}
				}),
				{ numRuns: 300 }
			);
			// The generators reach both outcomes (a property that only ever saw one proves less).
			expect(read).toBeGreaterThan(30);
			expect(refused).toBeGreaterThan(5);
		},
		PROPERTY_TIMEOUT_MS
	);

	it(
		'the upload route (readCsvHeader, countCsvRows) and the block agree on every file',
		async () => {
			await fc.assert(
				fc.asyncProperty(fc.oneof(bytes, csvish, damaged), async (input) => {
					const path = writeCase(input);
					const block = await readBlock(path);
					const file = join(dataDir, path);
					const header = await readCsvHeader(file, { previewRows: 3 }).catch((e: unknown) => e);
					const count = await countCsvRows(file).catch((e: unknown) => e);
					if (!block.ok) {
						// A file the block refuses up front is refused by the upload checks too, or fails later in the same way.
						if ((block.error as JobFailure).code === 'empty_file') expect(header).toBeInstanceOf(FileError);
						return;
					}
					expect(header).not.toBeInstanceOf(Error);
					expect(count).toBe(block.rows.length);
					const h = header as { columns: string[]; preview: Row[] };
					expect(h.columns).toEqual(block.columns);
					expect(h.preview).toEqual(block.rows.slice(0, 3));
				}),
				{ numRuns: 150 }
			);
		},
		PROPERTY_TIMEOUT_MS
	);

	it(
		'a table written by csv-stringify reads back cell for cell (quotes, commas, newlines, any text)',
		async () => {
			const header = fc.uniqueArray(fc.stringMatching(/^[A-Za-z][A-Za-z0-9 _]{0,10}[A-Za-z0-9]$/), {
				minLength: 1,
				maxLength: 6,
				selector: (s) => s.trim()
			});
			const table = header.chain((columns) =>
				fc.tuple(
					fc.constant(columns),
					fc.array(
						fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('"', ',', '\n', '\r\n', '=1+1', '""', ' x ')), {
							minLength: columns.length,
							maxLength: columns.length
						}),
						{ maxLength: 20 }
					)
				)
			);
			await fc.assert(
				fc.asyncProperty(table, async ([columns, records]) => {
					// A one-column row of "" is an empty line, which a CSV cannot tell from no row at all.
					const kept = records.filter((r) => r.some((cell) => cell !== ''));
					const outcome = await readBlock(writeCase(stringify([columns, ...kept])));
					if (!outcome.ok) throw outcome.error;
					expect(outcome.columns).toEqual(columns);
					expect(outcome.rows).toEqual(kept.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))));
					expect(outcome.rowErrors).toEqual([]);
				}),
				{ numRuns: 150 }
			);
		},
		PROPERTY_TIMEOUT_MS
	);
});
