import { describe, expect, it } from 'vitest';
import { hideCodes } from '../../src/dashboard/hide-codes.js';

describe('job data as the dashboard shows it', () => {
  it('replaces a result’s codes with their count and keeps every other field', () => {
    const data = { merchant_order_id: 'm-1', status: 'partial', delivered_quantity: 1, codes: ['K-1'], fields: { region: 17 } };
    expect(hideCodes(data)).toEqual({ ...data, codes: '[1 code(s) hidden]' });
  });

  it('finds codes however deep, inside arrays too', () => {
    expect(hideCodes({ outcome: { orders: [{ codes: ['A', 'B'] }, { codes: [] }] } })).toEqual({
      outcome: { orders: [{ codes: '[2 code(s) hidden]' }, { codes: '[0 code(s) hidden]' }] },
    });
  });

  it('does not change the data it was given', () => {
    const data = { codes: ['K-1'] };
    hideCodes(data);
    expect(data.codes).toEqual(['K-1']);
  });

  it('passes through values that are not objects, and a codes field that is not a list', () => {
    expect(hideCodes('text')).toBe('text');
    expect(hideCodes(null)).toBeNull();
    expect(hideCodes({ codes: 'n/a' })).toEqual({ codes: 'n/a' });
  });
});

describe('job data nested deeper than the search goes', () => {
  it('is hidden rather than shown unsearched', () => {
    let deep: Record<string, unknown> = { codes: ['DEEP-1'] };
    for (let i = 0; i < 12; i++) deep = { inner: deep };
    expect(JSON.stringify(hideCodes(deep))).not.toContain('DEEP-1');
    expect(JSON.stringify(hideCodes(deep))).toContain('[nested too deep to show]');
  });
});
