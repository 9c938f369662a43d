import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from '../figures/run-figures.js';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) the summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  /** Microseconds. */
  startTime: number;
  /** Microseconds. */
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** One row of a profile summary: a function (or an area) and the CPU it spent itself. */
export interface ProfileRow {
  /** `function file:line`, or an area name. */
  name: string;
  /** Self time, in ms. */
  selfMs: number;
  /** Share of the busy (non-idle) time, 0–1. */
  share: number;
}

/** What the processes of one role spent their CPU on, summed over their profiles. */
export interface ProfileSummary {
  /** Profiles summed. */
  profiles: number;
  /** Sampled wall time, summed over the profiles, in ms. */
  sampledMs: number;
  /** Sampled time not idle (JavaScript, GC, the runtime), in ms. */
  busyMs: number;
  /** Where the busy time went, by area: this package, each dependency, Node's internals, GC, the runtime. */
  areas: ProfileRow[];
  /** The functions with the most self time. */
  top: ProfileRow[];
}

const IDLE = '(idle)';

/**
 * The area a frame belongs to: why areas and not just functions — the question a profile answers
 * here is "how much of a worker is not the API call itself", and that is a question about packages.
 */
export function areaOf(functionName: string, url: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(idle)') return IDLE;
    // (program), (root) and native frames without a script.
    return 'runtime (native)';
  }
  if (url.startsWith('node:')) return `node:${url.slice('node:'.length).split('/')[0] ?? ''}`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    const pkg = rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? '');
    return pkg;
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return `voodoo-fulfillment (${url.slice(dist + '/dist/'.length).split('/')[0] ?? ''})`;
  return 'other';
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return `dist/${url.slice(dist + '/dist/'.length)}`;
  return url.replace(/^file:\/\//, '');
}

/** Self time per node id, in µs: each sample's time delta belongs to the node it hit. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  if (samples !== undefined && timeDeltas !== undefined && samples.length === timeDeltas.length && samples.length > 0) {
    // timeDeltas[i] is the time before sample i; the time after it (the next delta) is what it hit.
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i] as number;
      const delta = timeDeltas[i + 1] ?? 0;
      self.set(id, (self.get(id) ?? 0) + Math.max(0, delta));
    }
    return self;
  }
  const hits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  const perHit = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
  for (const n of profile.nodes) self.set(n.id, (n.hitCount ?? 0) * perHit);
  return self;
}

/** Sum `profiles` into one summary: areas and the `top` functions by self time. */
export function summarizeProfiles(profiles: readonly CpuProfile[], top = 25): ProfileSummary {
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let sampledUs = 0;
  for (const profile of profiles) {
    sampledUs += Math.max(0, profile.endTime - profile.startTime);
    const self = selfTimes(profile);
    for (const node of profile.nodes) {
      const us = self.get(node.id) ?? 0;
      if (us <= 0) continue;
      const { functionName, url, lineNumber } = node.callFrame;
      const area = areaOf(functionName, url);
      byArea.set(area, (byArea.get(area) ?? 0) + us);
      if (area === IDLE) continue;
      const key = url === '' ? functionName : `${functionName === '' ? '(anonymous)' : functionName} ${shortUrl(url)}:${lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    }
  }
  const idleUs = byArea.get(IDLE) ?? 0;
  const busyUs = [...byArea.values()].reduce((sum, us) => sum + us, 0) - idleUs;
  const rows = (map: Map<string, number>, count: number): ProfileRow[] =>
    [...map.entries()]
      .filter(([name]) => name !== IDLE)
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => ({ name, selfMs: round(us / 1000, 1), share: busyUs > 0 ? round(us / busyUs, 3) : 0 }));
  return { profiles: profiles.length, sampledMs: round(sampledUs / 1000, 1), busyMs: round(busyUs / 1000, 1), areas: rows(byArea, 15), top: rows(byFunction, top) };
}

/**
 * The profiles `node --cpu-prof` wrote into `dir` for these process ids (its file names end
 * `.<pid>.<thread>.<seq>.cpuprofile`), read and parsed.
 */
export function readProfilesOf(dir: string, pids: readonly number[]): CpuProfile[] {
  const wanted = new Set(pids.map(String));
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile') && wanted.has(name.split('.').at(-4) ?? ''))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile);
}

/** A summary as markdown: the areas, then the top functions. */
export function renderProfileSummary(title: string, s: ProfileSummary): string[] {
  const pct = (share: number): string => `${round(share * 100, 1)} %`;
  return [
    `### ${title}`,
    '',
    `${s.profiles} profile(s), ${round(s.sampledMs / 1000, 1)} s sampled, ${round(s.busyMs / 1000, 1)} s busy (the rest idle). Shares are of the busy time.`,
    '',
    '| area | self ms | share |',
    '|---|---|---|',
    ...s.areas.map((r) => `| ${r.name} | ${r.selfMs} | ${pct(r.share)} |`),
    '',
    '| function (self time) | self ms | share |',
    '|---|---|---|',
    ...s.top.map((r) => `| \`${r.name.replace(/\|/g, '\\|')}\` | ${r.selfMs} | ${pct(r.share)} |`),
    '',
  ];
}
