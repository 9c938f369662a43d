import type { Redis } from 'ioredis';
import { round } from '../figures/run-figures.js';

/** One command's counters from `INFO commandstats`. */
export interface CommandCount {
  calls: number;
  /** Time Redis spent in the command, in µs. */
  usec: number;
}

/** What Redis did over one measured stretch, as figures per order. */
export interface RedisUsage {
  /** Commands executed (those a Lua script ran count one each, besides the EVALSHA that ran them). */
  commands: number;
  commandsPerOrder: number;
  /** EVAL/EVALSHA/FCALL calls: scripts run. */
  scripts: number;
  scriptsPerOrder: number;
  /** Redis server CPU (user + sys), in seconds. */
  cpuSeconds: number;
  /** Redis server CPU per order, in µs. */
  cpuUsPerOrder: number;
  /** The commands called most, most first. */
  top: { command: string; calls: number; perOrder: number }[];
}

/** A point-in-time reading of a Redis server's counters. */
export interface RedisSnapshot {
  commands: ReadonlyMap<string, CommandCount>;
  /** used_cpu_user + used_cpu_sys, in seconds. */
  cpuSeconds: number;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** `field:value` lines of an `INFO` answer (section headers and blank lines skipped). */
export function parseInfoFields(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of info.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Calls and µs per command from an `INFO commandstats` answer; subcommands keep Redis's own names
 * (`client|setname`).
 */
export function parseCommandStats(info: string): Map<string, CommandCount> {
  const stats = new Map<string, CommandCount>();
  for (const [field, value] of parseInfoFields(info)) {
    if (!field.startsWith('cmdstat_')) continue;
    const counters = new Map(
      value.split(',').map((pair) => {
        const eq = pair.indexOf('=');
        return [pair.slice(0, eq), Number(pair.slice(eq + 1))] as const;
      }),
    );
    const calls = counters.get('calls');
    if (calls === undefined || !Number.isFinite(calls)) continue;
    const usec = counters.get('usec');
    stats.set(field.slice('cmdstat_'.length), { calls, usec: usec !== undefined && Number.isFinite(usec) ? usec : 0 });
  }
  return stats;
}

/** What happened between two readings: commands with no new calls are left out. */
export function commandStatsDelta(
  before: ReadonlyMap<string, CommandCount>,
  after: ReadonlyMap<string, CommandCount>,
): Map<string, CommandCount> {
  const delta = new Map<string, CommandCount>();
  for (const [command, now] of after) {
    const was = before.get(command) ?? { calls: 0, usec: 0 };
    const calls = now.calls - was.calls;
    if (calls > 0) delta.set(command, { calls, usec: Math.max(0, now.usec - was.usec) });
  }
  return delta;
}

/** The `count` commands with the most calls, most first (ties by name, so the order is stable). */
export function topCommands(stats: ReadonlyMap<string, CommandCount>, count: number): { command: string; calls: number }[] {
  return [...stats]
    .map(([command, { calls }]) => ({ command, calls }))
    .sort((a, b) => b.calls - a.calls || a.command.localeCompare(b.command))
    .slice(0, Math.max(0, count));
}

/** Figures per order from two readings taken around a run of `orders` orders. */
export function redisUsage(before: RedisSnapshot, after: RedisSnapshot, orders: number, topCount = 8): RedisUsage {
  const delta = commandStatsDelta(before.commands, after.commands);
  let commands = 0;
  let scripts = 0;
  for (const [command, { calls }] of delta) {
    commands += calls;
    if (SCRIPT_COMMANDS.has(command)) scripts += calls;
  }
  const per = (n: number): number => (orders > 0 ? round(n / orders, 2) : 0);
  const cpuSeconds = Math.max(0, after.cpuSeconds - before.cpuSeconds);
  return {
    commands,
    commandsPerOrder: per(commands),
    scripts,
    scriptsPerOrder: per(scripts),
    cpuSeconds: round(cpuSeconds, 3),
    cpuUsPerOrder: orders > 0 ? round((cpuSeconds * 1e6) / orders, 1) : 0,
    top: topCommands(delta, topCount).map((c) => ({ ...c, perOrder: per(c.calls) })),
  };
}

/** Read the server's command counters and CPU time. */
export async function readRedisSnapshot(redis: Redis): Promise<RedisSnapshot> {
  const [commandstats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  const fields = parseInfoFields(cpu);
  const seconds = (name: string): number => {
    const value = Number(fields.get(name));
    return Number.isFinite(value) ? value : 0;
  };
  return { commands: parseCommandStats(commandstats), cpuSeconds: seconds('used_cpu_user') + seconds('used_cpu_sys') };
}

/** The server's `redis_version`, or `unknown`. */
export async function readRedisVersion(redis: Redis): Promise<string> {
  return parseInfoFields(await redis.info('server')).get('redis_version') ?? 'unknown';
}
