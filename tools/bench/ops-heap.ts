import { LOG_EVENT, readEventLine } from '../../src/logging/log-events.js';
import type { FleetProcess } from '../fleet/fleet.js';

/** How long a /metrics read may take before the heap is reported unknown, in ms. */
const METRICS_TIMEOUT_MS = 2_000;

/** `nodejs_heap_size_used_bytes` from a Prometheus text exposition, in bytes; null when absent. */
export function parseHeapUsedBytes(metricsText: string): number | null {
  const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})?\s+(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/m.exec(metricsText);
  return match?.[1] === undefined ? null : Math.round(Number(match[1]));
}

/**
 * Where a fleet process serves /metrics: a worker on its ops port (from its `worker started` line),
 * the receiver on its own port (from its `webhook receiver listening` line). Null when the line is
 * not in the kept lines.
 */
export function metricsUrlOf(proc: FleetProcess): string | null {
  for (const line of proc.lines()) {
    const event = readEventLine(line);
    if (event === null) continue;
    if (event.event === LOG_EVENT.workerStarted && typeof event.fields.ops_url === 'string') return new URL('/metrics', event.fields.ops_url).toString();
    if (event.event === LOG_EVENT.webhookListening && typeof event.fields.url === 'string') return new URL('/metrics', event.fields.url).toString();
  }
  return null;
}

/** The V8 heap in use of the process serving `metricsUrl`, in bytes; null when it cannot be read in time. */
export async function fetchHeapUsedBytes(metricsUrl: string | null): Promise<number | null> {
  if (metricsUrl === null) return null;
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
    if (!response.ok) return null;
    return parseHeapUsedBytes(await response.text());
  } catch {
    return null;
  }
}
