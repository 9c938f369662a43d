import type { Job } from 'bullmq';
import type { VoodooClient } from '../../src/api/voodoo-client.js';
import type { BalanceGate } from '../../src/balance/balance-gate.js';
import type { OrderLedger } from '../../src/ledger/order-ledger.js';
import type { OrderState } from '../../src/lifecycle/order-state.js';
import type { ResultEmitter } from '../../src/queue/result-emitter.js';
import type { StepTimeline } from './step-timeline.js';

/**
 * The step tracer's one table: which call of an injected dependency is which step, and what each
 * step covers. When the product's dependencies change (a merged script, a call that goes away),
 * this file is what to adapt: a method without a rule is called through untouched (its commands
 * fall in the stretch around it), and a step that never runs shows as 0.
 */

/** A step and what it covers, in the order an order meets them (the report's row order). */
export interface StepDefinition {
  step: string;
  covers: string;
}

/** Stretches between wrapped calls (gap labels), set by the tracer. */
export const GAP = {
  finishJob: 'finish job',
  other: 'other / background',
} as const;

export const STEP_DEFINITIONS: readonly StepDefinition[] = [
  { step: 'enqueue', covers: 'enqueueOrders of one intent (BullMQ addBulk of one prioritized job)' },
  {
    step: 'fetch',
    covers:
      "Worker.moveToActive: the job moved to active (in polling mode also when the parked job comes due: its promotion is in the same script). The idle worker's BZPOPMIN that returns when the job's marker is added counts in enqueue (Redis serves it at once)",
  },
  { step: 'idle fetch', covers: 'Worker.moveToActive that found no job (the idle worker woken by a marker: the parked job, a removed one)' },
  { step: 'claim', covers: 'OrderLedger.claim (CLAIM script)' },
  { step: 'price record', covers: 'OrderLedger.save of phase `received` (before the reserve: no longer on the usual path, the cost travels with the reservation)' },
  { step: 'reserve', covers: 'BalanceGate.reserve (RESERVE script; a balance read and REFRESH when the reading is stale)' },
  { step: 'attempt record', covers: 'OrderLedger.save of phase `placing` (recorded before the POST)' },
  { step: 'create', covers: 'awaitReplication + VoodooClient.createOrder (the access token read from Redis)' },
  { step: 'placed record', covers: 'OrderLedger.save of phase `placed` (the order id)' },
  { step: 'park', covers: 'Job.changePriority + Job.moveToDelayed of the intent job (the handler then throws DelayedError); with a receiver alive the placed order is handed off instead (the job completes: `finish job`)' },
  { step: 'wake', covers: 'OrderLedger.recordEvent in the webhook receiver (RECORD_EVENT script: the signed event stored)' },
  { step: 'finalize', covers: 'OrderLedger.save of phase `done`, not yet emitted (the finalizer, or the job in polling mode)' },
  { step: 'emit', covers: 'ResultEmitter.emit (BullMQ add to order-results)' },
  { step: 'release', covers: 'BalanceGate.release of the reservation (RELEASE script)' },
  { step: 'complete', covers: 'OrderLedger.save of `done` + emitted (clearing a handed-off order’s reminder), and the job closer removing a parked intent job (none after a hand-off)' },
  { step: 'lookup', covers: 'VoodooClient.getOrder (polling mode)' },
  { step: GAP.finishJob, covers: "from the handler's return to BullMQ's `completed` event (moveToFinished; in webhook mode the hand-off)" },
  { step: 'alive check', covers: 'webhookAlive(): EXISTS on the receiver heartbeat key, cached 1 s per process' },
  { step: 'reload', covers: 'OrderLedger.load after a compare-and-set conflict' },
  { step: 'record charge', covers: 'BalanceGate.recordCharge (the API charged another amount)' },
  { step: 'invalidate balance', covers: 'BalanceGate.invalidate' },
  { step: GAP.other, covers: 'everything between steps not covered above: the rest of the handler, BullMQ background (blocking fetch loop, stalled checks, lock renewal), the receiver heartbeat' },
];

/** The step of a ledger save, by the state it writes. */
export function savedStep(state: OrderState): string {
  switch (state.phase) {
    case 'received':
      return 'price record';
    case 'placing':
      return 'attempt record';
    case 'placed':
      return 'placed record';
    case 'done':
      return state.emitted ? 'complete' : 'finalize';
    default:
      return `save ${state.phase}`;
  }
}

/** Per method of `T`: the step its call is (null: not a step), from its arguments. */
export type StepRules<T> = {
  [K in keyof T]?: T[K] extends (...args: infer A) => Promise<unknown> ? (...args: A) => string | null : never;
};

/** The rules themselves: the wrapped interfaces and which step each call is. */
export const STEP_RULES = {
  ledger: {
    claim: () => 'claim',
    save: (_mid, _version, state) => savedStep(state),
    recordEvent: () => 'wake',
    load: () => 'reload',
  } satisfies StepRules<OrderLedger>,
  gate: {
    reserve: () => 'reserve',
    release: () => 'release',
    recordCharge: () => 'record charge',
    invalidate: () => 'invalidate balance',
  } satisfies StepRules<BalanceGate>,
  client: {
    createOrder: () => 'create',
    getOrder: () => 'lookup',
  } satisfies StepRules<VoodooClient>,
  emitter: {
    emit: () => 'emit',
  } satisfies StepRules<ResultEmitter>,
  job: {
    changePriority: () => 'park',
    moveToDelayed: () => 'park',
  } satisfies StepRules<Job>,
  /** Injected functions (not methods), and the Worker's own fetch (a subclass overrides it): their step. */
  functions: {
    moveToActive: 'fetch',
    moveToActiveEmpty: 'idle fetch',
    awaitReplication: 'create',
    closeJob: 'complete',
    webhookAlive: 'alive check',
  },
} as const;

/**
 * `target` with the calls `rules` names run as steps of `timeline`; every other property is the
 * target's own (methods bound to it, so they never see the proxy).
 */
export function traced<T extends object>(target: T, rules: StepRules<T>, timeline: StepTimeline): T {
  const byName = rules as Partial<Record<PropertyKey, (...args: unknown[]) => string | null>>;
  return new Proxy(target, {
    get(obj, key) {
      const value: unknown = Reflect.get(obj, key, obj);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      const rule = byName[key];
      if (rule === undefined) return method.bind(obj);
      return (...args: unknown[]) => {
        const step = rule(...args);
        const call = (): Promise<unknown> => Promise.resolve(method.apply(obj, args));
        return step === null ? call() : timeline.step(step, call);
      };
    },
  });
}

/** `fn` run as the step `step` of `timeline`. */
export function tracedFunction<A extends unknown[], R>(fn: (...args: A) => Promise<R>, step: string, timeline: StepTimeline): (...args: A) => Promise<R> {
  return (...args) => timeline.step(step, () => fn(...args));
}
