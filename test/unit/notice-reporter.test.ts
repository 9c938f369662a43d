import { describe, expect, it } from 'vitest';
import { createNoticeReporter } from '../../src/handlers/order-effects.js';
import { createLogger } from '../../src/logging/logger.js';
import { createPipelineMetrics } from '../../src/metrics/pipeline-metrics.js';
import type { Notice } from '../../src/lifecycle/order-state.js';

const UNREACHABLE = 'token failed: ECONNREFUSED: cannot reach the API at api.example.test (is VOODOO_API_URL right and the API up?)';

function setup() {
  const raw: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void raw.push(line) } });
  let clock = 1_000_000;
  const report = createNoticeReporter({ metrics: createPipelineMetrics(), now: () => clock });
  const failed = (mid: string, message = UNREACHABLE): void => {
    const notice: Notice = { kind: 'call_failed', call: 'create', code: 'transient', message, failures: 1 };
    report(logger.child({ merchant_order_id: mid }), notice);
  };
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { failed, advance: (ms: number) => void (clock += ms), warnings: () => lines().filter((l) => l.level === 40), lines };
}

describe('when the API cannot be reached and every intent retries', () => {
  it('writes one warning naming VOODOO_API_URL, the repeats at debug only', () => {
    const { failed, warnings, lines } = setup();
    for (let i = 0; i < 40; i += 1) failed(`m-${i}`);

    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ event: 'call_failed', merchant_order_id: 'm-0', problem: UNREACHABLE, msg: 'API call failed: retrying later' });
    expect(String(warnings()[0]?.problem)).toContain('VOODOO_API_URL');
    expect(lines().filter((l) => l.level === 20)).toHaveLength(39);
  });

  it('writes it again a minute later, counting the ones left out', () => {
    const { failed, advance, warnings } = setup();
    for (let i = 0; i < 5; i += 1) failed(`m-${i}`);
    advance(60_000);
    failed('m-late');

    expect(warnings().map((l) => [l.merchant_order_id, l.repeated])).toEqual([
      ['m-0', undefined],
      ['m-late', 4],
    ]);
  });

  it('still writes a different failure in the middle of the outage', () => {
    const { failed, warnings } = setup();
    failed('m-1');
    failed('m-2', 'lookup answered 503');
    failed('m-3');

    expect(warnings().map((l) => l.problem)).toEqual([UNREACHABLE, 'lookup answered 503']);
  });
});
