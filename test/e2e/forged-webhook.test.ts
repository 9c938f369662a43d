import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/sandbox/canonical-json.js';
import { signWebhook } from '../../src/webhook/signature.js';
import { exactlyOnce, mismatches, postWebhook, sandboxOrdersOf, startPipeline, WEBHOOK_SECRET, type Pipeline } from '../support/pipeline.js';

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('when someone posts a forged webhook for a real order in flight', () => {
  it('answers 401 and changes nothing: the result still comes from the real event', async () => {
    // Slow fulfilment keeps the order in flight while the forgeries arrive.
    pipeline = await startPipeline({ sandbox: { fulfilment: { minMs: 3_000, maxMs: 3_000, outcomes: { completed: 0, partial: 0, failed: 1 } } } });
    await pipeline.startWebhook();
    await pipeline.startWorker();
    const mid = 'forge-1';
    await pipeline.enqueue([{ merchant_order_id: mid, item_id: 4090, quantity: 2 }]);

    await expect.poll(async () => (await pipeline?.ledgerRecord(mid))?.state?.includes('"phase":"placed"') ?? false, { timeout: 10_000 }).toBe(true);
    const { sandbox } = pipeline;
    const real = sandboxOrdersOf(sandbox, mid)[0];
    if (real === undefined) throw new Error('the order was not placed');
    expect(real.status).not.toMatch(/completed|partial|failed/);
    const before = await pipeline.ledgerRecord(mid);

    // A forger claims the (really failing) order completed and delivered codes.
    const forged = canonicalJson({
      order_id: real.id,
      merchant_order_id: mid,
      status: 'completed',
      item_id: 4090,
      item_name: 'Sample Gift Card 10 USD',
      quantity: 2,
      total_price: real.price,
      delivered_quantity: 2,
      refund_amount: 0,
      fields: {},
      codes: ['FORGED-CODE-0001', 'FORGED-CODE-0002'],
      error: '',
      error_message: '',
      completed_at: new Date().toISOString(),
      created_at: real.createdAt,
    });
    const attempts: [string, string | null][] = [
      ['no signature', null],
      ['signed with another secret', signWebhook('whsec_not_the_real_secret_000', forged)],
      ['a valid signature of another body', signWebhook(WEBHOOK_SECRET, forged.replace('FORGED-CODE-0001', 'FORGED-CODE-9999'))],
      ['a malformed signature', 'sha256=not-hex'],
    ];
    for (const [label, signature] of attempts) {
      expect(await postWebhook(pipeline.webhookUrl, forged, signature), label).toBe(401);
    }
    expect(await pipeline.ledgerRecord(mid)).toEqual(before);
    expect(before.event).toBeUndefined();

    const results = await pipeline.waitForResults(1, 15_000);
    expect(await exactlyOnce(pipeline, [mid])).toEqual([]);
    expect(mismatches(results, sandbox)).toEqual([]);
    expect(results.get(mid)).toMatchObject({ status: 'failed', order_id: real.id, codes: [], source: 'webhook' });
    // One line per sender per minute, naming the sender (the repeats are counted on the next line).
    const rejections = pipeline.logLines().filter((line) => line.includes('webhook rejected: missing or invalid signature'));
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toContain('"remoteAddress":"127.0.0.1"');
    for (const line of pipeline.logLines()) expect(line).not.toContain('FORGED-CODE');
  });
});
