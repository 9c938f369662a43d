import type { Command } from 'commander';
import type { ResolutionJobOutcome } from '../handlers/resolution-job-handler.js';
import { printable } from '../text/printable.js';
import { wholeNumber } from './option-parsers.js';

/** Exit codes of `resolve` (documented in the README's CLI section). */
export const RESOLVE_EXIT = {
  /** Resolved: this request emitted the resolution, or one was emitted before (a no-op). */
  resolved: 0,
  /** Refused: the order is another merchant_order_id's, unknown to the API, or the result is not `unresolved`. */
  refused: 2,
  /** The merchant_order_id is unknown to this system, or its record expired (RETENTION_SECONDS). */
  unknown: 3,
  /** No answer within --timeout: the request goes on in the fleet (run the command again to wait more). */
  timedOut: 4,
} as const;

const REFUSALS: Record<string, string> = {
  not_finished: 'refused: the order has no result yet (its job still drives it); try again once it has one',
  not_unresolved: 'refused: its result was not unresolved, so there is nothing to resolve',
  other_order: 'refused: that order carries another merchant_order_id (wrong order id?)',
  order_not_found: 'refused: the API does not know that order id',
  timed_out: 'refused: the order was still not terminal (or could not be looked up) after RESOLVE_TIMEOUT_MS; ask again later',
};

/** A value for a line people read: quoted, its control and bidi characters escaped (an id must not forge a line). */
const quoted = (value: string | null): string => (value === null ? 'none' : `"${printable(value)}"`);

/** One line for people. */
function describe(outcome: ResolutionJobOutcome): { line: string; code: number } {
  const id = quoted(outcome.merchant_order_id);
  switch (outcome.outcome) {
    case 'resolved':
      return { line: `${id}: resolved: ${outcome.status} (order ${quoted(outcome.order_id)}), resolution emitted to order-results`, code: RESOLVE_EXIT.resolved };
    case 'already_resolved':
      return {
        line: `${id}: no-op: already resolved (${outcome.status}, order ${quoted(outcome.order_id)}, learned by ${outcome.source === 'webhook' ? 'a late webhook' : 'an earlier resolve'})`,
        code: RESOLVE_EXIT.resolved,
      };
    case 'refused':
      if (outcome.reason === 'unknown') return { line: `${id}: unknown: no intent was ever enqueued for this merchant_order_id`, code: RESOLVE_EXIT.unknown };
      if (outcome.reason === 'expired') {
        return {
          line: `${id}: unknown: its record expired after RETENTION_SECONDS (final status ${quoted(outcome.finished_status ?? '')}); nothing can be emitted for it any more`,
          code: RESOLVE_EXIT.unknown,
        };
      }
      return { line: `${id}: ${REFUSALS[outcome.reason] ?? `refused: ${outcome.reason}`}`, code: RESOLVE_EXIT.refused };
  }
}

/** `voodoo-fulfillment resolve`: close an `unresolved` order by hand. */
export function registerResolveCommand(program: Command): void {
  program
    .command('resolve')
    .description('close an unresolved order: the fleet looks the order up, waits for its terminal status and emits one resolution to order-results')
    .argument('<merchant_order_id>', 'the merchant_order_id whose result was unresolved')
    .requiredOption('--order-id <id>', 'the order id found for it (Voodoo Center dashboard)')
    .option('--timeout <seconds>', 'how long to wait for the fleet’s answer', wholeNumber(1, 86_400), 60)
    .option('--json', 'print the answer as one JSON object')
    .addHelpText(
      'after',
      '\nA worker must be running: the request is a job in order-intents. Repeating the command is safe:\n' +
        'at most one resolution is ever emitted per merchant_order_id.\n' +
        `Exit codes: ${RESOLVE_EXIT.resolved} resolved (now, or already: a no-op), ${RESOLVE_EXIT.refused} refused (wrong order id, unknown to the API,\n` +
        `or the result was not unresolved), ${RESOLVE_EXIT.unknown} merchant_order_id unknown or expired, ${RESOLVE_EXIT.timedOut} no answer within --timeout\n` +
        '(the request goes on in the fleet), 1 error.\nUses REDIS_URL, QUEUE_PREFIX and QUEUE_PARTITIONS from the environment.',
    )
    .action(async (mid: string, options: { orderId: string; timeout: number; json?: boolean }) => {
      if (mid === '' || options.orderId === '') throw new Error('resolve: merchant_order_id and --order-id must not be empty');
      const [{ Queue, QueueEvents }, { loadConfig }, { INTENTS_QUEUE }, { closeCommandConnection }, { requestResolution }, { partitionLayout }, { needsHashTags, openRedisForCommand, redisTargetOf }] =
        await Promise.all([
          import('bullmq'),
          import('../config/config.js'),
          import('../queue/queue-names.js'),
          import('../redis/connect.js'),
          import('../queue/enqueue-resolve.js'),
          import('../redis/partitions.js'),
          import('../redis/redis-target.js'),
        ]);
      const config = loadConfig(process.env);
      const target = redisTargetOf(config);
      const redis = await openRedisForCommand(target, 'vf-resolve');
      // QueueEvents blocks on its connection: it gets one of its own.
      const eventsRedis = await openRedisForCommand(target, 'vf-resolve-events', { blocking: true });
      // The request goes to the partition the order's merchant_order_id routes to.
      const prefix = partitionLayout(config.QUEUE_PREFIX, config.QUEUE_PARTITIONS, needsHashTags(target)).forOrder(mid).prefix;
      const queue = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
      // Read events from the stream's end as it is now, before the request is added: QueueEvents'
      // default ('$', taken when its first blocking read starts) would miss an answer that came in
      // between (seen on a busy cluster, where that first read starts later).
      const [last] = await redis.xrevrange(queue.toKey('events'), '+', '-', 'COUNT', 1);
      const events = new QueueEvents(INTENTS_QUEUE, { connection: eventsRedis, prefix, lastEventId: last?.[0] ?? '0-0' });
      queue.on('error', () => undefined);
      events.on('error', () => undefined);
      const print = (line: string, json: object): void => {
        process.stdout.write(`${options.json === true ? JSON.stringify(json) : line}\n`);
      };
      try {
        await events.waitUntilReady();
        const requested = await requestResolution(queue, mid, options.orderId);
        if (requested.kind === 'busy') {
          print(`${quoted(mid)}: a resolve request with order id ${quoted(requested.orderId)} is in progress; wait for it to end`, {
            merchant_order_id: mid,
            outcome: 'busy',
            order_id: requested.orderId,
          });
          process.exitCode = RESOLVE_EXIT.refused;
          return;
        }
        let outcome: ResolutionJobOutcome;
        try {
          outcome = (await requested.job.waitUntilFinished(events, options.timeout * 1000)) as ResolutionJobOutcome;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (!message.includes('timed out')) throw new Error(`resolve request failed in the fleet: ${message}`);
          print(`${quoted(mid)}: no answer within ${options.timeout} s; the request goes on in the fleet (is a worker running? is the order still in progress?)`, {
            merchant_order_id: mid,
            outcome: 'timed_out',
          });
          process.exitCode = RESOLVE_EXIT.timedOut;
          return;
        }
        const { line, code } = describe(outcome);
        print(line, outcome);
        process.exitCode = code;
      } finally {
        await Promise.all([queue.close(), events.close()]);
        await Promise.all([closeCommandConnection(redis), closeCommandConnection(eventsRedis)]);
      }
    });
}
