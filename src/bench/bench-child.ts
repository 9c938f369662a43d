import { spawn } from 'node:child_process';
import { FleetError } from '../errors/errors.js';

/** A child process started by the bench, ready once it printed its ready line. */
export interface BenchChild {
  readonly name: string;
  readonly pid: number;
  /** True until the process exited. */
  readonly running: boolean;
  /** The most recent output lines (for error messages). */
  lines(): string[];
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves once the process is gone. */
  stop(killAfterMs: number): Promise<void>;
}

/** Options of {@link spawnBenchChild}. */
export interface SpawnBenchChildOptions {
  name: string;
  /** Arguments after `node`, e.g. `[cliPath, 'bench-noop-worker']`. */
  args: string[];
  /** The child's whole environment: nothing is inherited. */
  env: Record<string, string>;
  /** A line matching this means the process is ready. */
  readyPattern: RegExp;
  /** How long it may take to print its ready line, in ms. */
  readyTimeoutMs: number;
}

/** Recent lines kept for error messages. */
const KEEP_LINES = 50;

/**
 * Spawn `node <args>` and resolve once it printed its ready line; reject (after making sure it is
 * gone) when it exits first or stays silent past the timeout.
 */
export function spawnBenchChild(options: SpawnBenchChildOptions): Promise<BenchChild> {
  const child = spawn(process.execPath, options.args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let kept: string[] = [];
  let running = true;
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      running = false;
      resolve();
    });
    child.once('error', (err) => {
      kept.push(`spawn failed: ${err.message}`);
      if (child.pid === undefined) {
        running = false;
        resolve();
      }
    });
  });

  const handle: BenchChild = {
    name: options.name,
    pid: child.pid ?? 0,
    get running() {
      return running;
    },
    lines: () => [...kept],
    async stop(killAfterMs) {
      if (!running) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (running) child.kill('SIGKILL');
      }, killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };

  return new Promise((resolve, reject) => {
    let ready = false;
    const onLine = (line: string): void => {
      kept.push(line);
      if (kept.length > 2 * KEEP_LINES) kept = kept.slice(-KEEP_LINES);
      if (!ready && options.readyPattern.test(line)) {
        ready = true;
        clearTimeout(timer);
        resolve(handle);
      }
    };
    // A chunk may end mid-line: only whole lines are matched against the ready pattern.
    const collect = (stream: NodeJS.ReadableStream): void => {
      let buffer = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffer += chunk;
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        for (const line of parts) onLine(line);
      });
      stream.on('end', () => {
        if (buffer !== '') onLine(buffer);
      });
    };
    collect(child.stdout);
    collect(child.stderr);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.readyTimeoutMs);
    void exited.then(() => {
      clearTimeout(timer);
      if (!ready) reject(new FleetError(`${options.name} exited before it was ready; last lines:\n${kept.slice(-20).join('\n')}`));
    });
  });
}
