/**
 * WORKER_PARTITIONS: which partitions a worker process consumes, as a list of indexes and ranges
 * (`0,2,4-7`). Hand-parsed: the grammar is this project's own and zod has no range type.
 */

/** The partition indexes `value` names, sorted and distinct; throws a message (without the variable) when malformed. */
export function parseWorkerPartitions(value: string): number[] {
  const picked = new Set<number>();
  for (const part of value.split(',').map((p) => p.trim())) {
    const match = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(part);
    if (match?.[1] === undefined) throw new Error(`expected partition indexes or ranges like 0,2,4-7, got ${JSON.stringify(part.slice(0, 20))}`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new Error(`expected a range from low to high, got ${part}`);
    for (let p = first; p <= last; p++) picked.add(p);
  }
  return [...picked].sort((a, b) => a - b);
}
