import type { RedisClient } from '../redis/connect.js';
import { isTerminalStatus, type Order } from '../api/order.js';
import { initialState } from '../lifecycle/order-machine.js';
import type { OrderState } from '../lifecycle/order-state.js';
import type { ProjectKeys } from '../redis/keys.js';
import { LuaScript } from '../redis/lua-script.js';
import { partitionLayout, type PartitionLayout } from '../redis/partitions.js';
import { CLAIM, LOAD, REASSIGN_OWNER, RECORD_EVENT, SAVE, TAKE_DUE_REMINDERS } from './ledger-scripts.js';

/** One order's record as loaded from Redis. */
export interface LedgerRecord {
  state: OrderState;
  /** Compare-and-set version of `state`. */
  version: number;
  /** The order as the terminal webhook event stored for this merchant_order_id tells it, if any. */
  webhookOrder: Order | null;
  /** The intent job that drives the order. */
  owner: string;
}

/** Outcome of {@link OrderLedger.claim}. */
export type ClaimOutcome =
  /** This job created the record. */
  | { kind: 'claimed'; record: LedgerRecord }
  /** This job already owns the record (a retry or a recovered stalled job). */
  | { kind: 'owner'; record: LedgerRecord }
  /** Another job drives this merchant_order_id: this intent is a duplicate. */
  | { kind: 'duplicate'; owner: string }
  /** The order finished long ago and its record expired; only the tombstone is left. */
  | { kind: 'finished'; status: string };

/** Outcome of {@link OrderLedger.recordEvent}. */
export interface RecordEventOutcome {
  /**
   * `duplicate`: a terminal event for this order id was already stored (nothing changed).
   * `conflict`: the order's id is known and the event is for another one: kept aside for inspection
   * ({@link ProjectKeys.conflictingEvents}), not stored as the order's event.
   */
  outcome: 'stored' | 'duplicate' | 'conflict';
  /** The intent job driving the order, or '' when this system does not know the order. */
  owner: string;
  /** Whether an intent for this merchant_order_id was ever claimed. */
  known: boolean;
  /** The record as it stands after storing the event (null when unknown), for the webhook fast path. */
  record: LedgerRecord | null;
}

/** Everything the ledger holds about one merchant_order_id, read without changing it (for operators). */
export interface LedgerView {
  /** The record's state, or null when no intent was claimed (or its record expired). */
  state: OrderState | null;
  /** The intent job that drives the order ('' when none). */
  owner: string;
  /** The order as the last webhook event stored for this merchant_order_id tells it, if any. */
  webhookOrder: Order | null;
  /**
   * Final status from the tombstone, kept TOMBSTONE_TTL_SECONDS once the order is done (null while it
   * is not, and after that), or from an older release's tombstone hash.
   */
  finishedStatus: string | null;
}

/** Options of {@link OrderLedger}. */
export interface OrderLedgerOptions {
  redis: RedisClient;
  /** Key prefix (QUEUE_PREFIX); its keys: `partitionLayout(prefix, partitions)` (redis/partitions.ts). */
  prefix: string;
  /** Number of queue partitions (QUEUE_PARTITIONS); an order's keys live in its partition. Default 1. */
  partitions?: number;
  /** Hash-tag the layout even with one partition (a Redis Cluster: REDIS_CLUSTER_NODES). Default false. */
  hashTags?: boolean;
  /** How long a finished record is kept, in seconds. */
  retentionSeconds: number;
  /** How long a finished id's tombstone is kept, in seconds; at least `retentionSeconds`. */
  tombstoneTtlSeconds: number;
  /**
   * How long a webhook event no intent claimed, or one without a merchant_order_id, is kept, in
   * seconds; at most `retentionSeconds` (such events may hold delivered codes).
   */
  unmatchedEventTtlSeconds: number;
}

/**
 * The durable per-order record, keyed by merchant_order_id. Every write is one atomic Lua script:
 * state writes are compare-and-set on `version`, so two workers can never both act on one order.
 */
export class OrderLedger {
  private readonly claimScript = new LuaScript(CLAIM);
  private readonly loadScript = new LuaScript(LOAD);
  private readonly saveScript = new LuaScript(SAVE);
  private readonly recordEventScript = new LuaScript(RECORD_EVENT);
  private readonly takeDueRemindersScript = new LuaScript(TAKE_DUE_REMINDERS);
  private readonly reassignOwnerScript = new LuaScript(REASSIGN_OWNER);

  private readonly layout: PartitionLayout;

  constructor(private readonly options: OrderLedgerOptions) {
    this.layout = partitionLayout(options.prefix, options.partitions, options.hashTags);
  }

  /**
   * The keys every script for `merchantOrderId` touches: all in its partition, so one hash slot.
   * Exposed for the single-slot test (test/unit/partitions.test.ts).
   */
  scriptKeys(merchantOrderId: string): { claim: string[]; load: string[]; save: string[]; recordEvent: string[]; view: string[] } {
    const keys = this.keysOf(merchantOrderId);
    const order = keys.order(merchantOrderId);
    const tombstone = keys.tombstone(merchantOrderId);
    return {
      claim: [order, tombstone, keys.unmatchedEvents, keys.legacyTombstones],
      load: [order],
      save: [order, tombstone, keys.fundsWaiting, keys.reminders],
      recordEvent: [order, keys.unmatchedEvents, keys.conflictingEvents],
      view: [order, tombstone, keys.legacyTombstones],
    };
  }

