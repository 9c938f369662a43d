import type { Command } from 'commander';
import { FulfillmentError } from '../../src/errors/errors.js';
import { wholeNumber } from '../../src/cli/option-parsers.js';
import { runMemoryFloor, type MemoryFloorOptions } from '../bench/memory-floor.js';
import { FleetError } from '../fleet/fleet-error.js';
import { processDevCommandIo, runDevCommand } from './command-runner.js';

/** What commander parses: the run's options, less what the command supplies itself. */
type MemoryFloorCliOptions = Omit<MemoryFloorOptions, 'cliPath' | 'signal' | 'onProgress'>;

function isReportedFailure(err: unknown): err is Error {
  return err instanceof FleetError || err instanceof FulfillmentError;
}

/**
 * The hidden `bench-memory-floor` (`npx tsx tools/cli.ts bench-memory-floor`, after `npm run
 * build`): the measurement behind the README's "Memory and retention" — retained bytes per order
 * and Redis back at its floor once the retention horizons passed. Prints the figures as JSON.
 */
export function registerBenchMemoryFloorCommand(program: Command): void {
  const io = processDevCommandIo(false);
  program
    .command('bench-memory-floor', { hidden: true })
    .description('run N orders (webhook mode) on a private redis-server with short retention; print Redis memory at its floor, retained, and idle past the retention horizons (JSON)')
    .option('--orders <n>', 'orders of the measured run', wholeNumber(1, 1_000_000), 20_000)
    .option('--workers <n>', 'worker processes', wholeNumber(1, 32), 2)
    .option('--concurrency <n>', 'WORKER_CONCURRENCY of each worker', wholeNumber(1, 1_000), 64)
    .option('--batch-size <n>', 'intents per addBulk', wholeNumber(1, 100_000), 1_000)
    .option('--retention-seconds <s>', 'RETENTION_SECONDS: longer than the run, so every order is retained when measured', wholeNumber(60, 86_400), 600)
    .option('--tombstone-ttl-seconds <s>', 'TOMBSTONE_TTL_SECONDS (the run then waits idle past it and past RETENTION_SECONDS + one cleanup round)', wholeNumber(60, 86_400), 660)
    .option('--unmatched-event-ttl-seconds <s>', 'UNMATCHED_EVENT_TTL_SECONDS', wholeNumber(60, 86_400), 60)
    .option('--timeout-ms <ms>', 'longest the run may take to produce and consume every result', wholeNumber(1_000, 7_200_000), 1_800_000)
    .action((opts: MemoryFloorCliOptions) =>
      runDevCommand(io, { name: 'bench-memory-floor', isReportedFailure }, async (signal) => {
        const report = await runMemoryFloor({
          ...opts,
          onProgress: (line) => io.err.write(`${line}\n`),
          ...(signal === undefined ? {} : { signal }),
        });
        io.out.write(`${JSON.stringify(report, null, 2)}\n`);
        return true;
      }),
    );
}
