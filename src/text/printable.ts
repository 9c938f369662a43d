const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

/**
 * True for characters that change what a terminal shows rather than being shown: C0 and C1 controls
 * (newline, carriage return, escape sequences), line and paragraph separators, and the
 * bidirectional overrides that reorder the text around them.
 */
function unprintable(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

/**
 * `text` safe to print on one line of a terminal: every such character written as an escape (`\n`,
 * `\u001b`), and backslashes doubled so an escape in the output always stands for one character of
 * the input. An id from a producer or the API could otherwise forge a line of output.
 */
export function printable(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    out += NAMED[char] ?? (unprintable(code) ? `\\u${code.toString(16).padStart(4, '0')}` : char);
  }
  return out;
}
