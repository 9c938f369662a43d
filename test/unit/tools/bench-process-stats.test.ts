import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCpuMs, parseVmHwmBytes, parseVmRssBytes, readCpuMs, readPeakRssBytes, readRssBytes } from '../../../tools/bench/process-stats.js';

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

describe('parseCpuMs', () => {
  it('adds utime and stime (fields 14 and 15, in 1/100 s) into ms, counting fields after the name', () => {
    // A name with a space and a parenthesis must not shift the fields.
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 500 0 0 0 1234 56 0 0 20 0 11 0 136393 3133440 417';
    expect(parseCpuMs(stat)).toBe((1234 + 56) * 10);
  });

  it('is null for text that is not a stat line', () => {
    expect(parseCpuMs('no name here')).toBeNull();
  });

  it('reads this process, growing as it works', () => {
    if (!existsSync('/proc/self/stat')) return;
    const before = readCpuMs(process.pid) ?? Number.NaN;
    const until = Date.now() + 60;
    let spin = 0;
    while (Date.now() < until) spin += 1;
    expect(spin).toBeGreaterThan(0);
    expect(readCpuMs(process.pid)).toBeGreaterThanOrEqual(before);
    expect(readCpuMs(-1)).toBeNull();
  });
});
