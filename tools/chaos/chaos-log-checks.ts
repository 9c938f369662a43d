import type { OrderResult } from '../../src/lifecycle/order-state.js';
import type { LogFacts } from './chaos-log-facts.js';
import type { LogLeak } from './chaos-log-scan.js';
import { LOG_EVENT } from '../../src/logging/log-events.js';

/*
 * The chaos run's checks of its log lines. Results against the sandbox are judged by the one
 * result checker (tools/checks/result-check.ts).
 */

/** Log lines: what was scanned and what was found. */
export interface LogScanFigures {
  leaks: readonly LogLeak[];
  /** Leaks found beyond those kept. */
  droppedLeaks: number;
  /** Lines the scanner saw, by process name. */
  scanned: ReadonlyMap<string, number>;
  /** Lines each process wrote (the fleet's own count), by process name. */
  written: ReadonlyMap<string, number>;
}

/**
 * Nothing secret in any log line, and every line written was scanned (none lost to the bounded
 * line buffer). Excerpts are printed with the secret replaced.
 */
export function logProblems(scan: LogScanFigures): string[] {
  const problems = scan.leaks.map((leak) => `${leak.kind} in log line ${leak.line} of ${leak.process}: ${leak.excerpt}`);
  if (scan.droppedLeaks > 0) problems.push(`… and ${scan.droppedLeaks} more leaks`);
  for (const [name, written] of scan.written) {
    const scanned = scan.scanned.get(name) ?? 0;
    if (scanned !== written) problems.push(`${name} wrote ${written} log lines but ${scanned} were scanned`);
  }
  return problems;
}

/**
 * The workers' own account agrees with the results: every `result emitted` line for a
 * merchant_order_id names the status and order id of its one result (a crash may repeat an emit,
 * never change it); and the facts the unresolved check relies on were found at all (a renamed
 * log message must fail the run, not weaken it).
 */
export function emittedProblems(
  results: ReadonlyMap<string, OrderResult>,
  facts: Pick<LogFacts, 'emitted' | 'webhookAcceptedAtMs'>,
  acknowledgedWebhooks: number,
): string[] {
  const problems: string[] = [];
  for (const [mid, emits] of facts.emitted) {
    const result = results.get(mid);
    if (result === undefined) {
      problems.push(`${mid}: ${emits[0]?.process ?? 'a worker'} logged a ${emits[0]?.status ?? '?'} result that is not in order-results`);
      continue;
    }
    for (const emit of emits) {
      if (emit.status !== result.status || emit.orderId !== result.order_id) {
        problems.push(
          `${mid}: ${emit.process} emitted ${emit.status} (order ${emit.orderId ?? 'null'}) but the result is ${result.status} (order ${result.order_id ?? 'null'})`,
        );
      }
    }
  }
  if (results.size > 0 && facts.emitted.size === 0) problems.push(`no worker log line has the event ${LOG_EVENT.resultEmitted}: was it renamed?`);
  if (acknowledgedWebhooks > 0 && facts.webhookAcceptedAtMs.size === 0) {
    problems.push(`the sandbox saw ${acknowledgedWebhooks} webhooks acknowledged but no receiver line has the event ${LOG_EVENT.webhookAccepted}: was it renamed?`);
  }
  return problems;
}
