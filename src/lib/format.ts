/**
 * Numbers, money and time as people read them in the UI. Pure functions (unit-tested), so the
 * progress panel shows the same text everywhere.
 */

const integer = new Intl.NumberFormat('en-US');

/** 12345 → "12,345"; null → "—". */
export function formatCount(n: number | null | undefined): string {
	return n === null || n === undefined || !Number.isFinite(n) ? '—' : integer.format(Math.round(n));
}

/** Cents as dollars: 5 → "$0.05", 123456 → "$1,234.56"; fractions of a cent round up to show a cost. */
export function formatCents(cents: number | null | undefined): string {
	if (cents === null || cents === undefined || !Number.isFinite(cents)) return '—';
	const dollars = Math.ceil(cents) / 100;
	return `$${dollars.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Seconds as "45s", "3m 05s", "2h 10m"; null → "—". */
export function formatSeconds(s: number | null | undefined): string {
	if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return '—';
	if (s < 10) return `${s < 0.05 ? '0' : s.toFixed(1).replace(/\.0$/, '')}s`;
	const total = Math.round(s);
	if (total < 60) return `${total}s`;
	const m = Math.floor(total / 60);
	if (m < 60) return `${m}m ${String(total % 60).padStart(2, '0')}s`;
	const h = Math.floor(m / 60);
	return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

/** A rate with one decimal under 10 ("3.4/s"), whole numbers above ("120/s"). */
export function formatRate(perSecond: number): string {
	if (!Number.isFinite(perSecond) || perSecond <= 0) return '—';
	return `${perSecond < 10 ? perSecond.toFixed(1) : integer.format(Math.round(perSecond))}/s`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", then the date. */
export function formatRelative(then: number | string | null | undefined, now = Date.now()): string {
	if (then === null || then === undefined) return '—';
	const t = typeof then === 'string' ? Date.parse(then) : then;
	if (!Number.isFinite(t)) return '—';
	const s = Math.max(0, (now - t) / 1000);
	if (s < 45) return 'just now';
	if (s < 3600) return `${Math.round(s / 60)} min ago`;
	if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
	if (s < 7 * 86_400) return `${Math.round(s / 86_400)} day${Math.round(s / 86_400) === 1 ? '' : 's'} ago`;
	return new Date(t).toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric' });
}

/** Share done/total as a 0–100 percentage (null when the total is unknown). */
export function percent(done: number, total: number | null): number | null {
	if (total === null || total <= 0) return total === 0 ? 100 : null;
	return Math.max(0, Math.min(100, (done / total) * 100));
}

/** A cell as text for tables: null → "", objects as JSON. */
export function cellText(value: unknown): string {
	if (value === null || value === undefined) return '';
	if (typeof value === 'object') return JSON.stringify(value);
	return String(value);
}
