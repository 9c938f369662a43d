import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { OrderIntent, ParsedIntent } from '../lifecycle/intent.js';
import { printable } from '../text/printable.js';

/** Lines added per round trip. */
const BATCH = 500;

/** Parse one JSON-lines line into an intent with `parse`, or say exactly what is wrong with it. */
function parseIntentLine(parse: (data: unknown) => ParsedIntent, line: string, where: string): OrderIntent {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    throw new Error(`${where}: not valid JSON`);
  }
  const parsed = parse(data);
  if (parsed.kind === 'garbage') throw new Error(`${where}: ${parsed.reason}`);
  if (parsed.kind === 'invalid') throw new Error(`${where}: ${parsed.message}`);
  return data as OrderIntent;
}

/** Ids listed in the "already enqueued" part of the summary; a big file's repeats are counted past this. */
const LISTED_IDS = 20;

/** The summary's tail for ids whose job existed already, e.g. `, already enqueued 1: shop-1001`. */
function alreadyEnqueued(ids: readonly string[]): string {
  if (ids.length === 0) return '';
  const listed = ids.slice(0, LISTED_IDS).map(printable).join(', ');
  const more = ids.length > LISTED_IDS ? ` and ${ids.length - LISTED_IDS} more` : '';
  return `, already enqueued ${ids.length}: ${listed}${more}`;
}

async function* readLines(file: string): AsyncGenerator<string> {
  const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) yield line;
}

/** `voodoo-fulfillment enqueue`: add intents to order-intents. */
export function registerEnqueueCommand(program: Command): void {
  program
    .command('enqueue')
    .description('add order intents to order-intents: one JSON intent as an argument, or JSON lines from --file (- = stdin)')
    .argument('[intent]', 'one intent as JSON, e.g. \'{"merchant_order_id":"m-1","item_id":4090,"quantity":2}\'')
    .option('-f, --file <path>', 'JSON lines file of intents, one per line; - reads stdin')
    .addHelpText(
      'after',
      '\nEvery line is checked before anything is added: one bad line adds nothing and names the line.\n' +
        'Uses REDIS_URL, QUEUE_PREFIX and QUEUE_PARTITIONS from the environment.',
    )
    .action(async (intent: string | undefined, options: { file?: string }) => {
      if ((intent === undefined) === (options.file === undefined)) {
        throw new Error('enqueue: give exactly one of an intent argument or --file');
      }
      const [
        { loadConfig },
        { parseIntent },
        { enqueueNewOrders },
        { INTENTS_QUEUE },
        { openFleetQueues },
        { closeCommandConnection },
        { needsHashTags, openRedisForCommand, redisTargetOf },
      ] = await Promise.all([
        import('../config/config.js'),
        import('../lifecycle/intent.js'),
        import('../queue/enqueue-order.js'),
        import('../queue/queue-names.js'),
        import('../queue/partition-queues.js'),
        import('../redis/connect.js'),
        import('../redis/redis-target.js'),
      ]);
      const intents: OrderIntent[] = [];
      if (intent !== undefined) {
        intents.push(parseIntentLine(parseIntent, intent, 'intent'));
      } else {
        let n = 0;
        for await (const line of readLines(options.file ?? '-')) {
          n++;
          if (line.trim() === '') continue;
          intents.push(parseIntentLine(parseIntent, line, `line ${n}`));
        }
      }
      const config = loadConfig(process.env);
      const target = redisTargetOf(config);
      const redis = await openRedisForCommand(target, 'vf-enqueue');
      const queues = openFleetQueues({ connection: redis, prefix: config.QUEUE_PREFIX, partitions: config.QUEUE_PARTITIONS, hashTags: needsHashTags(target) });
      // A failing add rejects and the command reports that; the event would only repeat it, raw.
      for (const { intents: queue } of queues.partitions) queue.on('error', () => undefined);
      try {
        let added = 0;
        const already: string[] = [];
        for (let i = 0; i < intents.length; i += BATCH) {
          const report = await enqueueNewOrders(queues, redis, intents.slice(i, i + BATCH));
          added += report.added.length;
          already.push(...report.alreadyEnqueued);
        }
        const where = queues.layout.partitions[0]?.prefix === config.QUEUE_PREFIX ? `${config.QUEUE_PREFIX}:${INTENTS_QUEUE}` : `${INTENTS_QUEUE} of ${queues.layout.count} partitions`;
        process.stdout.write(`enqueued ${added} intent(s) to ${where}${alreadyEnqueued(already)}\n`);
      } finally {
        await queues.close();
        await closeCommandConnection(redis);
      }
    });
}
