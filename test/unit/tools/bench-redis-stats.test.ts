import { describe, expect, it } from 'vitest';
import { commandStatsDelta, parseCommandStats, parseInfoFields, redisUsage, topCommands, type RedisSnapshot } from '../../../tools/bench/redis-stats.js';

// As Redis 7 answers INFO commandstats (CRLF line ends, a section header, subcommands with '|').
const BEFORE = [
  '# Commandstats',
  'cmdstat_get:calls=2,usec=17,usec_per_call=8.50,rejected_calls=0,failed_calls=0',
  'cmdstat_client|setname:calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0',
  'cmdstat_evalsha:calls=10,usec=1000,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');

const AFTER = [
  '# Commandstats',
  'cmdstat_get:calls=2,usec=17,usec_per_call=8.50,rejected_calls=0,failed_calls=0',
  'cmdstat_client|setname:calls=3,usec=15,usec_per_call=5.00,rejected_calls=0,failed_calls=0',
  'cmdstat_evalsha:calls=410,usec=41000,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  'cmdstat_hset:calls=800,usec=1600,usec_per_call=2.00,rejected_calls=0,failed_calls=0',
  'cmdstat_eval:calls=100,usec=900,usec_per_call=9.00,rejected_calls=0,failed_calls=0',
  'cmdstat_zadd:calls=800,usec=1600,usec_per_call=2.00,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');

describe('parseCommandStats', () => {
  it('reads calls and µs per command, keeping subcommand names', () => {
    const stats = parseCommandStats(BEFORE);
    expect([...stats.keys()]).toEqual(['get', 'client|setname', 'evalsha']);
    expect(stats.get('client|setname')).toEqual({ calls: 1, usec: 5 });
    expect(stats.get('evalsha')).toEqual({ calls: 10, usec: 1000 });
  });

  it('skips lines that are not command counters or carry no call count', () => {
    const stats = parseCommandStats('# Commandstats\nredis_version:7.0.15\ncmdstat_broken:usec=3\ncmdstat_set:calls=4,usec=9\n');
    expect([...stats]).toEqual([['set', { calls: 4, usec: 9 }]]);
  });
});

describe('parseInfoFields', () => {
  it('maps field to value and ignores headers and blank lines', () => {
    const fields = parseInfoFields('# Server\r\nredis_version:7.0.15\r\n\r\n# CPU\r\nused_cpu_sys:0.5\r\n');
    expect(fields.get('redis_version')).toBe('7.0.15');
    expect(fields.get('used_cpu_sys')).toBe('0.5');
    expect(fields.size).toBe(2);
  });
});

describe('commandStatsDelta', () => {
  it('keeps only commands called in between, with the new calls and µs, counting commands new since the first reading', () => {
    const delta = commandStatsDelta(parseCommandStats(BEFORE), parseCommandStats(AFTER));
    expect(delta.has('get')).toBe(false);
    expect(delta.get('client|setname')).toEqual({ calls: 2, usec: 10 });
    expect(delta.get('evalsha')).toEqual({ calls: 400, usec: 40000 });
    expect(delta.get('hset')).toEqual({ calls: 800, usec: 1600 });
  });
});

describe('topCommands', () => {
  it('ranks by calls, most first, ties by name, and cuts at the count', () => {
    const delta = commandStatsDelta(parseCommandStats(BEFORE), parseCommandStats(AFTER));
    expect(topCommands(delta, 3)).toEqual([
      { command: 'hset', calls: 800 },
      { command: 'zadd', calls: 800 },
      { command: 'evalsha', calls: 400 },
    ]);
  });
});

describe('redisUsage', () => {
  it('divides commands, scripts and Redis CPU by the orders of the run', () => {
    const before: RedisSnapshot = { commands: parseCommandStats(BEFORE), cpuSeconds: 1.5 };
    const after: RedisSnapshot = { commands: parseCommandStats(AFTER), cpuSeconds: 2.5 };
    const usage = redisUsage(before, after, 100, 2);
    // 2 + 400 + 800 + 100 + 800 new calls.
    expect(usage.commands).toBe(2102);
    expect(usage.commandsPerOrder).toBe(21.02);
    // evalsha and eval both run scripts.
    expect(usage.scripts).toBe(500);
    expect(usage.scriptsPerOrder).toBe(5);
    expect(usage.cpuSeconds).toBe(1);
    expect(usage.cpuUsPerOrder).toBe(10_000);
    expect(usage.top).toEqual([
      { command: 'hset', calls: 800, perOrder: 8 },
      { command: 'zadd', calls: 800, perOrder: 8 },
    ]);
  });

  it('reports zero per order rather than dividing by zero orders', () => {
    const snapshot: RedisSnapshot = { commands: parseCommandStats(BEFORE), cpuSeconds: 1 };
    const usage = redisUsage(snapshot, { commands: parseCommandStats(AFTER), cpuSeconds: 2 }, 0);
    expect(usage.commandsPerOrder).toBe(0);
    expect(usage.cpuUsPerOrder).toBe(0);
  });
});
