/**
 * Synthetic lead files for benchmarks and tests: plausible, fictional people with the sample's
 * columns (name, company, email, company_location, linkedin), streamed to disk so a million rows
 * never sit in memory, and the same file for the same seed.
 *
 *   npm run generate:leads -- --rows 1000000 --out data/bench/leads-1m.csv [--seed 1] [--duplicates 0.1]
 *
 * About half the rows are in the USA (`company_location` ends with "USA"), about a quarter have no
 * email, some companies and every location hold a comma (so quoting is exercised), and
 * `--duplicates` repeats that share of earlier leads verbatim (what the enrichment cache saves).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export interface GenerateLeadsOptions {
	rows: number;
	/** Where to write (folders are created). The file appears only when complete. */
	path: string;
	/** Same seed → same file (default 1). */
	seed?: number;
	/** Share of rows, 0–1, that repeat an earlier lead exactly (default 0). */
	duplicates?: number;
}

export const LEAD_COLUMNS = ['name', 'company', 'email', 'company_location', 'linkedin'] as const;

const FIRST = [
	'Maya',
	'Tomás',
	'Priya',
	'Jonas',
	'Grace',
	'Kenji',
	'Amara',
	'Luca',
	'Hannah',
	'Diego',
	'Aisha',
	'Noah',
	'Elena',
	'Mateo',
	'Sofia',
	'Omar',
	'Ingrid',
	'Wei',
	'Chloe',
	'Rafael',
	'Zara',
	'Liam',
	'Yuki',
	'Fatima',
	'Ethan',
	'Leila',
	'Marcus',
	'Ana',
	'Samuel',
	'Nadia',
	'Oliver',
	'Mei',
	'Kwame',
	'Isla',
	'Arjun',
	'Clara',
	'Felix',
	'Sana',
	'Hugo',
	'Lucia'
];
const LAST = [
	'Okafor',
	'Reyes',
	'Natarajan',
	'Lindqvist',
	'Whitfield',
	'Watanabe',
	'Nwosu',
	'Bianchi',
	'Schultz',
	'Alvarez',
	'Khan',
	'Becker',
	'Rossi',
	'Chen',
	'Novak',
	'Haddad',
	'Olsen',
	'Park',
	'Dubois',
	'Costa',
	'Mensah',
	'Kowalski',
	'Tanaka',
	'Silva',
	'Murphy',
	'Ivanova',
	'Patel',
	'García',
	'Jensen',
	'Fischer',
	'Nakamura',
	'Adeyemi',
	'Moreau',
	'Larsen',
	'Gupta',
	'Romero',
	'Walsh',
	'Suzuki',
	'Hoffmann',
	'Mwangi'
];
const COMPANY_A = [
	'Ariglad',
	'Northwind',
	'Bluefin',
	'Sakura',
	'Verdant',
	'Copperleaf',
	'Brightpath',
	'Ironclad',
	'Silverline',
	'Redwood',
	'Lumen',
	'Harbor',
	'Summit',
	'Polaris',
	'Cobalt',
	'Meridian',
	'Juniper',
	'Atlas',
	'Quarry',
	'Tidewater'
];
const COMPANY_B = [
	'Robotics',
	'Analytics',
	'Logistics',
	'Foods',
	'Health',
	'Labs',
	'Systems',
	'Energy',
	'Capital',
	'Software',
	'Biotech',
	'Media',
	'Security',
	'Freight',
	'Studios'
];
const SUFFIX = ['Inc', 'Inc.', ', Inc.', 'LLC', 'Ltd', 'GmbH', '', '', '', ''];
const US = [
	'Austin, TX',
	'Boston, MA',
	'Denver, CO',
	'San Francisco, CA',
	'New York, NY',
	'Seattle, WA',
	'Chicago, IL',
	'Atlanta, GA',
	'Miami, FL',
	'Portland, OR'
];
const ABROAD = [
	'Berlin, Germany',
	'Toronto, ON, Canada',
	'Stockholm, Sweden',
	'Osaka, Japan',
	'London, UK',
	'Milan, Italy',
	'Lagos, Nigeria',
	'São Paulo, Brazil',
	'Bangalore, India',
	'Sydney, Australia'
];

