import { errorMessage } from '../../src/errors/errors.js';

/** Exit code of an interrupted run (128 + SIGINT), as shells expect. */
export const INTERRUPTED_EXIT_CODE = 130;

/** A signal that aborts a run, and a dispose to call once the run ended. */
export interface RunInterrupts {
  signal: AbortSignal;
  dispose(): void;
}

/** The part of a dev command's io (demo, chaos, bench) that {@link runDevCommand} uses. */
export interface DevCommandIo {
  /** Receives the interrupted / failed line. */
  err: NodeJS.WritableStream;
  /** Receives the exit code: 0 ok, 1 problems found (or a reported failure), 130 interrupted. */
  setExitCode(code: number): void;
  /** Called when the run starts; without it the run cannot be interrupted. */
  interrupts?: () => RunInterrupts;
}

/** Options of {@link runDevCommand}. */
export interface DevCommandRunOptions {
  /** The command's name, which starts its interrupted / failed line. */
  name: string;
  /**
   * Errors that are the run's own failure rather than a bug: printed as `<name> failed: <message>`
   * with exit code 1. Any other error is thrown. Default: every error is thrown.
   */
  isReportedFailure?: (err: unknown) => err is Error;
}

/** The process's io of a dev command: stdout, stderr, process.exitCode and SIGINT/SIGTERM. */
export interface ProcessDevCommandIo extends DevCommandIo {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  interrupts: () => RunInterrupts;
}

/**
 * Run one dev command's body and turn its outcome into an exit code: 0 when `run` resolves true,
 * 1 when it resolves false, 130 (with `<name> interrupted: stopped everything it started`) when it
 * threw after `io.interrupts`' signal aborted. The interrupts are disposed of however the run ended.
 */
export async function runDevCommand(
  io: DevCommandIo,
  options: DevCommandRunOptions,
  run: (signal: AbortSignal | undefined) => Promise<boolean>,
): Promise<void> {
  const interrupts = io.interrupts?.();
  try {
    const ok = await run(interrupts?.signal);
    io.setExitCode(ok ? 0 : 1);
  } catch (err) {
    if (interrupts?.signal.aborted === true) {
      io.err.write(`${options.name} interrupted: stopped everything it started\n`);
      io.setExitCode(INTERRUPTED_EXIT_CODE);
      return;
    }
    if (options.isReportedFailure?.(err) !== true) throw err;
    io.err.write(`${options.name} failed: ${errorMessage(err)}\n`);
    io.setExitCode(1);
  } finally {
    interrupts?.dispose();
  }
}

/**
 * SIGINT/SIGTERM abort the run; a second one exits at once. With `abortOnClosedStdout`, a closed
 * stdout (`demo | head`) aborts it too instead of crashing before the child processes are stopped.
 */
export function processInterrupts(abortOnClosedStdout: boolean): RunInterrupts {
  const controller = new AbortController();
  const onSignal = (): void => {
    // A second signal means "now": the children share our process group and got it too.
    if (controller.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    controller.abort();
  };
  const onOutputError = (): void => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (abortOnClosedStdout) process.stdout.on('error', onOutputError);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (abortOnClosedStdout) process.stdout.off('error', onOutputError);
    },
  };
}

/** The io a dev command gets in the bin; see {@link processInterrupts} for `abortOnClosedStdout`. */
export function processDevCommandIo(abortOnClosedStdout: boolean): ProcessDevCommandIo {
  return {
    out: process.stdout,
    err: process.stderr,
    setExitCode: (code) => {
      process.exitCode = code;
    },
    interrupts: () => processInterrupts(abortOnClosedStdout),
  };
}
