import { tracingChannel } from 'node:diagnostics_channel';

/** What ioredis (≥ 5.10) publishes on its `ioredis:command` tracing channel as it writes a command. */
interface IoredisCommandContext {
  command: string;
  serverPort?: number;
}

/** A running count of the commands this process's ioredis clients sent to one Redis. */
export interface SentCommands {
  /** Commands sent so far. */
  count(): number;
  /** Stop counting (unsubscribe). */
  stop(): void;
}

/**
 * Count the commands every ioredis client of this process (BullMQ's included) writes to the Redis on
 * `port`, from ioredis's own diagnostics channel: no MONITOR, no patching. Each command counts once
 * when it is written, a script (EVALSHA) as one, whatever it runs; a pipeline's commands one each.
 * Commands queued while a connection is down count when they are written.
 */
export function countSentCommands(port: number): SentCommands {
  const channel = tracingChannel<unknown, IoredisCommandContext>('ioredis:command');
  let sent = 0;
  const ignore = (): void => undefined;
  const subscribers = {
    start: (context: IoredisCommandContext) => {
      if (context.serverPort === undefined || context.serverPort === port) sent += 1;
    },
    end: ignore,
    asyncStart: ignore,
    asyncEnd: ignore,
    error: ignore,
  };
  channel.subscribe(subscribers);
  return {
    count: () => sent,
    stop: () => {
      channel.unsubscribe(subscribers);
    },
  };
}