/** mulberry32: a tiny, fast, seedable PRNG (Math.random cannot be seeded). */
function seededRandom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function csvField(value: string): string {
	return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function slug(value: string): string {
	return value
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '-')
		.replace(/^-|-$/g, '');
}

/** Returns a function producing one CSV line (with its newline) per call. */
function leadLines(seed: number, duplicates: number): () => string {
	const random = seededRandom(seed);
	const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
	const recent: string[] = [];
	let index = 0;
	return () => {
		if (recent.length > 0 && random() < duplicates) return recent[Math.floor(random() * recent.length)];
		const first = pick(FIRST);
		const last = pick(LAST);
		const brand = pick(COMPANY_A);
		const suffix = pick(SUFFIX);
		const company = `${brand} ${pick(COMPANY_B)}${suffix.startsWith(',') ? suffix : suffix ? ' ' + suffix : ''}`;
		const location = random() < 0.5 ? `${pick(US)}, USA` : pick(ABROAD);
		const email = random() < 0.25 ? '' : `${slug(first)}.${slug(last)}@${slug(brand)}.example`;
		const id = (index++).toString(36);
		const linkedin = `https://www.linkedin.com/in/${slug(first)}-${slug(last)}-${id}`;
		const line = [`${first} ${last}`, company, email, location, linkedin].map(csvField).join(',') + '\n';
		if (duplicates > 0) {
			if (recent.length < 1_000) recent.push(line);
			else recent[Math.floor(random() * recent.length)] = line;
		}
		return line;
	};
}

/**
 * Writes `rows` synthetic leads (plus a header) to `path`, streaming with back-pressure, through a
 * temporary file renamed at the end. Resolves with the rows and bytes written.
 */
export async function generateLeadsFile(options: GenerateLeadsOptions): Promise<{ rows: number; bytes: number }> {
	const { rows, path } = options;
	const seed = options.seed ?? 1;
	const duplicates = options.duplicates ?? 0;
	if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a whole number ≥ 0, got ${rows}`);
	if (!(duplicates >= 0 && duplicates <= 1)) throw new RangeError(`duplicates must be between 0 and 1, got ${duplicates}`);
	await mkdir(dirname(resolve(path)), { recursive: true });
	const temp = `${path}.${process.pid}.partial`;
	const out = createWriteStream(temp);
	const next = leadLines(seed, duplicates);
	let bytes = 0;
	try {
		let chunk = LEAD_COLUMNS.join(',') + '\n';
		for (let i = 0; i < rows; i++) {
			chunk += next();
			if (chunk.length >= 64 * 1024) {
				bytes += Buffer.byteLength(chunk);
				const ok = out.write(chunk);
				chunk = '';
				if (!ok) await once(out, 'drain');
			}
		}
		bytes += Buffer.byteLength(chunk);
		out.end(chunk);
		await once(out, 'finish');
		await rename(temp, path);
	} catch (err) {
		out.destroy();
		await rm(temp, { force: true });
		throw err;
	}
	return { rows, bytes };
}

async function main(argv: string[]): Promise<number> {
	const { values } = parseArgs({
		args: argv,
		options: {
			rows: { type: 'string' },
			out: { type: 'string' },
			seed: { type: 'string', default: '1' },
			duplicates: { type: 'string', default: '0' }
		}
	});
	const rows = Number(values.rows);
	if (!values.rows || !values.out || !Number.isInteger(rows) || rows < 0) {
		console.error('usage: npm run generate:leads -- --rows 1000000 --out data/bench/leads-1m.csv [--seed 1] [--duplicates 0.1]');
		return 2;
	}
	const started = performance.now();
	const result = await generateLeadsFile({ rows, path: values.out, seed: Number(values.seed), duplicates: Number(values.duplicates) });
	const seconds = (performance.now() - started) / 1000;
	console.error(
		`wrote ${result.rows.toLocaleString('en')} leads (${(result.bytes / 1e6).toFixed(1)} MB) to ${values.out} in ${seconds.toFixed(1)} s`
	);
	return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
	main(process.argv.slice(2)).then(
		(code) => (process.exitCode = code),
		(err: unknown) => {
			console.error(err instanceof Error ? err.message : err);
			process.exitCode = 1;
		}
	);
}
