import { loadConfig, type Config } from '../config/config.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { signalReady } from './ready-signal.js';

/** Something a CLI command runs until a signal stops it. */
export interface Closable {
  close(): Promise<void>;
}

/** The process-wide logger, built from config with every static secret registered for scrubbing. */
export function processLogger(config: Config, name: string): Logger {
  const secrets = [config.VOODOO_API_KEY, config.VOODOO_WEBHOOK_SECRET].filter((s): s is string => s !== undefined);
  return createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, secrets, base: { process: name } });
}

/**
 * Run a long-lived process: parse config once (a bad value exits 1 naming the variable), start it,
 * tell a parent listening over IPC that it is ready ({@link signalReady}), and on SIGINT/SIGTERM
 * close it gracefully (a second signal exits at once).
 */
export async function runUntilSignal(name: string, start: (config: Config, logger: Logger) => Promise<Closable>): Promise<void> {
  const config = loadConfig(process.env);
  const logger = processLogger(config, name);
  let running: Closable;
  try {
    running = await start(config, logger);
  } catch (err) {
    logger.fatal({ err }, `${name} failed to start`);
    logger.flush();
    throw err;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `${name} shutting down`);
    running.close().then(
      () => {
        logger.flush();
        process.exit(0);
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
  signalReady();
}