  private keysOf(merchantOrderId: string): ProjectKeys {
    return this.layout.forOrder(merchantOrderId).keys;
  }

  /**
   * Durably store a webhook event that has no merchant_order_id (the API allows such orders; none of
   * them can be ours), keyed by its order_id, so it is kept for reconciliation rather than lost, for
   * `unmatchedEventTtlSeconds`. `duplicate` when an event for this order_id was already stored (it is
   * replaced and its TTL restarts: terminal events of one order are identical).
   */
  async recordEventWithoutMerchantOrderId(orderId: string, rawJson: string): Promise<'stored' | 'duplicate'> {
    const key = this.layout.global.keys.eventWithoutMerchantOrderId(orderId);
    const replies = await this.options.redis.multi().exists(key).set(key, rawJson, 'EX', this.options.unmatchedEventTtlSeconds).exec();
    const [existed, set] = replies ?? [];
    if (existed === undefined || set === undefined) throw new Error('ledger: storing an event without merchant_order_id was aborted');
    if (existed[0]) throw existed[0];
    if (set[0]) throw set[0];
    return existed[1] === 1 ? 'duplicate' : 'stored';
  }

  /** Create the record for `jobId`, or learn who owns it. */
  async claim(merchantOrderId: string, jobId: string, initial: OrderState): Promise<ClaimOutcome> {
    const reply = (await this.claimScript.run(
      this.options.redis,
      this.scriptKeys(merchantOrderId).claim,
      [merchantOrderId, jobId, JSON.stringify(initial)],
    )) as string[];
    const [kind, a = '', b = '0', c = ''] = reply;
    switch (kind) {
      case 'claimed':
      case 'owner':
        return { kind, record: decode(a, b, c, jobId) };
      case 'finished':
        return { kind: 'finished', status: a };
      default:
        return { kind: 'duplicate', owner: a };
    }
  }

  /** The record, or null when no intent was ever claimed for this id. */
  async load(merchantOrderId: string): Promise<LedgerRecord | null> {
    const reply = (await this.loadScript.run(this.options.redis, this.scriptKeys(merchantOrderId).load, [])) as string[] | null;
    if (reply === null) return null;
    const [state = '', version = '0', event = '', owner = ''] = reply;
    return decode(state, version, event, owner);
  }

  /** Read-only view of one merchant_order_id: record and tombstone (or a legacy one), read in one round trip. */
  async view(merchantOrderId: string): Promise<LedgerView> {
    const [order, tombstone, legacyTombstones] = this.scriptKeys(merchantOrderId).view as [string, string, string];
    const replies = await this.options.redis.multi().hmget(order, 'state', 'owner', 'event').get(tombstone).hget(legacyTombstones, merchantOrderId).exec();
    const [recordReply, doneReply, legacyReply] = replies ?? [];
    if (recordReply === undefined || doneReply === undefined || legacyReply === undefined) throw new Error('ledger view: the transaction was aborted');
    const [recordErr, record] = recordReply;
    const [doneErr, done] = doneReply;
    const [legacyErr, legacy] = legacyReply;
    if (recordErr) throw recordErr;
    if (doneErr) throw doneErr;
    if (legacyErr) throw legacyErr;
    if (!Array.isArray(record) || !isNullableString(done) || !isNullableString(legacy)) throw new Error('ledger view: unexpected reply');
    const [state = null, owner = null, event = null] = record as (string | null)[];
    return {
      state: state === null ? null : readState(state),
      owner: owner ?? '',
      webhookOrder: event === null ? null : (JSON.parse(event) as Order),
      finishedStatus: done ?? legacy,
    };
  }

  /**
   * Write `state` if the record is still at `expectedVersion`. Returns the updated record (with any
   * webhook event stored meanwhile), or null when another writer moved it first (reload and decide
   * again). A `done` state also writes the tombstone and starts the record's retention; the
   * funds-waiting set ({@link ProjectKeys.fundsWaiting}) follows the phase and the reminder set
   * ({@link ProjectKeys.reminders}) follows `remindAtMs`. `previous` is the state being replaced (the
   * one loaded at `expectedVersion`): with it, only what changed is written; without it, every
   * derived field and set is written as if it might have.
   */
  async save(merchantOrderId: string, expectedVersion: number, state: OrderState, owner: string, previous?: OrderState): Promise<LedgerRecord | null> {
    const orderId = state.orderId !== null && state.orderId !== previous?.orderId ? state.orderId : '';
    const leavesFundsWait = state.phase !== 'waiting_funds' && (previous === undefined || previous.phase === 'waiting_funds');
    const remindAt = state.remindAtMs !== null && state.remindAtMs !== previous?.remindAtMs ? String(state.remindAtMs) : '';
    const dropsReminder = state.remindAtMs === null && (previous === undefined || previous.remindAtMs !== null);
    // The tombstone and the record's retention start when the order becomes done, and start again
    // when its resolution moves (an operator's request may come late in the retention).
    const tombstone = state.phase === 'done' && (previous?.phase !== 'done' || state.resolution !== previous.resolution) ? (state.result?.status ?? '') : '';
    const [version = 0, event = ''] = (await this.saveScript.run(this.options.redis, this.scriptKeys(merchantOrderId).save, [
      expectedVersion,
      JSON.stringify(state),
      state.phase,
      this.options.retentionSeconds,
      merchantOrderId,
      tombstone,
      orderId,
      this.options.tombstoneTtlSeconds,
      state.fundsWaitSinceMs ?? 0,
      leavesFundsWait ? '1' : '0',
      remindAt,
      dropsReminder ? '1' : '0',
    ])) as [number, string?];
    if (version === 0) return null;
    return { state, version, webhookOrder: event === '' ? null : (JSON.parse(event) as Order), owner };
  }

