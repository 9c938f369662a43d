import { loadConfig, type Config, type ConfigWarning } from '../config/config.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { signalReady } from './ready-signal.js';

/** Something a CLI command runs until a signal stops it. */
export interface Closable {
  close(): Promise<void>;
  /** When given: rejects if the process stops doing its work on its own; it is then closed and exits 1. */
  readonly stopped?: Promise<void>;
}

/** The process-wide logger, built from config with every static secret registered for scrubbing. */
export function processLogger(config: Config, name: string): Logger {
  const secrets = [config.VOODOO_API_KEY, config.VOODOO_WEBHOOK_SECRET].filter((s): s is string => s !== undefined);
  return createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, secrets, base: { process: name } });
}

/**
 * Run a long-lived process: parse config once (a bad value exits 1 naming the variable; a deprecated
 * name is logged once as a warning), start it, and on SIGINT/SIGTERM close it gracefully (a second
 * signal exits at once). The signals are handled from before the start, so one sent the moment the
 * process says it started (its ready line) closes it like any other instead of killing it; one sent
 * while it starts, when there is nothing to close yet, exits at once. A process whose main loop
 * fails (`stopped` rejects) closes and exits 1. Once started it tells a parent listening over IPC
 * that it is ready ({@link signalReady}).
 */
export async function runUntilSignal(name: string, start: (config: Config, logger: Logger) => Promise<Closable>): Promise<void> {
  const warnings: ConfigWarning[] = [];
  const config = loadConfig(process.env, (warning) => warnings.push(warning));
  const logger = processLogger(config, name);
  for (const { variable, replacement, message } of warnings) logger.warn({ variable, replacement }, message);
  let running: Closable | undefined;
  let stopping = false;
  const stop = (signal: string, exitCode = 0): void => {
    if (running === undefined) {
      logger.warn({ signal }, `${name} stopped while starting`);
      logger.flush();
      process.exit(1);
    }
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `${name} shutting down`);
    running.close().then(
      () => {
        logger.flush();
        process.exit(exitCode);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    running = await start(config, logger);
  } catch (err) {
    logger.fatal({ err }, `${name} failed to start`);
    logger.flush();
    throw err;
  }
  signalReady();
  running.stopped?.catch(() => {
    if (!stopping) stop('failure', 1);
  });
}
