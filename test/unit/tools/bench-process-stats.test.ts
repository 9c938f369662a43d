import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseVmHwmBytes, parseVmRssBytes, readPeakRssBytes, readRssBytes } from '../../../tools/bench/process-stats.js';

const STATUS = ['Name:\tnode', 'VmPeak:\t 1187608 kB', 'VmHWM:\t   98765 kB', 'VmRSS:\t   90000 kB', 'Threads:\t11', ''].join('\n');

describe('parseVmHwmBytes', () => {
  it('reads the VmHWM line in bytes, not VmPeak or VmRSS', () => {
    expect(parseVmHwmBytes(STATUS)).toBe(98765 * 1024);
  });

  it('is null when the status has no VmHWM line', () => {
    expect(parseVmHwmBytes('Name:\tkthreadd\nState:\tS (sleeping)\n')).toBeNull();
  });
});

describe('readPeakRssBytes', () => {
  it.runIf(existsSync('/proc/self/status'))('reads a live process’s peak RSS, at least its current heap', () => {
    const bytes = readPeakRssBytes(process.pid);
    expect(bytes).not.toBeNull();
    expect(bytes ?? 0).toBeGreaterThanOrEqual(process.memoryUsage().heapUsed);
  });

  it('is null for a pid that cannot exist', () => {
    expect(readPeakRssBytes(0)).toBeNull();
    expect(readPeakRssBytes(2 ** 31)).toBeNull();
  });
});

describe('parseVmRssBytes', () => {
  it('reads the current VmRSS line in bytes, not the peak', () => {
    expect(parseVmRssBytes(STATUS)).toBe(90000 * 1024);
  });

  it('is null when the status has no VmRSS line', () => {
    expect(parseVmRssBytes('Name:\tkthreadd\nState:\tS (sleeping)\n')).toBeNull();
  });
});

describe('readRssBytes', () => {
  it.runIf(existsSync('/proc/self/status'))('reads a live process’s current RSS, at most its peak', () => {
    const rss = readRssBytes(process.pid);
    expect(rss).not.toBeNull();
    expect(rss ?? 0).toBeGreaterThan(0);
    expect(rss ?? 0).toBeLessThanOrEqual(readPeakRssBytes(process.pid) ?? 0);
  });

  it('is null for a pid that cannot exist', () => {
    expect(readRssBytes(0)).toBeNull();
    expect(readRssBytes(2 ** 31)).toBeNull();
  });
});