  /**
   * The merchant_order_ids of `partition` whose reminder is due at `nowMs` (at most `limit`), each
   * leased for `leaseMs` (pushed that far into the future) so one process runs its job. See
   * {@link ProjectKeys.reminders}.
   */
  async takeDueReminders(partition: number, nowMs: number, leaseMs: number, limit: number): Promise<string[]> {
    const keys = this.layout.partitions[partition]?.keys;
    if (keys === undefined) throw new Error(`ledger: no partition ${partition}`);
    return (await this.takeDueRemindersScript.run(this.options.redis, [keys.reminders], [nowMs, leaseMs, limit])) as string[];
  }

  /**
   * Make the reminder of `merchantOrderId` due now, if it has one (a handed-off order): a stored
   * webhook event the receiver could not apply is then applied by the order's job within a poll
   * round instead of at the reminder's time. Returns whether one was moved (false: none, or due already).
   */
  async remindNow(merchantOrderId: string): Promise<boolean> {
    return (await this.options.redis.zadd(this.keysOf(merchantOrderId).reminders, 'XX', 'CH', 0, merchantOrderId)) === 1;
  }

  /** Move the order from intent job `from` to `to`, if `from` still owns it (see REASSIGN_OWNER). */
  async reassignOwner(merchantOrderId: string, from: string, to: string): Promise<boolean> {
    return (await this.reassignOwnerScript.run(this.options.redis, [this.keysOf(merchantOrderId).order(merchantOrderId)], [from, to])) === 1;
  }

  /** Forget the reminder of `merchantOrderId` (one whose order needs none any more). */
  async dropReminder(merchantOrderId: string): Promise<void> {
    await this.options.redis.zrem(this.keysOf(merchantOrderId).reminders, merchantOrderId);
  }

  /**
   * Durably store a webhook event under its merchant_order_id (whether or not an intent exists).
   * Never touches `state`: applying the event is a separate compare-and-set (the webhook finalizer,
   * or the owning job), so a stored event is never lost to a crash in between.
   */
  async recordEvent(merchantOrderId: string, order: Order): Promise<RecordEventOutcome> {
    const reply = (await this.recordEventScript.run(
      this.options.redis,
      this.scriptKeys(merchantOrderId).recordEvent,
      [
        JSON.stringify(order),
        isTerminalStatus(order.status) ? '1' : '0',
        merchantOrderId,
        this.options.retentionSeconds,
        order.id,
        order.status,
        this.options.unmatchedEventTtlSeconds,
      ],
    )) as [string, string, number, string, string];
    const [outcome, owner, hasState, state, version] = reply;
    return {
      outcome: outcome === 'duplicate' || outcome === 'conflict' ? outcome : 'stored',
      owner,
      known: hasState === 1,
      record: hasState === 1 ? { state: readState(state), version: Number(version), webhookOrder: outcome === 'conflict' ? null : order, owner } : null,
    };
  }
}

/**
 * A stored state, with the fields later versions added filled in, so records written by an older
 * fleet keep working through a rolling upgrade.
 */
function readState(json: string): OrderState {
  const raw = JSON.parse(json) as Partial<OrderState> & Pick<OrderState, 'phase' | 'intent' | 'receivedAtMs'>;
  const placedAtMs = raw.phase === 'placed' ? (raw.firstAttemptAtMs ?? raw.receivedAtMs) : null;
  const state: OrderState = { ...initialState(raw.intent, raw.receivedAtMs), placedAtMs, ...raw };
  // Results decided before `warnings` existed.
  if (state.result !== null && !Array.isArray(state.result.warnings)) state.result = { ...state.result, warnings: [] };
  // Results decided before resolutions existed.
  if (state.result !== null && state.result.resolves === undefined) state.result = { ...state.result, resolves: null };
  return state;
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

function decode(state: string, version: string, event: string, owner: string): LedgerRecord {
  return {
    owner,
    state: readState(state),
    version: Number(version),
    webhookOrder: event === '' ? null : (JSON.parse(event) as Order),
  };
}
