import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { READY_MESSAGE } from '../../src/cli/ready-signal.js';
import { FleetError } from './fleet-error.js';

/** What a fleet child process does. */
export type FleetRole = 'worker' | 'webhook';

/** A child process of the fleet (`node dist/cli.js worker|webhook`, or a tools command) with its captured output. */
export interface FleetProcess {
  /** `worker-1`, `worker-2`, `webhook-1`…: unique within one fleet, never reused after a restart. */
  readonly name: string;
  readonly role: FleetRole;
  readonly child: ChildProcess;
  /** OS process id (0 when the spawn failed). */
  readonly pid: number;
  /** True until the process exited. */
  readonly running: boolean;
  /** True once `stop()` was called while it ran: it was ended on purpose, so its exit is no crash. */
  readonly stopRequested: boolean;
  /** Lines written to stdout or stderr since start (all of them, including those no longer kept). */
  readonly lineCount: number;
  /** The most recent lines (at most `keepLines`), oldest first. */
  lines(): string[];
  /** Resolves with the exit code, or the signal name when a signal ended it. */
  readonly exited: Promise<number | string>;
  /**
   * Send `signal` (default SIGTERM) and wait for the exit. When `killAfterMs` is given and the process
   * is still alive by then, it is SIGKILLed.
   */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number | string>;
}

/** Options of {@link spawnFleetProcess}. */
export interface SpawnFleetProcessOptions {
  name: string;
  role: FleetRole;
  /** Path of the CLI entry: the product's built dist/cli.js, or the tools' tools/cli.ts (with `nodeArgs` loading tsx). */
  cliPath: string;
  /** Node options before the entry, e.g. `--import <tsx>` for a TypeScript entry. Default none. */
  nodeArgs?: readonly string[];
  /** The CLI command to run (e.g. `bench-noop-worker`); default the role. */
  command?: string;
  /** The child's whole environment: nothing is inherited from the parent. */
  env: Record<string, string>;
  /**
   * How long to wait for the process to say it is ready (the IPC message `'ready'`, see
   * cli/ready-signal.ts) before killing it and failing, in ms.
   */
  readyTimeoutMs: number;
  /**
   * How many recent lines to keep (at least 1), each cut at 8 KiB. `Infinity` keeps every line,
   * whole (the tests scan all of a process's output).
   */
  keepLines: number;
  /** Called with every line as it arrives, whole (log scans must see every character). */
  onLine?: (process: FleetProcess, line: string) => void;
}

/** Longest line kept in `lines()`, in characters; a runaway line must not hold the memory bound hostage. */
const MAX_KEPT_LINE_CHARS = 8_192;
/** Output without a newline is passed on as a line once it is this long, so a child cannot fill our memory. */
const MAX_UNTERMINATED_CHARS = 1024 * 1024;

/**
 * Spawn a CLI process with an IPC channel and resolve once it sent `'ready'` over it. Rejects
 * (after making sure the process is gone) when it exits first or stays silent past the timeout,
 * with its last lines. Its log lines are collected, never parsed for readiness.
 */
export function spawnFleetProcess(options: SpawnFleetProcessOptions): Promise<FleetProcess> {
  const args = [...(options.nodeArgs ?? []), options.cliPath, options.command ?? options.role];
  const child = spawn(process.execPath, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const keepLines = Math.max(1, options.keepLines);
  const maxKeptLineChars = Number.isFinite(keepLines) ? MAX_KEPT_LINE_CHARS : Number.POSITIVE_INFINITY;
  // Lines are kept in a buffer trimmed in chunks, so appending stays O(1) amortised.
  let kept: string[] = [];
  let lineCount = 0;
  let running = true;
  let stopRequested = false;
  const exited = new Promise<number | string>((resolve) => {
    const done = (result: number | string): void => {
      running = false;
      resolve(result);
    };
    // 'close', not 'exit': by then stdout and stderr are drained, so the last lines are in.
    child.once('close', (code, signal) => done(code ?? signal ?? 'unknown'));
    // A spawn failure emits 'error' without 'exit'.
    child.once('error', (err) => {
      kept.push(`spawn failed: ${err.message}`);
      if (child.pid === undefined) done('spawn-failed');
    });
  });

  const handle: FleetProcess = {
    name: options.name,
    role: options.role,
    child,
    pid: child.pid ?? 0,
    get running() {
      return running;
    },
    get stopRequested() {
      return stopRequested;
    },
    get lineCount() {
      return lineCount;
    },
    lines: () => kept.slice(-keepLines),
    exited,
    async stop(signal = 'SIGTERM', killAfterMs) {
      if (!running) return exited;
      stopRequested = true;
      child.kill(signal);
      if (killAfterMs === undefined) return exited;
      const gone = new AbortController();
      const escalate = sleep(killAfterMs, undefined, { signal: gone.signal }).then(
        () => {
          if (running) child.kill('SIGKILL');
        },
        () => undefined,
      );
      await Promise.race([exited, escalate]);
      gone.abort();
      return exited;
    },
  };

  const collect = (stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void => {
    if (stream === null) return;
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
      }
      if (buffer.length > MAX_UNTERMINATED_CHARS) {
        onLine(buffer);
        buffer = '';
      }
    });
    stream.on('end', () => {
      if (buffer.length > 0) onLine(buffer);
    });
  };

  const onLine = (line: string): void => {
    lineCount += 1;
    kept.push(line.length > maxKeptLineChars ? `${line.slice(0, maxKeptLineChars)}…` : line);
    if (kept.length > 2 * keepLines) kept = kept.slice(-keepLines);
    options.onLine?.(handle, line);
  };
  collect(child.stdout, onLine);
  collect(child.stderr, onLine);

  return new Promise((resolve, reject) => {
    let ready = false;
    let timedOut = false;
    const settled = new AbortController();
    const onMessage = (message: unknown): void => {
      if (message !== READY_MESSAGE || ready) return;
      ready = true;
      settled.abort();
      child.off('message', onMessage);
      resolve(handle);
    };
    child.on('message', onMessage);
    void sleep(options.readyTimeoutMs, undefined, { signal: settled.signal }).then(
      () => {
        timedOut = true;
        child.kill('SIGKILL');
      },
      () => undefined,
    );
    void exited.then((code) => {
      settled.abort();
      child.off('message', onMessage);
      if (ready) return;
      reject(
        new FleetError(
          `${options.name} ${timedOut ? `was not ready within ${options.readyTimeoutMs} ms` : `exited (${code}) before it was ready`}; last lines:\n${handle.lines().slice(-20).join('\n')}`,
        ),
      );
    });
  });
}
