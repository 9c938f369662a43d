import { readFileSync } from 'node:fs';

/**
 * The peak resident set size (`VmHWM`) from the text of `/proc/<pid>/status`, in bytes; null when
 * the line is missing (not Linux, or a kernel thread).
 */
export function parseVmHwmBytes(statusText: string): number | null {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(statusText);
  return match?.[1] === undefined ? null : Number(match[1]) * 1024;
}

/**
 * Peak RSS of a running process, in bytes, read from `/proc/<pid>/status`; null where /proc is not
 * available or the process is gone. Read it just before stopping the process: the figure is a
 * high-water mark, but it disappears with the process.
 */
export function readPeakRssBytes(pid: number): number | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    return parseVmHwmBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The current resident set size (`VmRSS`) from the text of `/proc/<pid>/status`, in bytes; null when
 * the line is missing.
 */
export function parseVmRssBytes(statusText: string): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText);
  return match?.[1] === undefined ? null : Number(match[1]) * 1024;
}

/**
 * Current RSS of a running process, in bytes, from `/proc/<pid>/status`; null where /proc is not
 * available or the process is gone. Unlike the peak, it can fall: what a long run samples to tell
 * steady state from growth.
 */
export function readRssBytes(pid: number): number | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    return parseVmRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** Clock ticks per second of `/proc/<pid>/stat` times: USER_HZ, 100 on every Linux this runs on. */
const USER_HZ = 100;

/**
 * CPU time (user + system) from the text of `/proc/<pid>/stat`, in ms; null when it cannot be read.
 * The command name (field 2) may hold spaces and parentheses, so fields are counted after its last `)`.
 */
export function parseCpuMs(statText: string): number | null {
  const end = statText.lastIndexOf(')');
  if (end < 0) return null;
  // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th from here.
  const fields = statText.slice(end + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / USER_HZ;
}

/** CPU time a running process has used so far (user + system), in ms; null where /proc is not available or the process is gone. */
export function readCpuMs(pid: number): number | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    return parseCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}
