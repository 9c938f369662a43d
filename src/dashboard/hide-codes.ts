/** How deep a job's data is walked; result jobs are two levels deep at most. */
const MAX_DEPTH = 8;

/**
 * A copy of job data with every `codes` array (delivered keys: money) replaced by a note of how
 * many there were, at any depth. Everything else is kept as it is, so the dashboard still shows the
 * whole result.
 */
export function hideCodes(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  // Fail closed: what is too deep to search for codes is not shown at all.
  if (depth > MAX_DEPTH) return '[nested too deep to show]';
  if (Array.isArray(value)) return value.map((item) => hideCodes(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'codes' && Array.isArray(item)) {
      copy[key] = `[${item.length} code(s) hidden]`;
    } else {
      copy[key] = hideCodes(item, depth + 1);
    }
  }
  return copy;
}
