import type { Logger } from 'pino';

/** pino's level methods: a call at a disabled level is a no-op, and needs no child. */
const LEVEL_METHODS: ReadonlySet<string> = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

const noop = (): void => undefined;

/**
 * `parent.child(bindings)`, made only when something is logged through it at an enabled level.
 *
 * Why: a job binds a child to its merchant_order_id and job id, and a notice one to its `event`;
 * pino builds a child eagerly (bindings serialised, level set up), which the workers' CPU profile
 * showed at ~2 % of a worker under load — for children that, at LOG_LEVEL=warn, mostly never log.
 * Every other use (`child`, `bindings`, `level`…) makes the child and goes to it, so this is a
 * child logger in every respect but when it is built.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = (): Logger => (child ??= parent.child(bindings));
  return new Proxy(parent, {
    get(target, key) {
      if (child === undefined && typeof key === 'string' && LEVEL_METHODS.has(key) && !target.isLevelEnabled(key)) return noop;
      const logger = real();
      const value: unknown = Reflect.get(logger, key, logger);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(logger) : value;
    },
  });
}
