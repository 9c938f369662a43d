import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { round } from '../figures/run-figures.js';

/** The machine a bench ran on. */
export interface MachineInfo {
  cpuModel: string;
  /** Logical cores available to this process. */
  cores: number;
  /** Total memory, in bytes. */
  memoryBytes: number;
  /** `process.version`. */
  node: string;
  /** `redis_version` of the bench's redis-server. */
  redis: string;
  /** e.g. `linux 6.8.0`. */
  os: string;
  /** 1, 5 and 15 minute load averages when the bench started: the machine may be shared. */
  loadAverage: [number, number, number];
}

/** Describe this machine; `redisVersion` comes from the server's INFO. */
export function machineInfo(redisVersion: string): MachineInfo {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    node: process.version,
    redis: redisVersion,
    os: `${platform()} ${release()}`,
    loadAverage: [round(one, 2), round(five, 2), round(fifteen, 2)],
  };
}

/** The machine as the rows of a report's two-column table (label, value), `date` last. */
export function machineRows(m: MachineInfo, date: string): [string, string][] {
  return [
    ['CPU', `${m.cpuModel}, ${m.cores} cores`],
    ['memory', `${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB`],
    ['OS', m.os],
    ['Node', m.node],
    ['Redis', m.redis],
    ['load average at start (1/5/15 min)', m.loadAverage.join(' / ')],
    ['date', date],
  ];
}
