/**
 * DNS-rebinding defence. A page on evil.example can make its own name resolve to this server (a
 * private address, 127.0.0.1); the browser then sends `Host: evil.example` and `Origin:
 * http://evil.example`, so comparing the two — both chosen by that page — proves nothing. In
 * production the server answers only to names the operator configured (the hosts of `PUBLIC_URL`
 * and `ALLOWED_ORIGINS`), and to IP addresses and `localhost`, which no outside page can rebind.
 * Everything else gets 403 before any route or socket sees it.
 */
import { isIP } from 'node:net';

export interface HostCheckOptions {
	/** Only `production` enforces (dev servers are reached by whatever name the developer uses). */
	nodeEnv: string;
	/** PUBLIC_URL. */
	publicUrl?: string;
	/** ALLOWED_ORIGINS. */
	allowedOrigins?: readonly string[];
}

export interface HostCheck {
	/** True when a request with this `Host` header may be served. */
	allows(host: string | undefined): boolean;
	/** Origins configured by the operator (PUBLIC_URL's, then ALLOWED_ORIGINS), normalised. */
	readonly publicOrigins: readonly string[];
}

/** The message a refused request gets. */
export const HOST_NOT_ALLOWED =
	'This server does not answer to that host name: open it at its public address (the operator sets PUBLIC_URL)';

/** The host name of a `Host` header (no port, no brackets, no trailing dot, lower case); null if malformed. */
export function hostnameOf(host: string): string | null {
	// Only what a Host header may hold (no userinfo, no path): `a@127.0.0.1` is not 127.0.0.1.
	if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host.trim())) return null;
	try {
		const name = new URL(`http://${host.trim()}`).hostname.toLowerCase().replace(/\.$/, '');
		return name || null;
	} catch {
		return null;
	}
}

/** A name no outside page can point elsewhere: an IP literal or localhost. */
function unrebindable(hostname: string): boolean {
	return hostname === 'localhost' || isIP(hostname.replace(/^\[|\]$/g, '')) !== 0;
}

/**
 * Builds the check from the configuration.
 * @example if (!hosts.allows(req.headers.host)) return refuse(403)
 */
export function createHostCheck(options: HostCheckOptions): HostCheck {
	const publicOrigins = [
		...new Set([options.publicUrl, ...(options.allowedOrigins ?? [])].flatMap((u) => (u ? [new URL(u).origin] : [])))
	];
	const names = new Set(publicOrigins.map((o) => new URL(o).hostname.toLowerCase()));
	const enforced = options.nodeEnv === 'production';
	return {
		publicOrigins,
		allows(host) {
			// HTTP/1.0 clients may send none: not a browser, so not a rebinding attack.
			if (!enforced || host === undefined) return true;
			const name = hostnameOf(host);
			return name !== null && (unrebindable(name) || names.has(name));
		}
	};
}
