import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logging/logger.js';
import { startReminderPoller } from '../../../src/queue/reminder-poller.js';
import { projectKeys } from '../../../src/redis/keys.js';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../../src/sandbox/sandbox-types.js';
import { Resources, startHandlerKit, startTestSandbox, type HandlerKit } from './handler-kit.js';

/**
 * The safety net of a handed-off order: with a receiver alive, an intent job hands its placed order
 * to the webhook and completes, and the ledger keeps a reminder. Here no webhook ever comes (the
 * sandbox sends none, though a receiver is announced): the reminder runs the job again when it is
 * due, which looks the order up and settles it.
 */

const resources = new Resources();
afterEach(() => resources.close());

async function setup(): Promise<{ sandbox: LocalSandbox; kit: HandlerKit }> {
  const sandbox = resources.add(await startTestSandbox({ fulfilment: { minMs: 0, maxMs: 0 } }));
  const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, catalog: defaultSandboxCatalog() }));
  // A receiver is announced (its heartbeat key), so the workers hand placed orders off.
  await kit.redis.set(projectKeys(kit.prefix).webhookAlive, '1', 'EX', 600);
  return { sandbox, kit };
}

function startPoller(kit: HandlerKit) {
  // The poller logs only at debug (a failed round comes round again).
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void kit.logLines.push(line) } });
  return resources.add(startReminderPoller({ ledger: kit.ledger, intents: [{ partition: 0, queue: kit.intents }], logger, intervalMs: 20, now: kit.clock.now }));
}

const reminderOf = (kit: HandlerKit, mid: string) => kit.redis.zscore(projectKeys(kit.prefix).reminders, mid);

describe('a handed-off order whose webhook never comes', () => {
  it('waits, without a parked job, until its reminder is due; then its job runs again, looks it up and settles it once', async () => {
    const { sandbox, kit } = await setup();
    await kit.enqueue({ merchant_order_id: 'rm-1', item_id: 4090, quantity: 2 });
    const { remindAtMs } = await kit.handedOff('rm-1');
    expect(await kit.intents.getDelayedCount()).toBe(0);
    startPoller(kit);

    // Not due yet: the poller leaves it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(Number(await reminderOf(kit, 'rm-1'))).toBe(remindAtMs);
    expect(sandbox.stats().calls.lookup).toBe(0);

    // Due: the job runs again, polls once and emits the poll's result.
    kit.clock.advance(kit.policy.pollWebhookDelayMs);
    const result = await kit.result('rm-1');
    const [order] = sandbox.orders().filter((o) => o.merchantOrderId === 'rm-1');
    expect(result).toMatchObject({ status: 'completed', source: 'poll', order_id: order?.id });
    expect(sandbox.stats().calls).toMatchObject({ create: 1, lookup: 1 });
    expect(await kit.emissions('rm-1')).toBe(1);
    expect(await kit.state('rm-1')).toMatchObject({ phase: 'done', emitted: true, remindAtMs: null });
    expect(await reminderOf(kit, 'rm-1')).toBeNull();
    expect(await kit.reservations()).toEqual({});
  });

  it('when the completed job is gone and its id cannot be added again (a generated one), runs the order under the safe id, moving the record to it', async () => {
    const { sandbox, kit } = await setup();
    // A producer without a jobId: BullMQ generates an all-digit one, which it will not take back.
    const added = await kit.intents.add('order', { merchant_order_id: 'rm-gen', item_id: 4090, quantity: 2 }, { priority: 1 });
    expect(added.id).toMatch(/^\d+$/);
    await kit.waitForState('rm-gen', (state) => state.phase === 'placed' && state.remindAtMs !== null);
    await expect.poll(async () => (await kit.intents.getJobState(added.id ?? '')) === 'completed').toBe(true);
    // The producer's removeOnComplete, or retention, took the completed job.
    await kit.intents.remove(added.id ?? '');
    startPoller(kit);
    kit.clock.advance(kit.policy.pollWebhookDelayMs);

    const result = await kit.result('rm-gen');
    expect(result).toMatchObject({ status: 'completed', source: 'poll' });
    expect((await kit.ledger.load('rm-gen'))?.owner).toBe('intent-rm-gen');
    expect(sandbox.stats().calls.create).toBe(1);
    expect(await kit.emissions('rm-gen')).toBe(1);
  });

  it('makes a reminder due now on request (a stored event the receiver could not apply), and only an existing one', async () => {
    const { kit } = await setup();
    await kit.redis.zadd(projectKeys(kit.prefix).reminders, 9_999_999_999_999, 'rm-now');
    expect(await kit.ledger.remindNow('rm-now')).toBe(true);
    expect(Number(await reminderOf(kit, 'rm-now'))).toBe(0);
    expect(await kit.ledger.remindNow('rm-none')).toBe(false);
    expect(await reminderOf(kit, 'rm-none')).toBeNull();
  });

  it('drops a reminder that outlived its order instead of running a finished job', async () => {
    const { kit } = await setup();
    await kit.redis.zadd(projectKeys(kit.prefix).reminders, 1, 'rm-gone');
    startPoller(kit);
    await expect.poll(() => reminderOf(kit, 'rm-gone')).toBeNull();
    expect(await kit.intents.getJobCounts('waiting', 'prioritized', 'active', 'completed')).toEqual({ waiting: 0, prioritized: 0, active: 0, completed: 0 });
  });

  it('leases a due reminder, so two pollers do not both run the job', async () => {
    const { kit } = await setup();
    await kit.redis.zadd(projectKeys(kit.prefix).reminders, 1_000, 'rm-lease');
    const first = await kit.ledger.takeDueReminders(0, 2_000, 60_000, 10);
    const second = await kit.ledger.takeDueReminders(0, 2_000, 60_000, 10);
    expect(first).toEqual(['rm-lease']);
    expect(second).toEqual([]);
    expect(Number(await reminderOf(kit, 'rm-lease'))).toBe(62_000);
  });
});
