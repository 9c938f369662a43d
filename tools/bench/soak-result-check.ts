import type { OrderResult, ResultStatus } from '../../src/lifecycle/order-state.js';
import { resultJobId } from '../../src/queue/job-ids.js';
import type { SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';
import { checkResults } from '../checks/result-check.js';
import type { Correctness } from './bench-report.js';

/** Problems a report lists (the count covers all of them). */
const MAX_PROBLEMS = 20;

/**
 * The soak's correctness check, window by window: results are taken as the consumer gets them,
 * each window's are judged by {@link checkResults} against the sandbox's orders of those ids and
 * then dropped, so a 100k-order run holds one window of results, not all of them. Across windows
 * one byte per order says which ids have their result. The ids are `<idPrefix>-<index>`, index
 * below `orders` (benchIntents).
 */
export class SoakResultCheck {
  private readonly seen: Uint8Array;
  private window = new Map<string, OrderResult>();
  private readonly unresolved = new Set<string>();
  private readonly kept: string[] = [];
  private problemCount = 0;
  private resultCount = 0;
  private redeliveryCount = 0;
  private readonly statuses: Record<ResultStatus, number> = { completed: 0, partial: 0, failed: 0, rejected: 0, unresolved: 0 };

  constructor(
    private readonly orders: number,
    private readonly idPrefix: string,
  ) {
    this.seen = new Uint8Array(orders);
  }

  /** Distinct merchant_order_ids with a result so far. */
  get results(): number {
    return this.resultCount;
  }

  /** Result jobs handed over again after their first delivery (a consumer's retry): not second results. */
  get redeliveries(): number {
    return this.redeliveryCount;
  }

  /** Results by status so far. */
  byStatus(): Record<ResultStatus, number> {
    return { ...this.statuses };
  }

  /** Results taken since the last window check. */
  get windowSize(): number {
    return this.window.size;
  }

  /** The index of an id of this run, or null for any other id. */
  private indexOf(merchantOrderId: string): number | null {
    const head = `${this.idPrefix}-`;
    if (!merchantOrderId.startsWith(head)) return null;
    const digits = merchantOrderId.slice(head.length);
    if (!/^(0|[1-9]\d*)$/.test(digits)) return null;
    const index = Number(digits);
    return index < this.orders ? index : null;
  }

  private problem(text: string): void {
    this.problemCount += 1;
    if (this.kept.length < MAX_PROBLEMS) this.kept.push(text);
  }

  /** Take one result job as consumed (`jobId` its BullMQ id). */
  add(result: OrderResult, jobId: string | undefined): void {
    const mid = result.merchant_order_id;
    // `resolves` is absent from results emitted before resolutions existed.
    if (result.resolves !== undefined && result.resolves !== null) {
      if (!this.unresolved.has(mid)) this.problem(`${mid}: a resolution of a result that was not unresolved (or not yet consumed)`);
      return;
    }
    const index = this.indexOf(mid);
    if (index === null) {
      this.problem(`${mid}: a result for a merchant_order_id nobody enqueued`);
      return;
    }
    // One result job per id, under its derived job id: any other id is a second result.
    if (jobId !== resultJobId(mid)) {
      this.problem(`${mid}: a second result job (${jobId ?? 'no id'}, ${result.status})`);
      return;
    }
    if (this.seen[index] === 1) {
      this.redeliveryCount += 1;
      return;
    }
    this.seen[index] = 1;
    this.window.set(mid, result);
    this.resultCount += 1;
    this.statuses[result.status] += 1;
    if (result.status === 'unresolved') this.unresolved.add(mid);
  }

  /**
   * Judge the window's results against the sandbox's orders of those ids (`sandboxOrders` may hold
   * more: the rest are left for later), then forget them.
   */
  checkWindow(sandboxOrders: readonly SandboxOrderRecord[]): void {
    if (this.window.size === 0) return;
    const window = this.window;
    this.window = new Map();
    const theirs = sandboxOrders.filter((o) => o.merchantOrderId !== null && window.has(o.merchantOrderId));
    const { problems } = checkResults({ expected: [...window.keys()], results: window, sandboxOrders: theirs });
    for (const p of problems) this.problem(p);
  }

  /**
   * After the last result: judge the last window, then every id at once: each has a result, each
   * sandbox order is for an id of the run that has one, and none is charged twice. `leading` (why
   * the run stopped early) comes first.
   */
  finish(sandboxOrders: readonly SandboxOrderRecord[], leading: readonly string[] = []): Correctness {
    this.checkWindow(sandboxOrders);
    const late: string[] = [];
    const charged = new Uint8Array(this.orders);
    for (const order of sandboxOrders) {
      const mid = order.merchantOrderId;
      const index = mid === null ? null : this.indexOf(mid);
      if (mid === null || index === null) {
        late.push(`sandbox order ${order.id} for ${mid ?? 'no merchant_order_id'}, which nobody enqueued`);
        continue;
      }
      charged[index] = Math.min(255, (charged[index] ?? 0) + 1);
      if (charged[index] === 2) late.push(`${mid}: charged more than once in the sandbox`);
      if (this.seen[index] !== 1 && charged[index] === 1) late.push(`${mid}: sandbox order ${order.id} has no result`);
    }
    let missing = 0;
    let firstMissing: string | null = null;
    for (let i = 0; i < this.orders; i++) {
      if (this.seen[i] === 1) continue;
      missing += 1;
      firstMissing ??= `${this.idPrefix}-${i}`;
    }
    const before = this.kept.splice(0);
    const beforeCount = this.problemCount;
    this.problemCount = 0;
    for (const p of leading) this.problem(p);
    if (missing > 0) this.problem(`${missing} merchant_order_id(s) without a result (the first: ${firstMissing ?? '?'})`);
    for (const p of before) this.problem(p);
    this.problemCount += beforeCount - before.length;
    for (const p of late) this.problem(p);
    return { ok: this.problemCount === 0, problemCount: this.problemCount, problems: [...this.kept] };
  }
}
