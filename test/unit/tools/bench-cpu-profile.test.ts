import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { areaOf, readProfilesOf, renderProfileSummary, summarizeProfiles, type CpuProfile } from '../../../tools/bench/cpu-profile.js';

const frame = (id: number, functionName: string, url: string, lineNumber = 0): CpuProfile['nodes'][number] => ({ id, callFrame: { functionName, url, lineNumber } });

/** Four frames hit by samples 10 ms apart: idle 40 ms, got 30 ms, the ledger 20 ms, GC 10 ms. */
const PROFILE: CpuProfile = {
  nodes: [
    frame(1, '(root)', ''),
    frame(2, '(idle)', ''),
    frame(3, 'createNativeRequestOptions', 'file:///app/node_modules/got/dist/source/core/options.js', 1724),
    frame(4, 'save', 'file:///app/dist/ledger/order-ledger.js', 111),
    frame(5, '(garbage collector)', ''),
  ],
  startTime: 0,
  endTime: 100_000,
  samples: [2, 2, 2, 2, 3, 3, 3, 4, 4, 5],
  timeDeltas: [0, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000],
};

describe('areaOf', () => {
  it('names a dependency by its package (scoped ones whole), this package by its folder, and Node by its module', () => {
    expect(areaOf('f', 'file:///app/node_modules/got/dist/source/index.js')).toBe('got');
    expect(areaOf('f', 'file:///app/node_modules/@bull-board/api/dist/index.js')).toBe('@bull-board/api');
    expect(areaOf('save', 'file:///app/dist/ledger/order-ledger.js')).toBe('voodoo-fulfillment (ledger)');
    expect(areaOf('emit', 'node:events')).toBe('node:events');
    expect(areaOf('(garbage collector)', '')).toBe('garbage collector');
    expect(areaOf('(program)', '')).toBe('runtime (native)');
  });
});

describe('summarizeProfiles', () => {
  it('gives each sample the time until the next one, leaves idle out of the busy time, and ranks functions by self time', () => {
    const s = summarizeProfiles([PROFILE], 2);
    // The last sample has no next delta: 90 ms are attributed, 30 of them idle.
    expect(s).toMatchObject({ profiles: 1, sampledMs: 100, busyMs: 50 });
    expect(s.top).toEqual([
      { name: 'createNativeRequestOptions got/dist/source/core/options.js:1725', selfMs: 30, share: 0.6 },
      { name: 'save dist/ledger/order-ledger.js:112', selfMs: 20, share: 0.4 },
    ]);
    expect(s.areas.map((a) => a.name)).toEqual(['got', 'voodoo-fulfillment (ledger)']);
  });

  it('sums several profiles', () => {
    expect(summarizeProfiles([PROFILE, PROFILE]).busyMs).toBe(100);
  });
});

describe('readProfilesOf', () => {
  it('reads only the profiles of the given process ids, by the pid in the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-profile-test-'));
    writeFileSync(join(dir, 'CPU.20261127.215049.1234.0.001.cpuprofile'), JSON.stringify(PROFILE));
    writeFileSync(join(dir, 'CPU.20261127.215049.5678.0.001.cpuprofile'), JSON.stringify(PROFILE));
    writeFileSync(join(dir, 'notes.txt'), 'not a profile');
    expect(readProfilesOf(dir, [1234])).toHaveLength(1);
    expect(readProfilesOf(dir, [1234, 5678])).toHaveLength(2);
    expect(readProfilesOf(dir, [9])).toEqual([]);
  });
});

describe('renderProfileSummary', () => {
  it('writes the areas and the functions as tables, with shares of the busy time', () => {
    const text = renderProfileSummary('worker', summarizeProfiles([PROFILE])).join('\n');
    expect(text).toContain('### worker');
    expect(text).toContain('| got | 30 | 60 % |');
    expect(text).toContain('| `save dist/ledger/order-ledger.js:112` | 20 | 40 % |');
  });
});
