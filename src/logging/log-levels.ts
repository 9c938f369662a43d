/**
 * pino's level names, lowest volume first (LOG_LEVEL, the sandbox's --log-level). A module of its own
 * so a CLI option can list them without loading the config schema.
 */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
