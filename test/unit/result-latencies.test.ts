import { describe, expect, it } from 'vitest';
import { resultLatencies } from '../../src/metrics/pipeline-metrics.js';
import { sampleResult } from '../support/fixtures.js';

const EMITTED = Date.parse('2026-11-27T12:00:10.000Z');

describe('the latencies of an emitted result', () => {
  it('count enqueue → result from the intent job’s timestamp', () => {
    const result = sampleResult('m-1', { completed_at: '2026-11-27T12:00:09.000Z', resolved_at: '2026-11-27T12:00:09.500Z' });
    expect(resultLatencies(result, EMITTED - 4_000, EMITTED)).toEqual({ enqueueToResult: 4, settleToResult: 1 });
  });

  it('leave enqueue → result out when the enqueue time is unknown (a record from before it was kept)', () => {
    expect(resultLatencies(sampleResult('m-1'), null, EMITTED).enqueueToResult).toBeNull();
  });

  it('count settle → result from when the result was decided when the API gave no completed_at', () => {
    const result = sampleResult('m-1', { status: 'unresolved', completed_at: null, resolved_at: '2026-11-27T12:00:09.750Z' });
    expect(resultLatencies(result, null, EMITTED).settleToResult).toBe(0.25);
  });

  it('never go below zero when the API’s clock runs ahead of this host’s', () => {
    const result = sampleResult('m-1', { completed_at: '2026-11-27T12:00:15.000Z' });
    expect(resultLatencies(result, EMITTED + 1_000, EMITTED)).toEqual({ enqueueToResult: 0, settleToResult: 0 });
  });
});
