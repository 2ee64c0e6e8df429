/**
 * Reading what a caller told us about a lead or a company: the first non-empty value among the
 * usual column names, names recovered from LinkedIn URLs or e-mail addresses, company domains.
 */
import { COUNTRY_WORDS } from './pools';

/** A free-form record from a request body (`lead_info`, `lead`, `target_company`). */
export type Facts = Record<string, unknown>;

const FREE_MAIL = /^(gmail|googlemail|yahoo|hotmail|outlook|live|icloud|me|proton|protonmail|aol|gmx)\./i;

/** The first key (case-insensitive) holding a non-empty string or number, as trimmed text. */
export function textOf(facts: Facts, keys: readonly string[]): string | null {
	const lower = new Map(Object.entries(facts).map(([k, val]) => [k.toLowerCase(), val]));
	for (const key of keys) {
		const value = lower.get(key.toLowerCase());
		if (typeof value === 'number' && Number.isFinite(value)) return String(value);
		if (typeof value === 'string' && value.trim()) return value.trim();
	}
	return null;
}

export function titleCase(text: string): string {
	return text
		.split(/\s+/)
		.filter(Boolean)
		.map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
		.join(' ');
}

/** Lower-case ASCII letters and digits only. */
export function slugify(text: string): string {
	return text
		.normalize('NFKD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '');
}

/** "ada-lovelace-1a2b" in a LinkedIn /in/ URL → "Ada Lovelace". */
export function nameFromLinkedin(url: string): string | null {
	const match = /linkedin\.com\/in\/([^/?#]+)/i.exec(url);
	if (!match?.[1]) return null;
	const words = decodeURIComponent(match[1])
		.split(/[-_]+/)
		.filter((w) => /^[a-z\u00c0-\u024f]+$/i.test(w));
	return words.length > 0 ? titleCase(words.slice(0, 3).join(' ')) : null;
}

/** "ada.lovelace@x.com" → "Ada Lovelace" (null for a one-word local part such as "info"). */
export function nameFromEmail(email: string): string | null {
	const local = email.split('@')[0] ?? '';
	const words = local.split(/[._-]+/).filter((w) => /^[a-z]{2,}$/i.test(w));
	return words.length >= 2 ? titleCase(words.slice(0, 2).join(' ')) : null;
}

/** A bare host from a website, URL or domain ("https://www.ariglad.com/about" → "ariglad.com"). */
export function hostOf(text: string): string | null {
	const host = text
		.trim()
		.replace(/^[a-z]+:\/\//i, '')
		.replace(/^www\./i, '')
		.split(/[/?#:]/)[0]
		?.toLowerCase();
	return host && /^[a-z0-9.-]+\.[a-z]{2,}$/.test(host) ? host : null;
}

const LEGAL_SUFFIX = /\b(inc|llc|ltd|limited|gmbh|corp|corporation|co|plc|sa|ag|bv)\b\.?/gi;

/** The company's web domain: given, from its website or a work e-mail, else made from its name. */
export function companyDomain(facts: Facts, company: string): string {
	for (const key of ['domain', 'website', 'company_domain', 'company_website', 'url']) {
		const host = hostOf(textOf(facts, [key]) ?? '');
		if (host) return host;
	}
	const email = textOf(facts, ['email', 'work_email']);
	const emailHost = email?.includes('@') ? hostOf(email.split('@')[1] ?? '') : null;
	if (emailHost && !FREE_MAIL.test(emailHost)) return emailHost;
	const slug = slugify(company.replace(LEGAL_SUFFIX, ' '));
	return `${slug || 'company'}.com`;
}

/** The country a free-text location names, if it names one we know. */
export function countryIn(location: string): string | null {
	for (const [pattern, country] of COUNTRY_WORDS) if (pattern.test(location)) return country;
	return null;
}
