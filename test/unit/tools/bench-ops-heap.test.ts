import { describe, expect, it } from 'vitest';
import { parseHeapUsedBytes } from '../../../tools/bench/ops-heap.js';

describe('parseHeapUsedBytes', () => {
  it('reads nodejs_heap_size_used_bytes of a Prometheus exposition, not the total', () => {
    const text = [
      '# HELP nodejs_heap_size_total_bytes Process heap size from Node.js in bytes.',
      '# TYPE nodejs_heap_size_total_bytes gauge',
      'nodejs_heap_size_total_bytes 61341696',
      '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
      '# TYPE nodejs_heap_size_used_bytes gauge',
      'nodejs_heap_size_used_bytes 35651584',
      '',
    ].join('\n');
    expect(parseHeapUsedBytes(text)).toBe(35_651_584);
  });

  it('reads a labelled or exponent-written value, and is null without the metric', () => {
    expect(parseHeapUsedBytes('nodejs_heap_size_used_bytes{app="vf"} 3.5e7\n')).toBe(35_000_000);
    expect(parseHeapUsedBytes('process_resident_memory_bytes 1\n')).toBeNull();
  });
});
