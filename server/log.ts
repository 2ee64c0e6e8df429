/**
 * Structured logs (pino, one JSON object per line). The API key must never reach a log line, so
 * every place a key could sit is redacted here, once, whatever a caller passes in.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths pino censors. Covers config objects, request headers and nested option bags. */
export const REDACT_PATHS = [
	'apiKey',
	'*.apiKey',
	'*.*.apiKey',
	'SIXTYFOUR_API_KEY',
	'*.SIXTYFOUR_API_KEY',
	'headers["x-api-key"]',
	'*.headers["x-api-key"]',
	'req.headers.authorization',
	'*.authorization'
];

export interface CreateLoggerOptions {
	level?: string;
	/** Where lines go (tests pass a stream to read them back). Default: stdout. */
	destination?: DestinationStream;
	/** A secret to scrub from any message text too (belt and braces beyond path redaction). */
	secret?: string;
}

/**
 * Creates the process logger.
 * @example const log = createLogger({ level: 'info', secret: config.apiKey })
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
	const secret = options.secret && options.secret.length >= 4 ? options.secret : undefined;
	return pino(
		{
			level: options.level ?? 'info',
			base: { pid: process.pid },
			redact: { paths: REDACT_PATHS, censor: '[redacted]' },
			...(secret
				? {
						hooks: {
							logMethod(args, method) {
								const scrubbed = args.map((a) => (typeof a === 'string' ? a.split(secret).join('[redacted]') : a));
								method.apply(this, scrubbed as Parameters<typeof method>);
							}
						}
					}
				: {})
		},
		options.destination ?? pino.destination({ sync: true })
	);
}
