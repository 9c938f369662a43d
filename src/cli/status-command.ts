import type { Command } from 'commander';
import type { OrderResult } from '../lifecycle/order-state.js';
import type { OrderStatusReport } from '../status/order-status.js';

/** Nothing anywhere: no state, no tombstone, no intent job, no result, no webhook event. */
function unheardOf(report: OrderStatusReport): boolean {
  return report.phase === 'unknown' && report.intent_job === null && report.result === null && report.webhook_status === null;
}

/** `voodoo-fulfillment status`: where given merchant_order_ids stand. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show where merchant_order_ids stand: lifecycle phase, order id, attempts, intent and result jobs (never the codes)')
    .argument('<merchant_order_id...>', 'one or more merchant_order_ids')
    .option('--json', 'one JSON object per line instead of text')
    .addHelpText(
      'after',
      '\nReads only; exits 1 when any id is unknown to this system (never enqueued, or removed).\n' +
        'Uses REDIS_URL, QUEUE_PREFIX and QUEUE_PARTITIONS from the environment.',
    )
    .action(async (ids: string[], options: { json?: boolean }) => {
      const [
        { Queue },
        { ledgerRetention, loadConfig },
        { OrderLedger },
        { INTENTS_QUEUE, RESULTS_QUEUE },
        { partitionLayout },
        { closeCommandConnection },
        { needsHashTags, openRedisForCommand, redisTargetOf },
        { formatOrderStatus, orderStatus },
      ] = await Promise.all([
        import('bullmq'),
        import('../config/config.js'),
        import('../ledger/order-ledger.js'),
        import('../queue/queue-names.js'),
        import('../redis/partitions.js'),
        import('../redis/connect.js'),
        import('../redis/redis-target.js'),
        import('../status/order-status.js'),
      ]);
      const config = loadConfig(process.env);
      const target = redisTargetOf(config);
      const hashTags = needsHashTags(target);
      const redis = await openRedisForCommand(target, 'vf-status');
      const prefix = config.QUEUE_PREFIX;
      const layout = partitionLayout(prefix, config.QUEUE_PARTITIONS, hashTags);
      // Each id is read in the partition it routes to.
      const queues = layout.partitions.map((partition) => ({
        intents: new Queue(INTENTS_QUEUE, { connection: redis, prefix: partition.prefix }),
        results: new Queue<OrderResult>(RESULTS_QUEUE, { connection: redis, prefix: partition.prefix }),
      }));
      const ledger = new OrderLedger({ redis, prefix, partitions: config.QUEUE_PARTITIONS, hashTags, ...ledgerRetention(config) });
      // A failing read rejects and the command reports that; the events would only repeat it, raw.
      for (const q of queues.flatMap(({ intents, results }) => [intents, results])) q.on('error', () => undefined);
      try {
        let unknown = 0;
        for (const id of ids) {
          const { intents, results } = queues[layout.forOrder(id).index] as (typeof queues)[number];
          const report = await orderStatus({ view: (mid) => ledger.view(mid), intents, results }, id);
          if (unheardOf(report)) unknown += 1;
          process.stdout.write(`${options.json === true ? JSON.stringify(report) : formatOrderStatus(report)}\n`);
        }
        if (unknown > 0) process.exitCode = 1;
      } finally {
        await Promise.all(queues.flatMap(({ intents, results }) => [intents.close(), results.close()]));
        await closeCommandConnection(redis);
      }
    });
}
