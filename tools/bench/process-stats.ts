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
