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


// Last line of defence for values that could slip past path redaction (e.g. inside an error message
// or a free-text detail): JWT-shaped strings and ak_ keys never leave the process.
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
// Not preceded by a letter or digit, so words such as `peak_rss` survive.
const API_KEY_PATTERN = /(?<![A-Za-z0-9])ak_[A-Za-z0-9_-]{4,}/g;

const MAX_CAUSE_DEPTH = 5;

/** Keys censored at any depth (path redaction only reaches one level, and no array items). */
const SENSITIVE_KEYS: ReadonlySet<string> = new Set([
  'api_key',
  'apiKey',
  'access_token',
  'accessToken',
  'token',
  'secret',
  'webhookSecret',
  'codes',
  'authorization',
  'x-webhook-signature',
]);
const MAX_CENSOR_DEPTH = 8;

/**
 * The same keys as pino redaction paths (top level and one level down). `censorDeep` already covers
 * log objects at any depth; these also cover child-logger bindings, which the log formatter never sees.
 */
const REDACT_PATHS = [...SENSITIVE_KEYS].flatMap((key) => {
  const step = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`;
  return [step.startsWith('.') ? key : step, `*${step}`];
});

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a log object with every sensitive key censored, however deep (e.g. `{ job: { result:
 * { order: { codes } } } }` or `{ orders: [...] }`). Only plain objects and arrays are walked:
 * errors go to their serializer untouched, other class instances are left to pino.
 */
function censorDeep(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_CENSOR_DEPTH) return '[Too deep]';
  if (Array.isArray(value)) return value.map((item: unknown) => censorDeep(item, depth + 1));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SENSITIVE_KEYS.has(key) && item !== undefined && item !== null ? '[Redacted]' : censorDeep(item, depth + 1);
  }
  return out;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Serialise an error without the request options got attaches (headers carry the bearer token,
 * bodies carry the API key): only name, message, our code/retryable/status and the stack.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  return serializeErrorAt(err, 0);
}

function serializeErrorAt(err: unknown, depth: number): Record<string, unknown> {
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
  // Bounded: a cause chain can be circular.
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeErrorAt(err.cause, depth + 1);
  return out;
}

/**
 * The serializer of the `err` and `error` keys. Only errors are serialised: `error` is also an
 * ordinary field (an order's `error: null` or `"OUT_OF_STOCK"`), which must log as it is.
 */
function errorField(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  return serializeError(value);
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
      serializers: { err: errorField, error: errorField },
      formatters: { log: (object) => censorDeep(object, 0) as Record<string, unknown> },
      hooks: { streamWrite: scrub },
    },
    options.destination ?? transport ?? destination({ dest: 1, sync: false }),
  );
}
