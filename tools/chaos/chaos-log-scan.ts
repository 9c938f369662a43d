/** What leaked into a log line. */
export type LeakKind = 'api key' | 'access token' | 'webhook secret' | 'key code';

/** One secret found in a log line. The excerpt has the secret itself replaced: it is safe to print. */
export interface LogLeak {
  /** Process that wrote the line (`worker-3`, `webhook-1`). */
  process: string;
  /** 1-based number of the line within that process's output. */
  line: number;
  kind: LeakKind;
  /** Up to ~160 characters of the line around the find, every secret in them replaced by `[LEAK]`. */
  excerpt: string;
}

/** Options of {@link LogLeakScanner}. */
export interface LogLeakScannerOptions {
  /** The run's API key (any other `ak_…`-shaped string is reported too). */
  apiKey: string;
  /** The run's webhook secret. */
  webhookSecret: string;
  /** Leaks kept in full; more are only counted. Default 200. */
  maxLeaks?: number;
}

// Every access token the sandbox issues is a JWT (header.payload.signature, base64url JSON): even a
// truncated one keeps `eyJ…` followed by a dot.
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{2,}/g;
const ANY_API_KEY_PATTERN = /(?<![A-Za-z0-9])ak_[A-Za-z0-9_-]{6,}/g;
// A `codes` array with a string in it: redaction turns the whole value into "[Redacted]", so any
// quoted item is a delivered code whatever its format.
const CODES_ARRAY_PATTERN = /"codes"\s*:\s*\[\s*"/g;
// Candidate key codes (upper-case dash-separated groups, e.g. the sandbox's VOODOO-XXXX-XXXX-XXXX),
// kept so they can be compared with the codes actually delivered once the run is over: a code can
// be logged before the scanner could know it exists.
const CODE_CANDIDATE_PATTERN = /[A-Z0-9]{3,}(?:-[A-Z0-9]{3,}){2,}/g;
/** A whole `codes` array with its items, for excerpts. */
const CODES_ARRAY_ITEMS_PATTERN = /"codes"\s*:\s*\[[^\]]*\]?/g;
const EXCERPT_SIDE = 80;
const LEAK_MARK = '[LEAK]';

/**
 * Scans every log line of every fleet process as it arrives (fed from the fleet's `onLine`), so
 * nothing escapes through the fleet's bounded line buffer. Keeps only what it found, never the
 * lines. Credentials are matched at once; key codes are matched against the codes the sandbox
 * delivered when the run is over ({@link leaks}).
 */
export class LogLeakScanner {
  private readonly found: LogLeak[] = [];
  private dropped = 0;
  private readonly linesBy = new Map<string, number>();
  private readonly candidates: { process: string; line: number; token: string; excerpt: string }[] = [];
  private readonly maxLeaks: number;

  constructor(private readonly options: LogLeakScannerOptions) {
    this.maxLeaks = Math.max(1, options.maxLeaks ?? 200);
  }

  /** Scan one line written by `process`. */
  scan(process: string, line: string): void {
    const number = (this.linesBy.get(process) ?? 0) + 1;
    this.linesBy.set(process, number);
    const { apiKey, webhookSecret } = this.options;
    const kinds: LeakKind[] = [];
    if (apiKey.length > 0 && line.includes(apiKey)) kinds.push('api key');
    if (webhookSecret.length > 0 && line.includes(webhookSecret)) kinds.push('webhook secret');
    for (const match of line.matchAll(ANY_API_KEY_PATTERN)) {
      // The run's own key was counted above already.
      if (apiKey.length === 0 || !match[0].startsWith(apiKey)) kinds.push('api key');
    }
    for (const _match of line.matchAll(JWT_PATTERN)) kinds.push('access token');
    for (const _match of line.matchAll(CODES_ARRAY_PATTERN)) kinds.push('key code');
    const tokens = [...line.matchAll(CODE_CANDIDATE_PATTERN)].map((m) => m[0]);
    if (kinds.length === 0 && tokens.length === 0) return;
    const safe = this.excerpt(line);
    for (const kind of kinds) this.add({ process, line: number, kind, excerpt: safe });
    for (const token of tokens) this.candidates.push({ process, line: number, token, excerpt: safe });
  }

  /** Lines scanned per process. */
  lineCounts(): Map<string, number> {
    return new Map(this.linesBy);
  }

  /** Leaks found beyond `maxLeaks` (counted, not kept). */
  droppedLeaks(): number {
    return this.dropped;
  }

  /**
   * Every leak: the credentials found while scanning, plus each logged string containing one of
   * `deliveredCodes` (the codes the sandbox delivered during the run).
   */
  leaks(deliveredCodes: Iterable<string>): LogLeak[] {
    const codes = [...new Set(deliveredCodes)].filter((code) => code.length > 0);
    const exact = new Set(codes);
    const out = [...this.found];
    for (const candidate of this.candidates) {
      if (exact.has(candidate.token) || codes.some((code) => candidate.token.includes(code))) {
        out.push({ process: candidate.process, line: candidate.line, kind: 'key code', excerpt: candidate.excerpt });
      }
    }
    return out;
  }

  /**
   * Up to ~160 characters of `line` around its first find, with every secret and every code-shaped
   * string in it replaced by `[LEAK]`, so a report can quote it.
   */
  private excerpt(line: string): string {
    const { apiKey, webhookSecret } = this.options;
    let safe = line;
    for (const literal of [apiKey, webhookSecret]) {
      if (literal.length > 0) safe = safe.split(literal).join(LEAK_MARK);
    }
    for (const pattern of [JWT_PATTERN, ANY_API_KEY_PATTERN, CODE_CANDIDATE_PATTERN]) safe = safe.replace(pattern, LEAK_MARK);
    safe = safe.replace(CODES_ARRAY_ITEMS_PATTERN, `"codes":[${LEAK_MARK}]`);
    const at = Math.max(0, safe.indexOf(LEAK_MARK));
    const start = Math.max(0, at - EXCERPT_SIDE);
    const end = Math.min(safe.length, at + LEAK_MARK.length + EXCERPT_SIDE);
    return `${start > 0 ? '…' : ''}${safe.slice(start, end)}${end < safe.length ? '…' : ''}`;
  }

  private add(leak: LogLeak): void {
    if (this.found.length >= this.maxLeaks) {
      this.dropped += 1;
      return;
    }
    this.found.push(leak);
  }
}
