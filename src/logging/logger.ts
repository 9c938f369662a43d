import { pino, destination, transport as pinoTransport, type DestinationStream, type Logger } from 'pino';
import { FulfillmentError } from '../errors/errors.js';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** pino level name. */
  level: string;
  /** Pretty-print for humans (development); JSON otherwise. */
  pretty?: boolean;
  /** Where lines go; stdout when omitted. Tests pass a capturing stream. */
  destination?: DestinationStream;
  /** Secret values to scrub from every line whatever field they hide in (the API key, the webhook secret). */
  secrets?: readonly string[];
  /** Fields bound to every line. */
  base?: Record<string, unknown>;
}

/**
 * Paths pino removes before serialising. Delivered `codes` are money; keys and tokens are credentials.
 * Wildcards cover one level of nesting, which is where our own log calls put them.
 */
const REDACT_PATHS = [
  'api_key',
  'apiKey',
  'access_token',
  'accessToken',
  'token',
  'secret',
  'webhookSecret',
  'codes',
  'authorization',
  'headers.authorization',
  'headers["x-webhook-signature"]',
  '*.api_key',
  '*.apiKey',
  '*.access_token',
  '*.accessToken',
  '*.token',
  '*.secret',
  '*.webhookSecret',
  '*.codes',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-webhook-signature"]',
];

// Last line of defence for values that could slip past path redaction (e.g. inside an error message
// or a free-text detail): JWT-shaped strings and ak_ keys never leave the process.
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const API_KEY_PATTERN = /ak_[A-Za-z0-9_-]{4,}/g;

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Serialise an error without the request options got attaches (headers carry the bearer token,
 * bodies carry the API key): only name, message, our code/retryable/status and the stack.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  if (err instanceof FulfillmentError) {
    out.code = err.code;
    out.retryable = err.retryable;
    if (err.status !== undefined) out.status = err.status;
    if (err.apiCode !== undefined) out.apiCode = err.apiCode;
    if (err.detail !== undefined) out.detail = err.detail;
  } else {
    const code: unknown = (err as Error & { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
  }
  if (err.cause !== undefined) out.cause = serializeError(err.cause);
  return out;
}

/** Build the process logger. Called once per composition root. */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const secretPattern = secrets.length > 0 ? new RegExp(secrets.map(escapeRegExp).join('|'), 'g') : undefined;
  const scrub = (line: string): string => {
    let out = line.replace(JWT_PATTERN, '[Redacted]').replace(API_KEY_PATTERN, '[Redacted]');
    if (secretPattern) out = out.replace(secretPattern, '[Redacted]');
    return out;
  };
  // pino's transport() is typed loosely (thread-stream); it is a DestinationStream at run time.
  const transport =
    options.pretty && !options.destination
      ? (pinoTransport({ target: 'pino-pretty', options: { colorize: true } }) as unknown as DestinationStream)
      : undefined;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      serializers: { err: serializeError, error: serializeError },
      hooks: { streamWrite: scrub },
    },
    options.destination ?? transport ?? destination({ dest: 1, sync: false }),
  );
}
