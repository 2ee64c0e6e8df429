/**
 * Deterministic lead files for tests and benchmarks: the same `count` always gives the same bytes,
 * so two runs (interrupted and not) can be compared cell for cell.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';

const FIRST = ['Maya', 'Tomás', 'Priya', 'Jonas', 'Grace', 'Kenji', 'Amara', 'Luca', 'Hannah', 'Diego', 'Ines', 'Omar'];
const LAST = ['Okafor', 'Reyes', 'Natarajan', 'Lindqvist', 'Whitfield', 'Watanabe', 'Nwosu', 'Bianchi', 'Schultz', 'Alvarez'];
const COMPANIES = ['Ariglad Inc', 'Northwind Robotics', 'Bluefin Analytics', 'Sakura Logistics', 'Verdant Foods'];
const CITIES = ['Austin, TX, USA', 'Toronto, ON, Canada', 'Stockholm, Sweden', 'Osaka, Japan', 'London, UK'];

export const LEAD_COLUMNS = ['name', 'company', 'email', 'company_location', 'linkedin', 'employees'];

/** Row `i` of a synthetic lead file (every row distinct: the cache must not merge them). */
export function leadRow(i: number): string[] {
	const first = FIRST[i % FIRST.length];
	const last = LAST[Math.floor(i / FIRST.length) % LAST.length];
	const company = COMPANIES[i % COMPANIES.length];
	const slug = `${first}-${last}-${i}`
		.toLowerCase()
		.normalize('NFD')
		.replace(/[^a-z0-9-]/g, '');
	const email = i % 3 === 0 ? '' : `${slug}@${company.split(' ')[0].toLowerCase()}.example`;
	return [
		`${first} ${last} ${i}`,
		company,
		email,
		CITIES[i % CITIES.length],
		`https://www.linkedin.com/in/${slug}`,
		String((i * 37) % 500)
	];
}

const quote = (cell: string) => (/[",\n\r]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);

/** The CSV text (header included) of `count` leads from lead `first` on. */
export function leadsCsv(count: number, first = 0): string {
	const lines = [LEAD_COLUMNS.join(',')];
	for (let i = first; i < first + count; i++) lines.push(leadRow(i).map(quote).join(','));
	return `${lines.join('\n')}\n`;
}

/** Writes a `count`-row lead CSV (leads `first`… on) to `path`, streamed: fine for 1M rows. */
export async function writeLeadsCsv(path: string, count: number, first = 0): Promise<void> {
	await mkdir(dirname(path), { recursive: true });
	const out = createWriteStream(path);
	out.write(LEAD_COLUMNS.join(',') + '\n');
	for (let i = first; i < first + count; i++) {
		if (!out.write(leadRow(i).map(quote).join(',') + '\n')) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
}

/** The name of lead `i` (its `name` column). */
export const leadName = (i: number): string => leadRow(i)[0];
